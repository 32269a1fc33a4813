"""The emulated lab host end to end: start, reuse, reach devices and the lab controller, stop."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest
import yaml

from harness.clients.mail import free_port
from harness.errors import HarnessError, InfrastructureError
from harness.inventory.load import parse_inventory
from harness.inventory.model import Inventory
from harness.lab.endpoints import LAB_JSON, LabEndpoints, lab_status
from harness.lab.host import start_lab, stop_lab

TIMEOUT = 30.0
SMALL_LAB = """
devices:
  - {name: nvr-v4.21.000, kind: emulated, model: DS-7608NI-K2, firmware: V4.21.000}
  - {name: ipc-v5.7.10, kind: emulated, model: DS-2CD2143G2-I, firmware: V5.7.10 build 240120}
"""


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return parse_inventory(SMALL_LAB)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lab")


@pytest.fixture(scope="module")
def lab(inventory: Inventory, workdir: Path) -> Iterator[LabEndpoints]:
    endpoints = start_lab(inventory, workdir)
    try:
        yield endpoints
    finally:
        stop_lab(workdir)


def test_lab_json_names_every_device(lab: LabEndpoints, inventory: Inventory) -> None:
    assert [d.name for d in lab.devices] == [d.name for d in inventory.devices]
    camera = lab.device("ipc-v5.7.10")
    assert camera.model == "DS-2CD2143G2-I"
    assert camera.http == f"http://127.0.0.1:{camera.http_port}"
    assert lab.inventory_digest == inventory.digest()
    assert Path(lab.maildir, "new").is_dir()


def test_devices_answer_on_loopback(lab: LabEndpoints) -> None:
    for device in lab.devices:
        url = f"{device.http}/SDK/activateStatus"
        with urllib.request.urlopen(url, timeout=TIMEOUT) as answer:
            assert b"<Activated>" in answer.read()


def test_secrets_stay_in_the_0600_file(lab: LabEndpoints, workdir: Path) -> None:
    password = lab.lab_controller_password()
    assert stat.S_IMODE(os.stat(lab.secrets_file).st_mode) == 0o600
    assert password not in (workdir / LAB_JSON).read_text()
    assert password not in (workdir / "fleet.yaml").read_text()


def test_lab_controller_accepts_the_generated_password(lab: LabEndpoints) -> None:
    assert lab.lab_controller_host and lab.lab_controller_ssh_port
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # emulated, loopback only
    try:
        client.connect(
            lab.lab_controller_host,
            port=lab.lab_controller_ssh_port,
            username=lab.lab_controller_username,
            password=lab.lab_controller_password(),
            timeout=TIMEOUT,
            banner_timeout=TIMEOUT,
            auth_timeout=TIMEOUT,
            look_for_keys=False,
            allow_agent=False,
        )
        _, stdout, _ = client.exec_command("status nvr-v4.21.000", timeout=TIMEOUT)
        line = json.loads(stdout.readline())
        assert line["name"] == "nvr-v4.21.000"
        assert stdout.channel.recv_exit_status() == 0
    finally:
        client.close()


def test_a_running_lab_is_reused(lab: LabEndpoints, inventory: Inventory, workdir: Path) -> None:
    again = start_lab(inventory, workdir)
    assert again.host_pid == lab.host_pid
    assert lab_status(workdir) == lab


def test_a_lab_of_another_inventory_is_not_reused(lab: LabEndpoints, workdir: Path) -> None:
    other = parse_inventory(SMALL_LAB.replace("V4.21.000}", "V4.22.005}"))
    with pytest.raises(InfrastructureError, match="a lab built from another inventory is running"):
        start_lab(other, workdir)


def test_a_failed_start_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_port()))
        taken.listen()
        port = taken.getsockname()[1]
        inventory = parse_inventory(SMALL_LAB + f"mailbox: {{kind: smtp-sink, port: {port}}}\n")
        with pytest.raises(InfrastructureError) as info:
            start_lab(inventory, tmp_path, timeout=TIMEOUT)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("the emulated lab did not start: cannot start the SMTP sink")
    assert lab_status(tmp_path) is None


def test_stop_ends_the_lab(inventory: Inventory, tmp_path: Path) -> None:
    endpoints = start_lab(inventory, tmp_path)
    assert stop_lab(tmp_path)
    assert lab_status(tmp_path) is None
    for pid in (endpoints.host_pid, endpoints.fleet_pid):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not Path(endpoints.secrets_file).exists()
    assert not stop_lab(tmp_path)


def test_a_fleet_that_refuses_its_config_is_one_line(tmp_path: Path) -> None:
    # parse_inventory refuses unknown defects itself; validating the model alone plays an
    # emulator that refuses what the harness accepted (a harness and emulator of different age).
    inventory = Inventory.model_validate(yaml.safe_load(
        "devices: [{name: nvr-v4.21.000, kind: emulated, model: DS-7608NI-K2, "
        "firmware: V4.21.000, defects: [no-such-defect]}]"
    ))
    with pytest.raises(InfrastructureError) as info:
        start_lab(inventory, tmp_path, timeout=TIMEOUT)
    message = str(info.value)
    assert "\n" not in message
    # The lab host checks the defects against the emulator before it starts the fleet.
    assert message.startswith("the emulated lab did not start: ")
    assert "unknown defect 'no_such_defect'" in message
    assert lab_status(tmp_path) is None


def test_workers_starting_at_once_share_one_lab(inventory: Inventory, tmp_path: Path) -> None:
    # Two processes, as two xdist workers would, each asking for the lab at the same time.
    script = (
        "import sys; from harness.inventory.load import parse_inventory;"
        "from harness.lab.host import start_lab;"
        "print(start_lab(parse_inventory(sys.stdin.read()), sys.argv[1]).host_pid)"
    )
    root = Path(__file__).resolve().parents[2]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=root,
        )
        for _ in range(2)
    ]
    try:
        pids = {worker.communicate(SMALL_LAB, timeout=120)[0].strip() for worker in workers}
        assert len(pids) == 1
        running = lab_status(tmp_path)
        assert running is not None and str(running.host_pid) in pids
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
        stop_lab(tmp_path)


def test_nothing_emulated_nothing_to_start(tmp_path: Path) -> None:
    real = parse_inventory(
        "devices: [{name: a, kind: real, model: DS-2CD2143G2-I, firmware: V5.6.0, "
        "base_url: 'http://127.0.0.1:1', password_env: HIL_A}]"
    )
    with pytest.raises(HarnessError, match="no emulated devices"):
        start_lab(real, tmp_path)
