"""The device's psh over real SSH on loopback, with paramiko (the harness's client).

The device is a small double of the DeviceHandle protocol, so that what is tested here is
the shell server alone: login, banner, prompt, commands.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import paramiko
import pytest
from async_scenario import run
from specclient import SpecClient, leaves
from ssh_client import ExecResult, read_until, ssh_connect, ssh_exec, ssh_interactive

from emulator.interfaces import PowerState
from emulator.psh import BANNER, PROMPT, ShellServer, start_device_shell
from emulator.sshkeys import fleet_host_key

T = TypeVar("T")
HOST = "127.0.0.1"
PASSWORD = "Abcd1234!x"
WAIT_S = 15.0




@dataclass
class ShellDevice:
    """A DeviceHandle double: a password, an SSH switch, a power state, a reboot counter."""
    name: str = "nvr1"
    serial: str = "DS-7608NI-K20820210422CCWR593756043WCVU"
    model: str = "DS-7608NI-K2"
    firmware: str = "V4.21.000"
    cloud_key: bytes = b"\x00" * 16
    password: str = PASSWORD
    ssh: bool = True
    power: PowerState = PowerState.ON
    failed_logins: list[str] = field(default_factory=list)
    rebooted: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def power_state(self) -> PowerState:
        return self.power

    def hard_info(self) -> dict[str, str]:
        return {"model": self.model, "serial": self.serial, "firmware": self.firmware,
                "build": "build 220112", "mac": "44:19:b6:00:00:01",
                "boot_time": "2026-11-25T04:00:00+00:00", "boot_id": "b0071d"}

    def check_admin_password(self, password: str, client_address: str) -> bool:
        if password == self.password:
            return True
        self.failed_logins.append(client_address)
        return False

    def ssh_enabled(self) -> bool:
        return self.ssh

    async def reboot(self) -> None:
        self.rebooted.set()

    async def power_off(self) -> None:
        self.power = PowerState.OFF

    async def power_on(self) -> None:
        self.power = PowerState.ON

    async def press_reset_button(self) -> None:
        pass

    def counters(self) -> dict[str, int]:
        return {}


@asynccontextmanager
async def shell_for(device: ShellDevice, state_dir: Path) -> AsyncIterator[ShellServer]:
    server = await start_device_shell(device, host=HOST, port=0,
                                      host_key=fleet_host_key(state_dir))
    try:
        yield server
    finally:
        await server.close()


# -- paramiko, run in a thread so the server's loop keeps serving ------------------------------

def connect(port: int, password: str = PASSWORD, username: str = "admin") -> paramiko.SSHClient:
    return ssh_connect(port, username, password)


def exec_command(port: int, command: str) -> ExecResult:
    return ssh_exec(connect(port), command, timeout=10)


def interactive(port: int, lines: list[str]) -> list[str]:
    """Log in, read the greeting, send each line and read up to the next prompt."""
    return ssh_interactive(connect(port), PROMPT, lines)


# -- tests -------------------------------------------------------------------------------------

def test_interactive_shell_greets_with_banner_and_prompt(tmp_path: Path) -> None:
    async def scenario() -> None:
        device = ShellDevice()
        async with shell_for(device, tmp_path) as server:
            greeting, hard_info, unknown = await asyncio.to_thread(
                interactive, server.port, ["prtHardInfo", "fdisk -l"])
            assert BANNER in greeting
            assert greeting.endswith("# ")
            assert device.serial in hard_info and device.model in hard_info
            assert "'fdisk' Not Supported, Try 'help'" in unknown
    run(scenario)


@pytest.mark.parametrize(("command", "expected"), [
    ("help", ["prtHardInfo", "getIp", "dmesg", "ps", "free", "reboot"]),
    ("prtHardInfo", ["DS-7608NI-K2", "DS-7608NI-K20820210422CCWR593756043WCVU", "V4.21.000",
                     "build 220112", "44:19:b6:00:00:01", "2026-11-25T04:00:00+00:00"]),
    ("getIp", [HOST, "44:19:b6:00:00:01"]),
    ("dmesg", ["Linux version", "DS-7608NI-K2"]),
    ("ps", ["PID", "davinci"]),
    ("free", ["total", "Mem:"]),
])
def test_exec_runs_one_command_and_closes(tmp_path: Path, command: str,
                                          expected: list[str]) -> None:
    async def scenario() -> None:
        async with shell_for(ShellDevice(), tmp_path) as server:
            result = await asyncio.to_thread(exec_command, server.port, command)
            assert result.status == 0
            for text in expected:
                assert text in result.stdout
            assert BANNER not in result.stdout  # an exec request gets no greeting
    run(scenario)


def test_an_unknown_command_is_not_supported(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with shell_for(ShellDevice(), tmp_path) as server:
            result = await asyncio.to_thread(exec_command, server.port, "cat /etc/passwd")
            assert result.stdout.strip() == "'cat' Not Supported, Try 'help'"
            assert result.status != 0
    run(scenario)


def test_reboot_reboots_the_device(tmp_path: Path) -> None:
    async def scenario() -> None:
        device = ShellDevice()
        async with shell_for(device, tmp_path) as server:
            result = await asyncio.to_thread(exec_command, server.port, "reboot")
            assert result.status == 0
            try:
                await asyncio.wait_for(device.rebooted.wait(), WAIT_S)
            except TimeoutError:
                raise AssertionError(f"device.reboot() not called within {WAIT_S} s") from None
    run(scenario)


def test_a_wrong_password_is_refused_and_counted_by_the_device(tmp_path: Path) -> None:
    async def scenario() -> None:
        device = ShellDevice()
        async with shell_for(device, tmp_path) as server:
            with pytest.raises(paramiko.AuthenticationException):
                await asyncio.to_thread(connect, server.port, "Wrong1234!")
            assert device.failed_logins == [HOST]
            with pytest.raises(paramiko.AuthenticationException):
                await asyncio.to_thread(connect, server.port, PASSWORD, "root")
    run(scenario)


@pytest.mark.parametrize("state", ["ssh off", "power off"])
def test_no_login_while_ssh_is_off_or_the_device_is_down(tmp_path: Path, state: str) -> None:
    async def scenario() -> None:
        device = ShellDevice()
        if state == "ssh off":
            device.ssh = False
        else:
            device.power = PowerState.OFF
        async with shell_for(device, tmp_path) as server:
            with pytest.raises((paramiko.SSHException, EOFError, OSError)):
                await asyncio.to_thread(connect, server.port)
            assert device.failed_logins == []
    run(scenario)


def open_shell(port: int) -> tuple[paramiko.SSHClient, paramiko.Channel]:
    client = connect(port)
    channel = client.invoke_shell()
    channel.settimeout(10)
    read_until(channel, PROMPT)
    return client, channel


def test_closing_the_server_drops_open_sessions(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with shell_for(ShellDevice(), tmp_path) as server:
            client, channel = await asyncio.to_thread(open_shell, server.port)
            try:
                await server.close()
                tail = await asyncio.to_thread(channel.recv, 4096)
                assert tail == b""  # end of stream: the device went away
            finally:
                await asyncio.to_thread(client.close)
    run(scenario)


def test_the_host_key_is_created_once_and_kept(tmp_path: Path) -> None:
    first = fleet_host_key(tmp_path)
    again = fleet_host_key(tmp_path)
    assert first.get_fingerprint() == again.get_fingerprint()
    assert (tmp_path / "ssh_host_ecdsa_key").stat().st_mode & 0o077 == 0
    assert [p.name for p in tmp_path.iterdir()] == ["ssh_host_ecdsa_key"]


# -- with the real emulated fleet ---------------------------------------------------------------
# A real camera, activated over ISAPI; SSH switched on by the documented ISAPI call.

REAL_PASSWORD = "Tr1cky-Pass9"


@dataclass
class RealCamera:
    lab: Any
    ssh_port: int

    def boot_id(self) -> str:
        return str(self.lab.run(lambda: self.lab.device("cam").hard_info()["boot_id"]))


def enable_ssh(url: str) -> None:
    client = SpecClient(url)
    try:
        assert client.activate(REAL_PASSWORD).status_code == 200
        assert client.session_login(REAL_PASSWORD).status_code == 200
        answer = client.http.put("/ISAPI/System/Network/ssh",
                                 content="<SSH><enabled>true</enabled></SSH>")
        assert answer.status_code == 200, answer.text
    finally:
        client.close()


@pytest.fixture
def real_camera(fleet_factory: Callable[..., Any]) -> RealCamera:
    lab = fleet_factory([{"name": "cam", "model": "DS-2CD2143G2-I", "firmware": "V5.7.10"}],
                        cloud=False, lab_controller=False)
    return RealCamera(lab, int(lab.entry("cam")["ssh_port"]))


def test_real_device_has_no_ssh_until_isapi_turns_it_on(real_camera: RealCamera) -> None:
    with pytest.raises(ConnectionRefusedError):
        connect(real_camera.ssh_port, REAL_PASSWORD)
    enable_ssh(real_camera.lab.url("cam"))
    client = connect(real_camera.ssh_port, REAL_PASSWORD)
    try:
        channel = client.invoke_shell()
        channel.settimeout(10)
        assert BANNER in read_until(channel, PROMPT)
        channel.send(b"prtHardInfo\n")
        hard_info = read_until(channel, PROMPT)
    finally:
        client.close()
    device = real_camera.lab.device("cam")
    assert device.serial in hard_info and "V5.7.10" in hard_info


def test_real_device_counts_a_wrong_ssh_password(real_camera: RealCamera) -> None:
    enable_ssh(real_camera.lab.url("cam"))
    client = SpecClient(real_camera.lab.url("cam"))
    try:
        assert client.session_login(REAL_PASSWORD).status_code == 200
        lock = client.http.get("/ISAPI/Security/illegalLoginLock")
        assert lock.status_code == 200, lock.text
        allowed = int(leaves(lock.text)["maxIllegalLoginTimes"])
        with pytest.raises(paramiko.AuthenticationException):
            connect(real_camera.ssh_port, "Wrong-Pass9")
        # The device's lock counter saw the SSH attempt: one ISAPI attempt more and two of
        # the allowed ones are gone.
        answer = client.session_login("Wrong-Pass8")
        assert answer.status_code == 401
        assert int(leaves(answer.text)["retryLoginTime"]) == allowed - 2
    finally:
        client.close()


def test_real_reboot_from_psh_comes_back_with_a_new_boot_id(real_camera: RealCamera) -> None:
    enable_ssh(real_camera.lab.url("cam"))
    before = real_camera.boot_id()
    client = connect(real_camera.ssh_port, REAL_PASSWORD)
    try:
        _, stdout, _ = client.exec_command("reboot", timeout=10)
        assert "Rebooting" in stdout.read().decode()
        assert stdout.channel.recv_exit_status() == 0
    finally:
        client.close()
    deadline = time.monotonic() + WAIT_S
    while real_camera.boot_id() == before:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no new boot id within {WAIT_S} s after psh reboot")
        time.sleep(0.05)
    real_camera.lab.call(real_camera.lab.device("cam").wait_booted(WAIT_S), timeout=WAIT_S + 5)
    result = exec_command_as(real_camera.ssh_port, REAL_PASSWORD, "getIp")
    assert result.status == 0 and HOST in result.stdout


def exec_command_as(port: int, password: str, command: str) -> ExecResult:
    client = connect(port, password)
    try:
        _, stdout, stderr = client.exec_command(command, timeout=10)
        out, err = stdout.read().decode(), stderr.read().decode()
        return ExecResult(stdout.channel.recv_exit_status(), out, err)
    finally:
        client.close()
