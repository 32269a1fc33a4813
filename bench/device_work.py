"""Device work of one matrix run: factory resets and reboots, measured against the minimum.

Runs the suites once over a fresh emulated lab (every device inactive, as after a reset)
and reads the emulator's own counters (boots, power cycles, factory resets) through the
lab controller's `status` over SSH, before and after; reboots = boots that were neither a
factory reset nor a power cycle. Beside them it prints
the minimum the suites' flows need, derived from the suites themselves:

- each test's required state is its `@pytest.mark.state(...)` marker (read from the
  suite files with `ast`); its effect on the device is the table EFFECTS below, written
  from reading each test (which tests activate, reserve an address, lock the client out,
  reboot on purpose);
- replaying the order the tests really ran in on each device (from the run's outcome
  records), a test that needs an inactive device costs one full factory reset unless the
  device is already inactive; a device left locked by the lockout test costs one reboot
  (power cycle) before the next test that logs in, or nothing if a factory reset comes
  next (the reset button needs no login); a test that reboots on purpose costs its reboot;
- the order-independent lower bound (the best order per device) is shown too: on a
  device with N activating tests that need it inactive, N - 1 resets; lockout last, no
  power cycle; the purposeful reboots.

Prints a table and, as its LAST line, one JSON object; the target is measured == minimum
for the order that ran.

    bench/device_work               # every suite, devices.yaml, -n 2
    bench/device_work --quick       # reset-by-email + gating + security on 4 devices
"""

from __future__ import annotations

import argparse
import ast
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Final

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

from harness.runrecord import read_records

QUICK_DEVICES: Final = ("dvr-k-v4.2.00", "nvr-v4.20.000", "ipc-v5.6.0", "ipc-v5.7.10")
QUICK_SUITES: Final = ("suites/test_reset_by_email.py", "suites/test_gating.py",
                       "suites/test_security.py")
INACTIVE, ACTIVE, RESERVED, LOCKED = "inactive", "active", "email_reserved", "locked"
# What a passing test leaves behind, from reading the suites: (state after, own reboots).
# Tests not listed leave the device as they found it and do not reboot it.
EFFECTS: Final[dict[str, tuple[str | None, int]]] = {
    "test_activate_in_gui_without_email": (ACTIVE, 0),
    "test_activate_in_gui_with_email": (RESERVED, 0),
    "test_reserve_email_in_gui": (RESERVED, 0),
    "test_lockout_after_configured_wrong_passwords": (LOCKED, 0),
    "test_code_void_after_reboot": (None, 1),
}
RANK: Final = {INACTIVE: 0, ACTIVE: 1, RESERVED: 2}


def required_states(suites_dir: Path = REPO / "suites") -> dict[str, str]:
    """Test function name → the state its `state(...)` marker asks for."""
    wanted: dict[str, str] = {}
    for path in sorted(suites_dir.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test_"):
                continue
            for deco in node.decorator_list:
                if (isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute)
                        and deco.func.attr == "state" and deco.args
                        and isinstance(deco.args[0], ast.Constant)):
                    wanted[node.name] = str(deco.args[0].value)
    return wanted


def minimum_for_order(tests: list[str], wanted: dict[str, str]) -> dict[str, int]:
    """Resets, power cycles and reboots one device needs to run `tests` in this order,
    starting inactive."""
    state, need = INACTIVE, {"factory_resets": 0, "power_cycles": 0, "reboots": 0}
    for test in tests:
        target = wanted.get(test)
        if target == INACTIVE and state != INACTIVE:
            need["factory_resets"] += 1  # the reset button also clears a lock
            state = INACTIVE
        elif target is not None and state == LOCKED:
            need["power_cycles"] += 1
            state = RESERVED  # as before the lockout (the test starts "active or more")
        elif target is not None and RANK[state] < RANK[target]:
            state = target  # activate / reserve: no reset, no reboot
        after, reboots = EFFECTS.get(test, (None, 0))
        need["reboots"] += reboots
        if after is not None:
            state = after
    return need


