"""Runner scaling of a shared lab: the matrix split over 1, 2 and 3 runners.

Each runner is a network namespace of its own (tests/harness/shared_lab.py) running
`hil run -n 2` on its share of the devices (dealt round-robin), with the emulated fleet and
Redis (the leases) in the lab's namespace; devices have 150 ms latency and a 5 s boot.
Measured: the wall time from the runners' start to the last one's end, per runner count,
and its ratio to one runner; and, from the devices' own access log against the lease
journal, the double bookings (a request from one runner inside another's lease). On this
2-core machine the runners share the CPUs, so the ratio says what leases and sharing cost
more than what separate machines would gain.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

import yaml

REPO: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "harness"))

from shared_lab import judge_double_bookings, shared_lab  # noqa: E402

# The reset-by-e-mail and gating suites' tests (as bench/scaling --quick), by name.
QUICK: Final = "reset_by or threshold"
WAIT_S: Final = 7200.0


def _devices(names: list[str] | None, boot_s: float) -> list[dict[str, Any]]:
    data = yaml.safe_load((REPO / "devices.yaml").read_text())
    chosen = [d for d in data["devices"] if not names or d["name"] in names]
    return [{**d, "boot_seconds": boot_s} for d in chosen if d.get("kind") == "emulated"]


def measure(count: int, devices: list[dict[str, Any]], select: list[str], latency_ms: int,
            workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-runners-") as tmp:
        folder = Path(tmp)
        with shared_lab(folder, runners=count, devices=devices,
                        latency_ms=latency_ms) as lab:
            shares = [devices[i::count] for i in range(count)]
            started = time.monotonic()
            runs = []
            for index, share in enumerate(shares, start=1):
                picks = [arg for d in share for arg in ("--device", d["name"])]
                runs.append(lab.runner(index, folder / f"r{index}", *picks, *select,
                                       workers=workers))
            for run in runs:
                run.communicate(timeout=WAIT_S)
            wall = time.monotonic() - started
            verdict = judge_double_bookings(lab)
        statuses = [run.returncode for run in runs]
        return {"runners": count, "wall_s": round(wall, 1), "exit": statuses,
                "requests": verdict.requests, "double_bookings": len(verdict.double_bookings),
                "outside_leases": verdict.outside_leases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runners", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--quick", action="store_true",
                        help="only the reset-by-e-mail and gating tests (-k " + QUICK + ")")
    parser.add_argument("--select", default=None,
                        help="a -k expression (default: the regression profile's tests)")
    parser.add_argument("--devices", nargs="*", default=None)
    parser.add_argument("--latency-ms", type=int, default=150)
    parser.add_argument("--boot-seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    devices = _devices(args.devices, args.boot_seconds)
    keyword = args.select or (QUICK if args.quick else None)
    select = ["-k", keyword] if keyword else []
    rows = [measure(n, devices, select, args.latency_ms, args.workers) for n in args.runners]
    for row in rows:
        print(f"{row['runners']} runner(s): wall {row['wall_s']:.1f} s, exit {row['exit']}, "
              f"{row['requests']} requests, {row['double_bookings']} double bookings, "
              f"{row['outside_leases']} outside any lease")
    base = rows[0]["wall_s"]
    ratios = {str(r["runners"]): round(r["wall_s"] / base, 3) for r in rows}
    print("wall(N runners) / wall(first) = " + ", ".join(f"{k}: {v}" for k, v in ratios.items()))
    ok = all(all(s == 0 for s in r["exit"]) for r in rows)
    print(json.dumps({
        "benchmark": "runners", "devices": len(devices), "latency_ms": args.latency_ms,
        "wall_s": {str(r["runners"]): r["wall_s"] for r in rows}, "ratio": ratios,
        "double_bookings": sum(r["double_bookings"] for r in rows), "all_passed": ok,
        "target": {"double_bookings": 0}, "met": ok and all(
            r["double_bookings"] == 0 for r in rows)}))


if __name__ == "__main__":
    main()
