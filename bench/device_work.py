"""Device work of one matrix run: factory resets and reboots, measured against the minimum.

Runs the suites once over a fresh emulated lab (every device inactive, as after a reset)
and reads the emulator's own counters (boots, power cycles, factory resets) through the
lab controller's `status` over SSH, before and after; reboots = boots that were neither a
factory reset nor a power cycle. Beside them it prints what the suites' flows need, from
the suites' own markers (one source of truth with the run's order): each test's
`state(...)` (what it needs) and, on the few tests that change the device, `leaves(...)`
and `reboots(n)`, read by importing the suite modules. With `harness.run.ordering`:

- the replay of the order the tests really ran in on each device (from the run's
  outcome records): what `harness.lab.states.bring` needs for that order (a test that needs
  an inactive device costs one full reset unless the device is inactive; a device left
  locked costs a power cycle before the next test that logs in, or nothing extra when a
  reset comes next: the reset button needs no login; a purposeful reboot costs itself);
- the minimum: the least any order of the same tests costs on that device (a search
  over the kinds of test), i.e. N - 1 resets for N activating tests, no power cycle with
  the lockout last, and the purposeful reboots.

`fixtures/matrix.py` orders each device's tests (`harness.run.ordering.arrange`), so the
target is measured == minimum. Prints a table and, as its LAST line, one JSON object.

    bench/device_work               # every suite, devices.yaml, -n 2
    bench/device_work --quick       # reset-by-email + gating + security on 4 devices
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any, Final

from _common import (
    REPO,
    derived_devices,
    device_counters,
    lab_for,
    print_result,
    print_table,
    run_pytest,
    running_lab,
)

from harness.run.ordering import Cost, DeviceTest, from_marks, minimum, replay
from harness.run.records import read_records

QUICK_DEVICES: Final = ("dvr-k-v4.2.00", "nvr-v4.20.000", "ipc-v5.6.0", "ipc-v5.7.10")
QUICK_SUITES: Final = ("suites/test_reset_by_email.py", "suites/test_gating.py",
                       "suites/test_security.py")
KINDS: Final = ("factory_resets", "reboots", "power_cycles")


def _marks(value: Any) -> list[Any]:
    """A `pytestmark` (one mark, a decorator or a list of either) as a list of marks."""
    items = value if isinstance(value, list) else [value]
    return [getattr(m, "mark", m) for m in items]


def suite_tests(suites_dir: Path = REPO / "suites") -> dict[str, DeviceTest]:
    """Test function name → what it needs and leaves, from the marks on the suite modules
    (imported, not collected: the same marks the collection hook reads)."""
    tests: dict[str, DeviceTest] = {}
    for path in sorted(suites_dir.glob("test_*.py")):
        spec = importlib.util.spec_from_file_location(f"_device_work_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise SystemExit(f"bench: cannot import {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module_marks = _marks(getattr(module, "pytestmark", []))
        for name, function in vars(module).items():
            if name.startswith("test_") and callable(function):
                # Nearest first, as item.iter_markers(): the function's, then the module's.
                marks = [*_marks(getattr(function, "pytestmark", [])), *module_marks]
                tests[name] = from_marks(name, marks)
    return tests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"suites {', '.join(QUICK_SUITES)} on {len(QUICK_DEVICES)} devices")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--select", nargs="*", default=None)
    parser.add_argument("--devices", nargs="*", default=None, metavar="NAME")
    args = parser.parse_args()
    names = args.devices if args.devices is not None else (
        list(QUICK_DEVICES) if args.quick else None)
    selection = args.select if args.select is not None else (
        list(QUICK_SUITES) if args.quick else ["suites"])
    known = suite_tests()

    with tempfile.TemporaryDirectory(prefix="bench-device-work-") as tmp:
        work = Path(tmp)
        devices = derived_devices(work / "devices.yaml", names=names)
        records_dir = work / "records"
        with running_lab(devices, work / "lab") as (endpoints, _start):
            lab = lab_for(devices, work / "lab", endpoints)
            before = device_counters(lab)
            run = run_pytest(selection, devices=devices, workdir=work / "lab",
                             workers=args.workers,
                             extra=["-p", "fixtures.records", "--run-records",
                                    str(records_dir)])
            after = device_counters(lab)
        records = read_records(records_dir)
    if not run.ok:
        print(f"pytest exited {run.returncode}:\n{run.tail}", file=sys.stderr)

    # Per device, the tests in the order they ran (start = finished - duration).
    ran: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for r in records:
        if r.device is not None and r.outcome != "skipped":
            function = r.nodeid.split("::", 1)[1].split("[", 1)[0]
            ran[r.device].append((r.finished - r.duration_s, function))
    rows: list[list[object]] = []
    totals = {f"{side}_{k}": 0 for side in ("measured", "replay", "minimum") for k in KINDS}
    off: list[str] = []
    for device in sorted(after):
        tests = [known.get(name, DeviceTest(name)) for _start, name in sorted(ran[device])]
        delta = {k: after[device].get(k, 0) - before.get(device, {}).get(k, 0)
                 for k in ("factory_resets", "power_cycles", "boots")}
        # Every reset, power cycle and reboot is one boot; the emulator's own `reboots`
        # counter also counts the reboot inside an ISAPI factory reset, so reboots on
        # purpose are the boots that were neither.
        measured = Cost(factory_resets=delta["factory_resets"],
                        power_cycles=delta["power_cycles"],
                        reboots=delta["boots"] - delta["factory_resets"]
                        - delta["power_cycles"]).as_dict()
        sides = {"measured": measured, "replay": replay(tests).as_dict(),
                 "minimum": minimum(tests).as_dict()}
        for side, cost in sides.items():
            for k in KINDS:
                totals[f"{side}_{k}"] += cost[k]
        if sides["measured"] != sides["minimum"]:
            off.append(device)
        rows.append([device, len(tests)] + [" / ".join(str(sides[side][k]) for side in sides)
                                            for k in KINDS])
    rows.append(["total", sum(len(v) for v in ran.values())]
                + [" / ".join(str(totals[f"{side}_{k}"])
                              for side in ("measured", "replay", "minimum")) for k in KINDS])
    o = run.outcomes
    print(f"suites: {' '.join(selection)}; -n {args.workers}; fresh lab (all inactive); "
          f"{o['passed']} passed, {o['failed']} failed, {o['error']} errors, "
          f"{o['skipped']} skipped in {run.wall_s:.0f} s")
    print("each cell: measured (emulator counters via the lab controller) / replay of the "
          "order that ran / minimum (the best order of the same tests)")
    print_table(["device", "tests", "factory resets", "reboots", "power cycles"], rows)
    print("from the suites' markers: a test marked state('inactive') costs one full reset "
          "unless the device is inactive; leaves('locked') costs a power cycle before the "
          "next test that logs in (nothing extra if a reset comes next: the reset button "
          "needs no login); reboots(n) costs n reboots. Minimum: N-1 resets for N activating "
          "tests, the lockout last, the purposeful reboots; fixtures/matrix.py runs each "
          "device's tests in that order.")
    print_result({
        "benchmark": "device_work", "mode": "quick" if args.quick else "full",
        "suites": selection, "workers": args.workers, "devices": len(after),
        "outcomes": o, "wall_s": round(run.wall_s, 1),
        **totals,
        "devices_off_minimum": off,
        "target": "measured == minimum (the best order) on every device "
                  "(resets, reboots, power cycles)",
        "met": not off,
    })
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(main())
