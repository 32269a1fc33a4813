"""The lab controller over real SSH on loopback, with paramiko (the harness's client).

First against a fleet double (the server alone: commands, exit statuses, login), then
against the real emulated fleet, where powering a device off makes it refuse connections.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import paramiko
import pytest
from async_scenario import run
from specclient import SpecClient
from ssh_client import ExecResult, read_until, ssh_connect, ssh_exec, ssh_interactive

from emulator.interfaces import DeviceHandle, PowerState
from emulator.labctl import PROMPT, LabControllerServer, start_lab_controller
from emulator.sshkeys import fleet_host_key

T = TypeVar("T")
HOST = "127.0.0.1"
USER = "lab"
SECRET = "pdu-Secret-42"
WAIT_S = 15.0




# -- paramiko ----------------------------------------------------------------------------------

def connect(port: int, username: str = USER, password: str = SECRET) -> paramiko.SSHClient:
    return ssh_connect(port, username, password)


def labctl(port: int, command: str) -> ExecResult:
    """One exec request to the controller."""
    return ssh_exec(connect(port), command, timeout=30)


# -- the fleet double --------------------------------------------------------------------------

@dataclass
class PoweredDevice:
    """A DeviceHandle double with a power switch, a reset button and counters."""
    name: str
    serial: str = "DS-2CD2143G2-I20230313AAWRJ12345678"
    model: str = "DS-2CD2143G2-I"
    firmware: str = "V5.6.3"
    cloud_key: bytes = b"\x00" * 16
    power: PowerState = PowerState.ON
    counts: dict[str, int] = field(default_factory=lambda: {
        "boots": 1, "reboots": 0, "power_cycles": 0, "factory_resets": 0})

    @property
    def power_state(self) -> PowerState:
        return self.power

    def hard_info(self) -> dict[str, str]:
        return {"model": self.model, "serial": self.serial}

    def check_admin_password(self, password: str, client_address: str) -> bool:
        return False

    def ssh_enabled(self) -> bool:
        return False

    async def reboot(self) -> None:
        self.counts["reboots"] += 1
        self.counts["boots"] += 1

    async def power_off(self) -> None:
        self.power = PowerState.OFF

    async def power_on(self) -> None:
        if self.power == PowerState.OFF:
            self.power = PowerState.ON
            self.counts["boots"] += 1
            self.counts["power_cycles"] += 1

    async def press_reset_button(self) -> None:
        self.counts["factory_resets"] += 1
        self.counts["boots"] += 1

    def counters(self) -> dict[str, int]:
        return dict(self.counts)


def power_of(device: DeviceHandle) -> PowerState:
    """Read afresh (a helper, so that mypy does not keep an earlier comparison's narrowing)."""
    return device.power_state


class DoubleFleet:
    def __init__(self, *devices: PoweredDevice) -> None:
        self.by_name = {d.name: d for d in devices}

    def devices(self) -> list[DeviceHandle]:
        return list(self.by_name.values())

    def device(self, name: str) -> DeviceHandle | None:
        return self.by_name.get(name)

    def by_serial(self, serial: str) -> DeviceHandle | None:
        return next((d for d in self.by_name.values() if d.serial == serial), None)


@asynccontextmanager
async def controller(fleet: DoubleFleet, state_dir: Path) -> AsyncIterator[LabControllerServer]:
    server = await start_lab_controller(fleet, host=HOST, port=0, username=USER,
                                        password=SECRET, host_key=fleet_host_key(state_dir))
    try:
        yield server
    finally:
        await server.close()


def two_devices() -> DoubleFleet:
    return DoubleFleet(PoweredDevice("cam1"), PoweredDevice("nvr1"))


# -- the server alone --------------------------------------------------------------------------

def test_power_commands_switch_the_device_and_report(tmp_path: Path) -> None:
    async def scenario() -> None:
        fleet = two_devices()
        cam = fleet.by_name["cam1"]
        async with controller(fleet, tmp_path) as server:
            off = await asyncio.to_thread(labctl, server.port, "power off cam1")
            assert (off.status, off.stderr) == (0, "")
            assert off.stdout.strip() == "cam1: power off"
            assert power_of(cam) == PowerState.OFF
            on = await asyncio.to_thread(labctl, server.port, "power on cam1")
            assert on.status == 0 and power_of(cam) == PowerState.ON
            cycle = await asyncio.to_thread(labctl, server.port, "power cycle cam1")
            assert cycle.status == 0 and power_of(cam) == PowerState.ON
            assert cam.counts["power_cycles"] == 2
            reset = await asyncio.to_thread(labctl, server.port, "reset-button cam1")
            assert reset.status == 0 and cam.counts["factory_resets"] == 1
            assert fleet.by_name["nvr1"].counts["power_cycles"] == 0  # the other is untouched
    run(scenario)


def test_status_prints_one_json_object_per_device(tmp_path: Path) -> None:
    async def scenario() -> None:
        fleet = two_devices()
        fleet.by_name["nvr1"].power = PowerState.OFF
        async with controller(fleet, tmp_path) as server:
            every = await asyncio.to_thread(labctl, server.port, "status")
            one = await asyncio.to_thread(labctl, server.port, "status cam1")
        assert every.status == 0 and one.status == 0
        records = [json.loads(line) for line in every.stdout.splitlines()]
        assert [(r["name"], r["power"]) for r in records] == [("cam1", "on"), ("nvr1", "off")]
        assert records[0] == {"name": "cam1", "power": "on", "boots": 1, "reboots": 0,
                              "power_cycles": 0, "factory_resets": 0}
        assert [json.loads(line) for line in one.stdout.splitlines()] == [records[0]]
    run(scenario)


@pytest.mark.parametrize(("command", "message"), [
    ("power off cam9", "unknown device: cam9"),
    ("reset-button cam9", "unknown device: cam9"),
    ("status cam9", "unknown device: cam9"),
    ("power sideways cam1", "usage: power on|off|cycle <device>"),
    ("power off", "usage: power on|off|cycle <device>"),
    ("selfdestruct", "unknown command: selfdestruct (try 'help')"),
])
def test_refusals_exit_1_with_one_line_on_stderr(tmp_path: Path, command: str,
                                                 message: str) -> None:
    async def scenario() -> None:
        fleet = two_devices()
        async with controller(fleet, tmp_path) as server:
            result = await asyncio.to_thread(labctl, server.port, command)
        assert result.status == 1
        assert result.stderr == message + "\n"
        assert result.stdout == ""
        assert all(d.power == PowerState.ON for d in fleet.by_name.values())
    run(scenario)


def test_help_lists_the_commands(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with controller(two_devices(), tmp_path) as server:
            result = await asyncio.to_thread(labctl, server.port, "help")
        assert result.status == 0
        for word in ("power on|off|cycle <device>", "reset-button <device>", "status"):
            assert word in result.stdout
    run(scenario)


def test_a_wrong_controller_password_is_refused(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with controller(two_devices(), tmp_path) as server:
            with pytest.raises(paramiko.AuthenticationException):
                await asyncio.to_thread(connect, server.port, USER, "guess")
            with pytest.raises(paramiko.AuthenticationException):
                await asyncio.to_thread(connect, server.port, "admin", SECRET)
    run(scenario)


def interactive_session(port: int, lines: list[str]) -> list[str]:
    return ssh_interactive(connect(port), PROMPT, lines)


def test_an_interactive_session_runs_commands_until_exit(tmp_path: Path) -> None:
    async def scenario() -> None:
        fleet = two_devices()
        async with controller(fleet, tmp_path) as server:
            _, off, unknown = await asyncio.to_thread(
                interactive_session, server.port, ["power off nvr1", "status nvr7"])
        assert "nvr1: power off" in off
        assert "unknown device: nvr7" in unknown
        assert fleet.by_name["nvr1"].power == PowerState.OFF
    run(scenario)


# -- with the real emulated fleet --------------------------------------------------------------

PASSWORD = "Tr1cky-Pass9"


@pytest.fixture
def real_lab(fleet_factory: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("HIL_LABCTL_PASSWORD", SECRET)
    yield fleet_factory([{"name": "cam", "model": "DS-2CD2143G2-I", "firmware": "V5.6.3"},
                         {"name": "nvr", "model": "DS-7608NI-K2", "firmware": "V4.22.005"}],
                        cloud=False)


def lab_port(lab: Any) -> int:
    return int(lab.info["lab_controller"]["ssh_port"])


def answers(url: str) -> bool:
    try:
        httpx.get(f"{url}/SDK/activateStatus", timeout=5)
    except httpx.TransportError:
        return False
    return True


def wait_until_answering(url: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not answers(url):
        if time.monotonic() > deadline:
            raise TimeoutError(f"device at {url} did not answer /SDK/activateStatus within "
                               f"{WAIT_S} s after power on")
        time.sleep(0.05)


def status_of(lab: Any, name: str) -> dict[str, Any]:
    result = labctl(lab_port(lab), f"status {name}")
    assert result.status == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_real_device_refuses_connections_while_powered_off(real_lab: Any) -> None:
    url = real_lab.url("cam")
    assert answers(url)
    off = labctl(lab_port(real_lab), "power off cam")
    assert off.status == 0, off.stderr
    assert not answers(url)
    assert status_of(real_lab, "cam")["power"] == "off"
    assert answers(real_lab.url("nvr"))  # only the named device lost power
    before = status_of(real_lab, "cam")
    on = labctl(lab_port(real_lab), "power on cam")
    assert on.status == 0, on.stderr
    wait_until_answering(url)
    after = status_of(real_lab, "cam")
    assert after["boots"] == before["boots"] + 1
    assert after["power_cycles"] == before["power_cycles"] + 1


def test_real_power_cycle_reboots_the_device(real_lab: Any) -> None:
    before = status_of(real_lab, "nvr")
    cycle = labctl(lab_port(real_lab), "power cycle nvr")
    assert cycle.status == 0, cycle.stderr
    wait_until_answering(real_lab.url("nvr"))
    after = status_of(real_lab, "nvr")
    assert after["boots"] == before["boots"] + 1


def test_real_reset_button_returns_the_device_to_inactive(real_lab: Any) -> None:
    client = SpecClient(real_lab.url("cam"))
    try:
        assert client.activate(PASSWORD).status_code == 200
        assert client.activated()
        pressed = labctl(lab_port(real_lab), "reset-button cam")
        assert pressed.status == 0, pressed.stderr
        wait_until_answering(real_lab.url("cam"))
        assert not client.activated()
    finally:
        client.close()


def test_real_status_lists_the_fleet_and_refuses_unknown_devices(real_lab: Any) -> None:
    every = labctl(lab_port(real_lab), "status")
    assert every.status == 0, every.stderr
    records = [json.loads(line) for line in every.stdout.splitlines()]
    assert sorted(r["name"] for r in records) == ["cam", "nvr"]
    assert all(r["power"] == "on" and r["boots"] >= 1 for r in records)
    unknown = labctl(lab_port(real_lab), "power off ghost")
    assert (unknown.status, unknown.stderr) == (1, "unknown device: ghost\n")


def test_closing_the_controller_drops_open_sessions(tmp_path: Path) -> None:
    def open_session(port: int) -> tuple[paramiko.SSHClient, paramiko.Channel]:
        client = connect(port)
        channel = client.invoke_shell()
        channel.settimeout(10)
        read_until(channel, PROMPT)
        return client, channel

    async def scenario() -> None:
        async with controller(two_devices(), tmp_path) as server:
            client, channel = await asyncio.to_thread(open_session, server.port)
            try:
                await server.close()
                assert await asyncio.to_thread(channel.recv, 4096) == b""
            finally:
                await asyncio.to_thread(client.close)
    run(scenario)
