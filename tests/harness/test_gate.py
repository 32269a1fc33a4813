"""The gate's verdict logic, from synthetic outcome records (no devices needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.inventory.load import DEFAULT_INVENTORY, load_inventory
from harness.run.gate import (
    GateInputError,
    Verdict,
    judge,
    parse_line,
    select_by_firmware,
    write_subset_inventory,
)
from harness.run.records import OutcomeRecord

INVENTORY = load_inventory(DEFAULT_INVENTORY)
NVR = INVENTORY.device("nvr-v4.21.000")
DVR = INVENTORY.device("dvr-k-v4.30.005")
NVR_30 = INVENTORY.device("nvr-v4.30.005")


def rec(
    device: str | None, outcome: str = "passed", kind: str | None = None, **kw: str
) -> OutcomeRecord:
    return OutcomeRecord(
        nodeid=f"suites/test_x.py::test_{outcome}[{device}]",
        outcome=outcome,  # type: ignore[arg-type]
        kind=kind,  # type: ignore[arg-type]
        device=device,
        **kw,  # type: ignore[arg-type]
    )


def test_every_test_passed_is_a_pass() -> None:
    result = judge([NVR], [rec(NVR.name), rec(NVR.name)], firmware="V4.21.000")
    assert result.verdict is Verdict.PASS
    assert int(result.verdict) == 0
    assert result.devices[0].passed == 2


def test_a_product_defect_is_exit_1() -> None:
    records = [rec(NVR.name), rec(NVR.name, "failed", "product-defect", reason="code reused")]
    result = judge([NVR], records, firmware="V4.21.000")
    assert result.verdict is Verdict.DEFECT
    assert int(result.verdict) == 1
    assert "code reused" in result.devices[0].reason


@pytest.mark.parametrize("kind", ["infrastructure", "device", "harness"])
def test_failures_of_other_kinds_give_no_verdict(kind: str) -> None:
    result = judge([NVR], [rec(NVR.name), rec(NVR.name, "failed", kind)], firmware="V4.21.000")
    assert result.verdict is Verdict.NO_VERDICT
    assert int(result.verdict) == 2


def test_a_flaky_infrastructure_failure_is_never_a_pass() -> None:
    # One attempt failed on the lab, a later one passed: the failure still blocks the gate.
    records = [rec(NVR.name, "error", "infrastructure", reason="mail sink down"), rec(NVR.name)]
    result = judge([NVR], records, firmware="V4.21.000")
    assert result.verdict is Verdict.NO_VERDICT
    assert result.devices[0].passed == 1


@pytest.mark.parametrize("outcome", ["skipped", "xfailed"])
def test_skipped_or_quarantined_devices_give_no_verdict(outcome: str) -> None:
    records = [rec(NVR.name), rec(NVR.name, outcome, reason="quarantined: activation failed")]
    assert judge([NVR], records, firmware="V4.21.000").verdict is Verdict.NO_VERDICT


def test_a_device_with_no_test_gives_no_verdict() -> None:
    result = judge([DVR, NVR_30], [rec(NVR_30.name)], firmware="V4.30.005")
    assert result.verdict is Verdict.NO_VERDICT
    assert result.devices[0].reason == "no gate test ran on this device"


def test_a_defect_outweighs_a_blocked_device() -> None:
    records = [rec(DVR.name, "failed", "product-defect"), rec(NVR_30.name, "error", "device")]
    assert judge([DVR, NVR_30], records, firmware="V4.30.005").verdict is Verdict.DEFECT


def test_a_defect_found_during_setup_counts() -> None:
    records = [rec(NVR.name, "error", "product-defect", phase="setup")]
    assert judge([NVR], records, firmware="V4.21.000").verdict is Verdict.DEFECT


@pytest.mark.parametrize("status", [2, 3, 4, 5, 137])
def test_a_run_pytest_did_not_finish_gives_no_verdict(status: int) -> None:
    result = judge([NVR], [rec(NVR.name)], firmware="V4.21.000", pytest_exit=status)
    assert result.verdict is Verdict.NO_VERDICT
    assert result.run_problem


def test_a_failure_on_no_gated_device_blocks_the_gate() -> None:
    records = [rec(NVR.name), rec(None, "error", "harness", reason="fixture broke")]
    result = judge([NVR], records, firmware="V4.21.000")
    assert result.verdict is Verdict.NO_VERDICT
    assert "fixture broke" in result.stray[0]


def test_a_test_for_no_gated_device_is_ignored() -> None:
    # needs(reset_by_email=False) on a gate above the threshold: pytest skips it with an
    # empty parameter set, and it says nothing about the gated devices.
    records = [rec(NVR.name), rec(None, "skipped", reason="got empty parameter set ['dut']")]
    assert judge([NVR], records, firmware="V4.21.000").verdict is Verdict.PASS


def test_no_device_is_no_match() -> None:
    assert judge([], [], firmware="V9.9.9").verdict is Verdict.NO_MATCH
    assert int(Verdict.NO_MATCH) == 3


def test_select_devices_compares_versions() -> None:
    assert [d.name for d in select_by_firmware(INVENTORY, "V4.21.000")] == ["nvr-v4.21.000"]
    # Trailing zeros and build dates do not matter; the line narrows.
    assert [d.name for d in select_by_firmware(INVENTORY, "V5.7.10")] == ["ipc-v5.7.10"]
    both = {d.name for d in select_by_firmware(INVENTORY, "V4.30.005")}
    assert both == {"dvr-k-v4.30.005", "nvr-v4.30.005"}
    assert [d.name for d in select_by_firmware(INVENTORY, "V4.30.005", "nvr")] == ["nvr-v4.30.005"]
    assert select_by_firmware(INVENTORY, "V9.0.0") == []


@pytest.mark.parametrize("text", ["4.21", "V4", "latest", "V4.21.000 beta"])
def test_select_devices_refuses_malformed_firmware(text: str) -> None:
    with pytest.raises(GateInputError, match="expected a firmware version like"):
        select_by_firmware(INVENTORY, text)


def test_unknown_line_names_the_known_ones() -> None:
    with pytest.raises(GateInputError, match=r"unknown product line 'dvr'.*nvr"):
        parse_line("dvr")


def test_subset_inventory_keeps_only_the_gated_devices(tmp_path: Path) -> None:
    target = write_subset_inventory(DEFAULT_INVENTORY, ["nvr-v4.21.000"], tmp_path / "g.yaml")
    subset = load_inventory(target)
    assert [d.name for d in subset.devices] == ["nvr-v4.21.000"]
    assert subset.cloud == INVENTORY.cloud and subset.leases == INVENTORY.leases
    assert "devices" in yaml.safe_load(target.read_text())
