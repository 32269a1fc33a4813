"""`hil`: every command with its bad inputs, and the lab, devices and run commands against
a real emulated lab (one device, a tmp workdir)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import (
    PROJECT,
    emulated,
    hil,
    one_line_error,
    unreachable_real,
    write_inventory,
)

from harness.inventory.load import load_inventory
from harness.lab.endpoints import lab_status
from harness.lab.session import LabSession

NVR = ("DS-7608NI-K2", "V4.21.000")


def test_help_names_every_command(tmp_path: Path) -> None:
    result = hil("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("lab", "devices", "run", "gate", "report"):
        assert command in result.stdout


# --- bad inputs: one line, exit 2 ------------------------------------------------------------


def test_unknown_profile(tmp_path: Path) -> None:
    result = hil("run", "--profile", "weekly", cwd=tmp_path)
    assert result.returncode == 2
    line = one_line_error(result)
    assert "unknown profile 'weekly'" in line and "gate, nightly, regression" in line


@pytest.mark.parametrize(
    "command",
    [
        ["run"],
        ["gate", "--firmware", "V4.21.000"],
        ["devices", "list"],
        ["devices", "probe"],
        ["lab", "up"],
    ],
)
def test_missing_devices_file(tmp_path: Path, command: list[str]) -> None:
    result = hil(*command, "--devices", tmp_path / "nope.yaml", cwd=tmp_path)
    assert result.returncode == 2
    line = one_line_error(result)
    assert "nope.yaml: cannot read the inventory" in line


def test_malformed_devices_file_names_the_field(tmp_path: Path) -> None:
    bad = write_inventory(tmp_path, "bad.yaml", [emulated("cli-bad", NVR[0], "4.21")])
    result = hil("devices", "list", "--devices", bad, cwd=tmp_path)
    assert result.returncode == 2
    assert "devices[0].firmware: expected a firmware version like V5.6.3" in one_line_error(result)


@pytest.mark.parametrize("firmware", ["4.21.000", "V4", "latest"])
def test_gate_malformed_firmware(tmp_path: Path, firmware: str) -> None:
    result = hil("gate", "--firmware", firmware, cwd=tmp_path)
    assert result.returncode == 2
    assert (
        f"expected a firmware version like V5.6.3 or 'V5.7.10 build 240120', got {firmware!r}"
        in (one_line_error(result))
    )


def test_gate_unknown_line(tmp_path: Path) -> None:
    result = hil("gate", "--firmware", "V4.21.000", "--line", "dvr", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown product line 'dvr' (known: dvr-k, dvr-hghi-f, nvr, ipc)" in one_line_error(
        result
    )


@pytest.mark.parametrize(
    "command",
    [["gate"], ["run", "-n", "-1"], ["lab", "sideways"], ["report", "--port", "70000"]],
)
def test_usage_errors_exit_2(tmp_path: Path, command: list[str]) -> None:
    result = hil(*command, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_report_without_results(tmp_path: Path) -> None:
    result = hil("report", "--output", tmp_path / "reports", cwd=tmp_path)
    assert result.returncode == 2
    assert "no Allure results (run `hil run` or `hil gate` first" in one_line_error(result)


def test_probe_unknown_device(tmp_path: Path) -> None:
    result = hil("devices", "probe", "no-such-device", cwd=tmp_path)
    assert result.returncode == 2
    assert "no device no-such-device in" in one_line_error(result)


def test_probe_unreachable_device(tmp_path: Path) -> None:
    real = unreachable_real("cli-real-closed", *NVR, "HIL_CLI_TEST_PASSWORD")
    inventory = write_inventory(tmp_path, "real.yaml", [real])
    result = hil(
        "devices", "probe", "--devices", inventory, "--workdir", tmp_path / "lab", cwd=tmp_path
    )
    assert result.returncode == 2
    assert "unreachable" in result.stdout
    assert (
        "cli-real-closed: device: GET http://127.0.0.1:9/SDK/activateStatus: connection refused"
        in (result.stdout)
    )


def test_lab_status_and_down_without_a_lab(tmp_path: Path) -> None:
    status = hil("lab", "status", "--workdir", tmp_path / "lab", cwd=tmp_path)
    assert status.returncode == 1
    assert "no lab running" in status.stdout
    down = hil("lab", "down", "--workdir", tmp_path / "lab", cwd=tmp_path)
    assert down.returncode == 0
    assert "no lab running" in down.stdout


def test_devices_list_shows_the_inventory(tmp_path: Path) -> None:
    result = hil("devices", "list", "--workdir", tmp_path / "lab", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert str(PROJECT / "devices.yaml") in result.stdout
    for name in ("dvr-k-v4.1.70", "nvr-v4.21.000", "ipc-v5.7.10"):
        assert name in result.stdout
    assert "(lab not running)" in result.stdout


# --- a real emulated lab --------------------------------------------------------------------


def test_lab_up_probe_status_down(tmp_path: Path) -> None:
    inventory_file = write_inventory(tmp_path, "lab.yaml", [emulated("cli-lab-nvr", *NVR)])
    workdir = tmp_path / "lab"
    where = ["--devices", inventory_file, "--workdir", workdir]
    up = hil("lab", "up", *where, cwd=tmp_path)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        for part in ("mail sink (SMTP)", "vendor cloud (HTTP)", "lab controller (SSH)"):
            assert part in up.stdout
        assert "cli-lab-nvr" in up.stdout and "not activated" in up.stdout
        assert "FAIL" not in up.stdout

        # Not activated: deviceInfo needs a login, the probe says so and reads what it can.
        probe = hil("devices", "probe", *where, cwd=tmp_path)
        assert probe.returncode == 0, probe.stdout + probe.stderr
        assert "partial" in probe.stdout
        assert "not activated: deviceInfo needs a login" in probe.stdout

        # Activated with a password the harness knows: the whole deviceInfo.
        endpoints = lab_status(workdir)
        assert endpoints is not None
        lab = LabSession(inventory=load_inventory(inventory_file), workdir=workdir,
                         endpoints=endpoints)
        dut = lab.device("cli-lab-nvr")
        password = dut.new_password()
        with dut.isapi(login=False) as client:
            client.activate(password)
        dut.remember_password(password)
        probe = hil("devices", "probe", *where, cwd=tmp_path)
        assert probe.returncode == 0, probe.stdout + probe.stderr
        assert endpoints.device("cli-lab-nvr").serial in probe.stdout
        assert " ok " in probe.stdout
        assert password not in probe.stdout + probe.stderr

        # A real device whose password variable is not set: bad input (exit 2), saying which.
        real = write_inventory(tmp_path, "real.yaml", [{
            "name": "cli-lab-real", "kind": "real", "model": NVR[0], "firmware": NVR[1],
            "base_url": dut.base_url, "password_env": "HIL_CLI_TEST_UNSET_PASSWORD"}])
        probe = hil("devices", "probe", "--devices", real, "--workdir", workdir, cwd=tmp_path)
        assert probe.returncode == 2, probe.stdout + probe.stderr
        assert "no password" in probe.stdout
        assert "HIL_CLI_TEST_UNSET_PASSWORD" in probe.stdout

        # devices.yaml claiming another firmware and model: both flagged, exit 1.
        claims = write_inventory(
            tmp_path, "claims.yaml", [emulated("cli-lab-nvr", "DS-7616NI-I2", "V4.22.005")]
        )
        probe = hil("devices", "probe", "--devices", claims, "--workdir", workdir, cwd=tmp_path)
        assert probe.returncode == 1, probe.stdout + probe.stderr
        assert "firmware: devices.yaml says V4.22.005, device says V4.21.000" in probe.stdout
        assert "model: devices.yaml says DS-7616NI-I2, device says DS-7608NI-K2" in probe.stdout

        # A run of another inventory in the same workdir: pytest refuses, in one line, and
        # `hil run` says so as bad input (exit 2, issue 17), not with pytest's 4.
        other = write_inventory(tmp_path, "other.yaml", [emulated("cli-lab-other", *NVR)])
        refused = hil(
            "run",
            "--devices",
            other,
            "--workdir",
            workdir,
            "--output",
            tmp_path / "out",
            "-k",
            "risky_password_refused_by_api",
            cwd=tmp_path,
        )
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "a lab built from another inventory is running" in one_line_error(refused)

        status = hil("lab", "status", "--workdir", workdir, cwd=tmp_path)
        assert status.returncode == 0
        assert "cli-lab-nvr" in status.stdout and "active" in status.stdout
    finally:
        down = hil("lab", "down", "--workdir", workdir, cwd=tmp_path)
    assert down.returncode == 0 and "lab stopped" in down.stdout
    assert hil("lab", "status", "--workdir", workdir, cwd=tmp_path).returncode == 1


def test_run_summarises_per_line_and_firmware(tmp_path: Path) -> None:
    inventory_file = write_inventory(
        tmp_path,
        "run.yaml",
        [
            emulated("cli-run-nvr", *NVR),
            emulated("cli-run-ipc", "DS-2CD2043G2-I", "V5.5.82"),
            emulated("cli-run-dvr", "DS-7216HUI-K2", "V4.2.00", "risky_password_accepted"),
        ],
    )
    output = tmp_path / "out"
    result = hil(
        "run",
        "--devices",
        inventory_file,
        "--workdir",
        tmp_path / "lab",
        "--output",
        output,
        "-n",
        "0",
        "-k",
        "risky_password_refused_by_api",
        cwd=tmp_path,
    )
    # The defective device fails: pytest's exit status 1, the failure shown as it happens.
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED (product-defect) on cli-run-dvr" in result.stdout
    assert "Outcomes per product line and firmware" in result.stdout
    rows = {
        firmware: next(ln for ln in result.stdout.splitlines() if f" {firmware} " in ln)
        for firmware in ("V4.21.000", "V5.5.82", "V4.2.00")
    }
    assert "nvr" in rows["V4.21.000"] and "│      1 │ -" in rows["V4.21.000"], result.stdout
    assert "ipc" in rows["V5.5.82"] and "│      1 │ -" in rows["V5.5.82"], result.stdout
    assert "dvr-k" in rows["V4.2.00"] and "1 product-defect" in rows["V4.2.00"], result.stdout
    assert (output / "junit.xml").exists()
    assert list((output / "allure-results").glob("*-result.json"))
    records = [
        json.loads(line) for line in (output / "records" / "records.jsonl").read_text().splitlines()
    ]
    assert {(r["device"], r["outcome"], r["kind"]) for r in records} == {
        ("cli-run-nvr", "passed", None),
        ("cli-run-ipc", "passed", None),
        ("cli-run-dvr", "failed", "product-defect"),
    }
    # The run started the lab and stopped it at the end.
    assert lab_status(tmp_path / "lab") is None