def lower_bound(tests: list[str], wanted: dict[str, str]) -> dict[str, int]:
    """The best order's cost for this device's tests (see the module docstring)."""
    activating = sum(1 for t in tests if wanted.get(t) == INACTIVE and EFFECTS.get(
        t, (None, 0))[0] not in (None, INACTIVE))
    return {"factory_resets": max(0, activating - 1), "power_cycles": 0,
            "reboots": sum(EFFECTS.get(t, (None, 0))[1] for t in tests)}


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
    wanted = required_states()

    with tempfile.TemporaryDirectory(prefix="bench-device-work-") as tmp:
        work = Path(tmp)
        devices = derived_devices(work / "devices.yaml", names=names)
        records_dir = work / "records"
        with running_lab(devices, work / "lab") as (endpoints, _start):
            lab = lab_for(devices, work / "lab", endpoints)
            before = device_counters(lab)
            run = run_pytest(selection, devices=devices, workdir=work / "lab",
                             workers=args.workers,
                             extra=["-p", "harness.runrecord", "--run-records",
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
    kinds = ("factory_resets", "reboots", "power_cycles")
    rows: list[list[object]] = []
    totals = {f"{side}_{k}": 0 for side in ("measured", "minimum", "bound") for k in kinds}
    for device in sorted(after):
        tests = [name for _start, name in sorted(ran.get(device, []))]
        delta = {k: after[device].get(k, 0) - before.get(device, {}).get(k, 0)
                 for k in ("factory_resets", "power_cycles", "boots")}
        # Every reset, power cycle and reboot is one boot; the emulator's own `reboots`
        # counter also counts the reboot inside an ISAPI factory reset, so reboots on
        # purpose are the boots that were neither.
        measured = {"factory_resets": delta["factory_resets"],
                    "power_cycles": delta["power_cycles"],
                    "reboots": delta["boots"] - delta["factory_resets"] - delta["power_cycles"]}
        need = minimum_for_order(tests, wanted)
        bound = lower_bound(tests, wanted)
        for k in kinds:
            totals[f"measured_{k}"] += measured[k]
            totals[f"minimum_{k}"] += need[k]
            totals[f"bound_{k}"] += bound[k]
        rows.append([device, len(tests)] + [f"{measured[k]} / {need[k]} / {bound[k]}"
                                            for k in kinds])
    rows.append(["total", sum(len(v) for v in ran.values())]
                + [f"{totals[f'measured_{k}']} / {totals[f'minimum_{k}']} / "
                   f"{totals[f'bound_{k}']}" for k in kinds])
    o = run.outcomes
    print(f"suites: {' '.join(selection)}; -n {args.workers}; fresh lab (all inactive); "
          f"{o['passed']} passed, {o['failed']} failed, {o['error']} errors, "
          f"{o['skipped']} skipped in {run.wall_s:.0f} s")
    print("each cell: measured (emulator counters via the lab controller) / minimum for "
          "the order that ran / lower bound for the best order")
    print_table(["device", "tests", "factory resets", "reboots", "power cycles"], rows)
    print("minimum: a test marked state('inactive') costs one full reset unless the device "
          "is inactive; a device locked by the lockout test costs one power cycle before the "
          "next test that logs in (none if a reset comes next); test_code_void_after_reboot "
          "reboots once on purpose. Lower bound: N-1 resets for N activating tests, lockout "
          "last.")
    met = all(totals[f"measured_{k}"] == totals[f"minimum_{k}"] for k in kinds)
    print_result({
        "benchmark": "device_work", "mode": "quick" if args.quick else "full",
        "suites": selection, "workers": args.workers, "devices": len(after),
        "outcomes": o, "wall_s": round(run.wall_s, 1),
        **totals,
        "target": "measured == minimum for the order that ran (resets, reboots, power cycles)",
        "met": met,
    })
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(main())
