"""Scaling benchmark: the suites over the default matrix at -n 1, -n 2, -n 4, on emulated
devices with a realistic latency (150 ms per request) and boot time (5 s).

The harness should scale with devices, not CPUs: the devices' waits dominate, so more
xdist workers should cut the wall time even on 2 cores. Each run gets a fresh lab (every
device inactive, as a lab after a reset) started before the clock, and runs
`pytest SUITES --devices DERIVED -n N` as the README does. Prints a table and, as its LAST
line, one JSON object with the wall times and wall(-n 4)/wall(-n 1) against the target.

    bench/scaling                   # every suite, all 14 devices of devices.yaml (long)
    bench/scaling --quick           # reset-by-email + gating suites, all 14 devices
    bench/scaling --workers 1 2 --latency-ms 0 --boot-seconds 0 --quick   # smoke
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Final

from _common import (
    derived_devices,
    median,
    print_result,
    print_table,
    run_pytest,
    running_lab,
)

TARGET_RATIO: Final = 0.35
QUICK_SUITES: Final = ("suites/test_reset_by_email.py", "suites/test_gating.py")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"suites {', '.join(QUICK_SUITES)} only (58 of the 232 tests)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per worker count, interleaved; medians are reported")
    parser.add_argument("--latency-ms", type=int, default=150)
    parser.add_argument("--boot-seconds", type=float, default=5.0)
    parser.add_argument("--select", nargs="*", default=None,
                        help="pytest selection (default: suites, or the quick subset)")
    parser.add_argument("--devices", nargs="*", default=None, metavar="NAME",
                        help="device names of devices.yaml (default: all, or the quick set)")
    parser.add_argument("--dist", default=None,
                        help="xdist --dist mode (default: xdist's, as bin/run uses)")
    args = parser.parse_args()
    # The quick mode keeps every device: the point is many devices per worker.
    names = args.devices
    selection = args.select if args.select is not None else (
        list(QUICK_SUITES) if args.quick else ["suites"])
    extra = ["--dist", args.dist] if args.dist else []

    walls: dict[int, list[float]] = {n: [] for n in args.workers}
    cpus: dict[int, list[float]] = {n: [] for n in args.workers}
    rows: list[list[object]] = []
    all_ok = True
    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as tmp:
        for round_ in range(args.repeat):
            for n in args.workers:
                work = Path(tmp) / f"r{round_}-n{n}"
                work.mkdir()
                devices = derived_devices(work / "devices.yaml", latency_ms=args.latency_ms,
                                          boot_seconds=args.boot_seconds, names=names)
                with running_lab(devices, work / "lab") as (_endpoints, lab_start):
                    run = run_pytest(selection, devices=devices, workdir=work / "lab",
                                     workers=n, extra=extra)
                walls[n].append(run.wall_s)
                cpus[n].append(run.cpu_s)
                all_ok = all_ok and run.ok
                o = run.outcomes
                rows.append([round_ + 1, f"-n {n}", f"{run.wall_s:.1f}", f"{run.cpu_s:.1f}",
                             f"{lab_start:.1f}", f"{o['passed']}/{o['failed']}/{o['error']}/"
                             f"{o['skipped']}", run.returncode])
                if not run.ok:
                    print(f"run -n {n} exited {run.returncode}:\n{run.tail}", file=sys.stderr)
    count = len(names) if names is not None else 14
    print(f"suites: {' '.join(selection)}; {count} devices, latency {args.latency_ms} ms, "
          f"boot {args.boot_seconds:g} s; fresh lab per run (not timed)")
    print_table(["round", "workers", "wall s", "CPU s", "lab start s",
                 "pass/fail/err/skip", "exit"], rows)
    med = {n: median(walls[n]) for n in args.workers}
    first, last = min(args.workers), max(args.workers)
    ratio = med[last] / med[first] if med[first] else float("nan")
    print(f"wall(-n {last}) / wall(-n {first}) = {ratio:.3f}  (target <= {TARGET_RATIO} "
          f"for -n 4 / -n 1)")
    print_result({
        "benchmark": "scaling", "mode": "quick" if args.quick else "full",
        "suites": selection, "devices": count, "latency_ms": args.latency_ms,
        "boot_seconds": args.boot_seconds, "repeat": args.repeat,
        "wall_s": {str(n): round(med[n], 2) for n in args.workers},
        "cpu_s": {str(n): round(median(cpus[n]), 2) for n in args.workers},
        "ratio": round(ratio, 3), "ratio_of": [last, first], "all_passed": all_ok,
        "target": {"ratio_max": TARGET_RATIO},
        "met": bool(ratio <= TARGET_RATIO) if (first, last) == (1, 4) else None,
    })
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
