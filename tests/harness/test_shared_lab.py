"""One lab, three runners (issue 16, the reduced form that CI runs): each runner in its own
network namespace with its own address, the emulated fleet and Redis reachable only over a
bridge, two xdist workers each, 150 ms device latency. Judged from the devices' own access
log against the lease journal: no device served two runners at once; a runner killed with
SIGKILL mid-test loses its lease (another runner gets the device) and the others finish;
their results make one report and one verdict. `bench/runners` measures the full form."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Final

import pytest
from shared_lab import HIL, REPO, judge_double_bookings, shared_lab

TTL_S: Final = 5.0
NVR: Final = {"kind": "emulated", "model": "DS-7608NI-K2", "firmware": "V4.21.000"}
# Fast API tests in two states per device: runners contend for every device.
SELECTION: Final = ("test_risky_password_refused_by_api or test_password_length_refused_by_api"
                    " or test_activate_again_refused or test_lock_settings_range")
RUN_WAIT_S: Final = 600.0


def _holding(journal: list[dict[str, Any]], runner: str) -> dict[str, Any] | None:
    """An acquire of `runner`'s that has no release yet: a device it holds now."""
    released = {(e["device"], e["token"]) for e in journal if e["event"] == "release"}
    return next((e for e in journal if e["runner"] == runner and e["event"] == "acquire"
                 and (e["device"], e["token"]) not in released), None)


def _namespaces_available() -> bool:
    return os.geteuid() == 0 and shutil.which("ip") is not None


@pytest.mark.skipif(not _namespaces_available(),
                    reason="network namespaces need root and iproute2 (ip)")
def test_three_runners_share_one_lab(tmp_path: Path) -> None:
    devices = [{"name": f"nvr{i}", **NVR} for i in range(1, 4)]
    with shared_lab(tmp_path, runners=3, devices=devices, ttl_s=TTL_S) as lab:
        outputs = [tmp_path / f"r{i}" for i in range(1, 4)]
        runs = [lab.runner(i, outputs[i - 1], "-k", SELECTION) for i in range(1, 4)]
        # Kill runner 3 once it holds a device, mid-test.
        deadline = time.monotonic() + RUN_WAIT_S
        held: dict[str, Any] | None = None
        while held is None and time.monotonic() < deadline:
            held = _holding(lab.journal(), "r3")
            time.sleep(0.05)
        assert held is not None, "runner 3 never leased a device"
        os.killpg(runs[2].pid, signal.SIGKILL)
        killed_at = time.time()
        # Another holder gets the device once Redis expired runner 3's lease.
        freed_after = lab.acquire_as("r9", str(held["device"]), timeout=3 * TTL_S) - killed_at
        finished = [run.communicate(timeout=RUN_WAIT_S)[0] for run in runs[:2]]
        runs[2].wait(timeout=60)
        for index, (run, text) in enumerate(zip(runs[:2], finished, strict=True), start=1):
            assert run.returncode == 0, f"runner {index}:\n{text[-3000:]}"

        verdict = judge_double_bookings(lab)
        assert verdict.requests > 100, verdict  # the devices really were asked
        assert verdict.double_bookings == [], verdict.double_bookings[:5]
        print(f"\n{verdict.requests} requests by the runners, 0 double bookings, "
              f"{verdict.outside_leases} outside any lease; {held['device']} leased again "
              f"{freed_after:.2f} s after runner 3's kill (TTL {TTL_S:g} s)")

    merged = tmp_path / "merged"
    report = subprocess.run(
        [str(HIL), "gate", "--firmware", "V4.21.000", "--devices", str(lab.inventory),
         "--merge", str(outputs[0]), "--merge", str(outputs[1]), "-o", str(merged)],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert report.returncode == 0, report.stdout[-3000:] + report.stderr[-2000:]
    assert "GATE PASS for V4.21.000" in report.stdout
