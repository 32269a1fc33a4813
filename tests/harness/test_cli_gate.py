"""`hil gate`'s exit codes on real runs of the gate profile against the emulated lab:
0 clean firmware, 1 a named emulator defect, 2 an unreachable device, 3 no match. Each
run has one device and `-k` picks one test, so the file stays within a few minutes."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from cli_helpers import emulated, hil, unreachable_real, write_inventory

from harness.lab.endpoints import lab_status

NVR = ("DS-7608NI-K2", "V4.21.000")


def gate(
    tmp_path: Path, inventory: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return hil(
        "gate",
        "--devices",
        inventory,
        "--workdir",
        tmp_path / "lab",
        "--output",
        tmp_path / "out",
        *args,
        cwd=tmp_path,
        env=env,
    )


def verdict(tmp_path: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((tmp_path / "out" / "gate-verdict.json").read_text())
    return data


def junit_cases(tmp_path: Path) -> list[ET.Element]:
    return list(ET.parse(tmp_path / "out" / "junit.xml").getroot().iter("testcase"))


def test_clean_firmware_passes(tmp_path: Path) -> None:
    inventory = write_inventory(tmp_path, "clean.yaml", [emulated("gate-clean-nvr", *NVR)])
    result = gate(tmp_path, inventory, "--firmware", "V4.21.000", "-k", "code_is_single_use")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "GATE PASS for V4.21.000: exit 0" in result.stdout
    assert verdict(tmp_path)["verdict"] == "PASS"
    assert len(junit_cases(tmp_path)) == 1
    assert list((tmp_path / "out" / "allure-results").glob("*-result.json"))


def test_named_emulator_defect_is_exit_1(tmp_path: Path) -> None:
    inventory = write_inventory(
        tmp_path,
        "defect.yaml",
        [
            emulated("gate-defect-nvr", *NVR, "code_reusable"),
            # Another firmware: not gated, never started.
            emulated("gate-other-ipc", "DS-2CD2043G2-I", "V5.5.82"),
        ],
    )
    result = gate(tmp_path, inventory, "--firmware", "V4.21", "-k", "code_is_single_use")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "PRODUCT DEFECT" in result.stdout and "gate-other-ipc" not in result.stdout
    data = verdict(tmp_path)
    assert data["verdict"] == "DEFECT"
    devices = data["devices"]
    assert isinstance(devices, list) and [d["device"] for d in devices] == ["gate-defect-nvr"]
    assert "product-defect: test_code_is_single_use" in devices[0]["defects"][0]
    failures = [c for c in junit_cases(tmp_path) if c.find("failure") is not None]
    assert len(failures) == 1


def test_unreachable_device_is_exit_2(tmp_path: Path) -> None:
    real = unreachable_real("gate-real-closed", *NVR, "HIL_GATE_TEST_PASSWORD")
    inventory = write_inventory(tmp_path, "real.yaml", [real])
    result = gate(
        tmp_path,
        inventory,
        "--firmware",
        "V4.21.000",
        "-k",
        "risky_password_refused_by_api",
        env={"HIL_GATE_TEST_PASSWORD": "Qa-gate-2026x"},
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "NO VERDICT" in result.stdout
    assert "connection refused" in result.stdout
    assert "Qa-gate-2026x" not in result.stdout + result.stderr
    assert verdict(tmp_path)["verdict"] == "NO_VERDICT"


def test_no_matching_device_is_exit_3(tmp_path: Path) -> None:
    inventory = write_inventory(tmp_path, "none.yaml", [emulated("gate-none-nvr", *NVR)])
    result = gate(tmp_path, inventory, "--firmware", "V4.22.005")
    assert result.returncode == 3
    assert "no device with firmware V4.22.005 in" in result.stdout
    line = gate(tmp_path, inventory, "--firmware", "V4.21.000", "--line", "ipc")
    assert line.returncode == 3
    assert "no device with firmware V4.21.000 and line ipc" in line.stdout
    assert not (tmp_path / "out" / "junit.xml").exists()


def test_a_running_lab_of_the_inventory_is_reused(tmp_path: Path) -> None:
    inventory = write_inventory(
        tmp_path,
        "lab.yaml",
        [emulated("gate-up-nvr", *NVR), emulated("gate-up-ipc", "DS-2CD2043G2-I", "V5.5.82")],
    )
    workdir = tmp_path / "lab"
    up = hil("lab", "up", "--devices", inventory, "--workdir", workdir, cwd=tmp_path)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        pid = lab_status(workdir)
        result = gate(
            tmp_path, inventory, "--firmware", "V4.21.000", "-k", "risky_password_refused_by_api"
        )
        assert result.returncode == 0, result.stdout + result.stderr
        # No subset inventory: the running lab's devices, selected by their test ids.
        assert not (tmp_path / "out" / "gate-devices.yaml").exists()
        records = (tmp_path / "out" / "records" / "records.jsonl").read_text().splitlines()
        assert [json.loads(r)["device"] for r in records] == ["gate-up-nvr"]
        # The gate leaves the lab it did not start running.
        after = lab_status(workdir)
        assert after is not None and pid is not None and after.host_pid == pid.host_pid
    finally:
        hil("lab", "down", "--workdir", workdir, cwd=tmp_path)
