"""Unexpected state is a finding (issue 13, item 3), shown end to end on emulated devices.

The suites run on a small lab in a subprocess, as `tests/harness/test_efficacy.py` runs
them; the run records say how each test ended and of what kind:

- a test that passes its own checks but leaves the device where the harness did not
  leave it (the reserved address gone after the power cycle of the lockout test) fails as
  a product defect, and the next bring-up repairs the device;
- a bring-up whose own transition leaves an unexpected state (a lock kept over its power
  cycle) repairs the device with the reset button and fails the test it prepared as a
  product defect, naming what it found;
- a line that lost the feature at its threshold fails the tests that need a reserved
  address as product defects of their call, not as setup errors.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Final

import pytest
import yaml

from harness.run.records import read_records

REPO: Final = Path(__file__).resolve().parents[2]
AT_THRESHOLD: Final = {"model": "DS-7608NI-K2", "firmware": "V4.21.000"}
RUN_TIMEOUT_S: Final = 600


Found = dict[str, tuple[str, str | None, str]]


def _run_suites(tmp_path: Path, defects: dict[str, list[str]], select: str) -> Found:
    """(outcome, failure kind, message) of each test function run on the lab of `defects`
    (device name → its defects), tests chosen by `-k select`."""
    inventory = {
        "devices": [{"name": name, "kind": "emulated", "defects": names, **AT_THRESHOLD}
                    for name, names in defects.items()],
        "mailbox": {"kind": "smtp-sink"}, "cloud": {"kind": "emulated"},
        "lab_controller": {"kind": "emulated"},
        "leases": {"kind": "file", "directory": str(tmp_path / "leases")},
    }
    devices = tmp_path / "lab.yaml"
    devices.write_text(yaml.safe_dump(inventory))
    records = tmp_path / "records"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "suites", "--devices", str(devices), "-k", select,
         "-p", "no:cacheprovider", "-q", "-p", "fixtures.records", "--run-records",
         str(records), "--lab-workdir", str(tmp_path / "lab"), "--mail-timeout", "8",
         "--timeout", "300"],
        cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}, check=False,
    )
    found = {r.nodeid.rpartition("::")[2].partition("[")[0]: (r.outcome, r.kind, r.reason)
             for r in read_records(records)}
    assert found, run.stdout[-3000:] + run.stderr[-3000:]
    return found


@pytest.mark.timeout(RUN_TIMEOUT_S + 60)
def test_an_address_lost_by_a_test_fails_that_test(tmp_path: Path) -> None:
    found = _run_suites(tmp_path, {"lossy": ["email_lost_on_reboot"]},
                        "test_lockout_after_configured_wrong_passwords or "
                        "test_at_or_above_threshold_api_offers_reset")
    outcome, kind, message = found["test_lockout_after_configured_wrong_passwords"]
    assert (outcome, kind) == ("failed", "product-defect"), found
    assert "reserved address is gone" in message, message
    # The next bring-up repaired the device: a test needing the address passes.
    assert found["test_at_or_above_threshold_api_offers_reset"][0] == "passed", found


@pytest.mark.timeout(RUN_TIMEOUT_S + 60)
def test_a_lock_kept_over_the_bring_ups_power_cycle_is_reported(tmp_path: Path) -> None:
    found = _run_suites(tmp_path, {"sticky": ["lock_survives_reboot"]},
                        "test_lockout_after_configured_wrong_passwords or "
                        "test_code_void_after_reboot")
    assert found["test_lockout_after_configured_wrong_passwords"][:2] == (
        "failed", "product-defect"), found
    outcome, kind, message = found["test_code_void_after_reboot"]
    assert (outcome, kind) == ("failed", "product-defect"), found
    assert "after power_cycle" in message and "locked" in message, message


@pytest.mark.timeout(RUN_TIMEOUT_S + 60)
def test_a_threshold_lost_fails_the_tests_not_their_setup(tmp_path: Path) -> None:
    found = _run_suites(tmp_path, {"lost": ["feature_lost_at_threshold"]},
                        "test_at_or_above_threshold_api_offers_reset or "
                        "test_code_is_single_use")
    for test in ("test_at_or_above_threshold_api_offers_reset", "test_code_is_single_use"):
        outcome, kind, message = found[test]
        assert (outcome, kind) == ("failed", "product-defect"), found
        assert "notSupport" in message, message
