"""The outcome records plugin (`-p harness.run.records`) in a real pytest run with xdist:
failure kinds come from the exceptions, per-worker files are merged, nothing that failed
anywhere is recorded as a pass."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.inventory.load import DEFAULT_INVENTORY, load_inventory
from harness.run.gate import Verdict, judge
from harness.run.records import (
    RECORDS_FILE,
    OutcomeRecord,
    collected_count,
    read_records,
    summarize,
)

ROOT = Path(__file__).resolve().parents[2]

SYNTHETIC_SUITE = textwrap.dedent(
    """
    import pytest
    from harness.errors import DeviceError, InfrastructureError, ProductDefect

    DEVICES = ["nvr-v4.21.000", "ipc-v5.6.0"]

    @pytest.fixture
    def broken_lab():
        raise InfrastructureError("mail sink 127.0.0.1:1 refused the connection")

    @pytest.fixture
    def messy_teardown():
        yield
        raise DeviceError("device did not come back after reboot")

    @pytest.mark.parametrize("dut", DEVICES)
    def test_passes(dut):
        pass

    @pytest.mark.parametrize("dut", DEVICES)
    def test_product_defect(dut):
        if dut == "ipc-v5.6.0":
            raise ProductDefect("the verification code worked twice")

    @pytest.mark.parametrize("dut", ["nvr-v4.21.000"])
    def test_plain_assert(dut):
        assert 1 == 2

    @pytest.mark.parametrize("dut", ["nvr-v4.21.000"])
    def test_network(dut):
        raise ConnectionRefusedError("cloud down")

    @pytest.mark.parametrize("dut", ["nvr-v4.21.000"])
    def test_setup_infrastructure(dut, broken_lab):
        pass

    @pytest.mark.parametrize("dut", ["ipc-v5.6.0"])
    def test_teardown_device(dut, messy_teardown):
        pass

    @pytest.mark.parametrize("dut", ["ipc-v5.6.0"])
    def test_our_bug(dut):
        {}["missing"]

    @pytest.mark.parametrize("dut", ["ipc-v5.6.0"])
    def test_quarantined(dut):
        pytest.skip("ipc-v5.6.0 is quarantined for this run: activation failed")

    @pytest.mark.xfail(reason="known firmware bug", strict=False)
    def test_xfail_passing():
        pass

    def test_no_device():
        pass
    """
)


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[OutcomeRecord]]:
    folder = tmp_path_factory.mktemp("records-run")
    (folder / "test_synthetic.py").write_text(SYNTHETIC_SUITE)
    out = folder / "records"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "test_synthetic.py",
            "-n",
            "2",
            "-p",
            "fixtures.records",
            "--run-records",
            str(out),
            "-p",
            "no:cacheprovider",
            "-q",
        ],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    return out, read_records(out)


def by_test(records: list[OutcomeRecord]) -> dict[str, OutcomeRecord]:
    return {r.nodeid.split("::", 1)[1]: r for r in records}


def test_one_record_per_test_merged_from_the_workers(
    records: tuple[Path, list[OutcomeRecord]],
) -> None:
    folder, found = records
    assert len(found) == 12
    assert len({r.nodeid for r in found}) == 12
    assert collected_count(folder) == 12
    assert (folder / RECORDS_FILE).exists()
    parts = sorted(p.name for p in folder.glob("records-*.jsonl"))
    assert parts == ["records-gw0.jsonl", "records-gw1.jsonl"]
    assert {r.worker for r in found} == {"gw0", "gw1"}


def test_kinds_come_from_the_exceptions(records: tuple[Path, list[OutcomeRecord]]) -> None:
    found = by_test(records[1])
    expected = {
        "test_passes[nvr-v4.21.000]": ("passed", None, "call"),
        "test_product_defect[nvr-v4.21.000]": ("passed", None, "call"),
        "test_product_defect[ipc-v5.6.0]": ("failed", "product-defect", "call"),
        "test_plain_assert[nvr-v4.21.000]": ("failed", "product-defect", "call"),
        "test_network[nvr-v4.21.000]": ("failed", "infrastructure", "call"),
        "test_setup_infrastructure[nvr-v4.21.000]": ("error", "infrastructure", "setup"),
        "test_teardown_device[ipc-v5.6.0]": ("error", "device", "teardown"),
        "test_our_bug[ipc-v5.6.0]": ("failed", "harness", "call"),
        "test_quarantined[ipc-v5.6.0]": ("skipped", None, "call"),
        "test_xfail_passing": ("xpassed", "harness", "call"),
        "test_no_device": ("passed", None, "call"),
    }
    for name, (outcome, kind, phase) in expected.items():
        record = found[name]
        assert (record.outcome, record.kind, record.phase) == (outcome, kind, phase), name
    assert found["test_quarantined[ipc-v5.6.0]"].reason.startswith("ipc-v5.6.0 is quarantined")
    assert "worked twice" in found["test_product_defect[ipc-v5.6.0]"].reason


def test_records_carry_the_device_identity(records: tuple[Path, list[OutcomeRecord]]) -> None:
    found = by_test(records[1])
    nvr = found["test_network[nvr-v4.21.000]"]
    assert (nvr.device, nvr.model, nvr.firmware, nvr.line) == (
        "nvr-v4.21.000",
        "DS-7608NI-K2",
        "V4.21.000",
        "nvr",
    )
    ipc = found["test_our_bug[ipc-v5.6.0]"]
    assert (ipc.model, ipc.line) == ("DS-2CD2143G2-I", "ipc")
    assert found["test_no_device"].device is None


def test_summary_and_gate_read_the_same_records(records: tuple[Path, list[OutcomeRecord]]) -> None:
    rows = {(row.line, row.firmware): row for row in summarize(records[1])}
    nvr = rows[("nvr", "V4.21.000")]
    assert nvr.passed == 2
    assert dict(nvr.failed) == {"product-defect": 1, "infrastructure": 2}
    ipc = rows[("ipc", "V5.6.0")]
    assert dict(ipc.failed) == {"product-defect": 1, "device": 1, "harness": 1}
    assert ipc.skipped_total == 1
    inventory = load_inventory(DEFAULT_INVENTORY)
    nvr_only = [r for r in records[1] if r.device == "nvr-v4.21.000"]
    verdict = judge([inventory.device("nvr-v4.21.000")], nvr_only, firmware="V4.21.000")
    assert verdict.verdict is Verdict.DEFECT
    infra_only = [r for r in nvr_only if r.kind != "product-defect"]
    verdict = judge([inventory.device("nvr-v4.21.000")], infra_only, firmware="V4.21.000")
    assert verdict.verdict is Verdict.NO_VERDICT
