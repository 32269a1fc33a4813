"""Each harness benchmark still runs: a tiny mode of each (one device, one suite file,
no device latency) must finish and print, as its last line, one JSON object with its
figures and its target. No timing is asserted: timings belong to the benchmarks."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DEVICE = "ipc-v5.7.10"  # camera-spa, reserved-e-mail reset supported
TINY = {
    "overhead": ["--rounds", "1", "--devices", DEVICE],
    "scaling": ["--workers", "1", "--latency-ms", "0", "--boot-seconds", "0",
                "--select", "suites/test_gating.py", "--devices", DEVICE],
    "device_work": ["--workers", "1", "--select", "suites/test_gating.py",
                    "--devices", DEVICE],
    "evidence": ["--rounds", "1", "--select", "suites/test_gating.py", "--devices", DEVICE],
    "runners": ["--runners", "1", "--devices", DEVICE, "--latency-ms", "0", "--boot-seconds",
                "0", "--select", "test_at_or_above_threshold_api_offers_reset"],
}
KEYS = {
    "overhead": ("ratio_process_wall", "ratio_process_cpu", "ratio_test_wall", "figures"),
    "scaling": ("wall_s", "cpu_s", "ratio"),
    "device_work": ("measured_factory_resets", "replay_factory_resets", "minimum_factory_resets",
                    "measured_reboots", "minimum_reboots", "measured_power_cycles",
                    "minimum_power_cycles"),
    "evidence": ("wall_s", "extra_wall", "evidence_kept_on_pass"),
    "runners": ("wall_s", "ratio", "double_bookings"),
}


def _last_json(benchmark: str) -> dict[str, Any]:
    proc = subprocess.run([str(REPO / "bench" / benchmark), *TINY[benchmark]], cwd=REPO,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, (
        f"bench/{benchmark} exited {proc.returncode}: {proc.stderr[-2000:]}"
    )
    lines = proc.stdout.strip().splitlines()
    assert len(lines) > 2, f"bench/{benchmark} printed no table: {proc.stdout!r}"
    result = json.loads(lines[-1])
    assert isinstance(result, dict)
    return result


# A benchmark starts its own lab and pytest run: far longer than the default per-test
# timeout on a loaded machine.
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("benchmark", sorted(TINY))
def test_benchmark_runs_and_ends_with_json(benchmark: str) -> None:
    result = _last_json(benchmark)
    assert result["benchmark"] == benchmark
    assert "target" in result and "met" in result
    for key in KEYS[benchmark]:
        assert key in result, f"bench/{benchmark}: no {key!r} in {sorted(result)}"
    if benchmark == "overhead":
        assert result["failed_runs"] == 0, f"a flow failed: {result}"
    if benchmark in ("scaling", "evidence", "runners"):
        assert result["all_passed"], f"the suite run under bench/{benchmark} failed: {result}"
