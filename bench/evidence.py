"""Evidence cost: a passing run of the suites with failure evidence on versus off.

Each arm is the harness's own switch, `--evidence MODE` (fixtures/reporting.py): the
default `on-failure` (what every run pays: the trace recorded for each GUI test and
dropped on a pass, the exchange log kept in memory) against `off`; `--modes` adds others
(`full`: the trace also films each step). Runs alternate between the modes, each with a
fresh lab, `pytest SUITES --devices DERIVED -n 1 --alluredir`. Afterwards the alluredir
and Playwright's output folder of every run with evidence are checked: a passing test
must keep no evidence (no trace, screenshot, DOM, exchange log, transcript or mail
attachment; no files in the output folder). Prints a table and, as its LAST line, one
JSON object with the figures and the target (<= 5 % extra wall time for on-failure).

    bench/evidence                  # 3 rounds, reset-by-email + gating suites, 3 devices
    bench/evidence --modes on-failure full off       # also what the screencast costs
    bench/evidence --rounds 1 --select suites/test_gating.py   # smoke
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any, Final

TARGET_EXTRA: Final = 0.05
DEFAULT_SUITES: Final = ("suites/test_reset_by_email.py", "suites/test_gating.py")
MODES: Final = ("on-failure", "full", "off")
# Attachments that are failure evidence (fixtures.reporting / harness.report.allure names).
EVIDENCE_WORDS: Final = ("trace", "screenshot", "dom", "isapi", "exchange", "ssh",
                         "transcript", "mail")


# --- the benchmark --------------------------------------------------------------------------


def kept_evidence(alluredir: Path) -> list[str]:
    """Evidence attachments kept by passing tests in an alluredir (should be none)."""
    found: list[str] = []

    def walk(node: dict[str, Any], test: str) -> None:
        for attachment in node.get("attachments", []):
            name = str(attachment.get("name", "")).lower()
            if any(word in name for word in EVIDENCE_WORDS):
                found.append(f"{test}: {attachment.get('name')}")
        for step in node.get("steps", []):
            walk(step, test)

    for path in alluredir.glob("*-result.json"):
        result = json.loads(path.read_text())
        if result.get("status") == "passed":
            walk(result, str(result.get("name", path.name)))
    return found


def step_attachments(alluredir: Path) -> dict[str, int]:
    """Every attachment name of passing tests, counted (to show what a pass keeps)."""
    counts: dict[str, int] = {}

    def walk(node: dict[str, Any]) -> None:
        for attachment in node.get("attachments", []):
            name = str(attachment.get("name", ""))
            counts[name] = counts.get(name, 0) + 1
        for step in node.get("steps", []):
            walk(step)

    for path in alluredir.glob("*-result.json"):
        result = json.loads(path.read_text())
        if result.get("status") == "passed":
            walk(result)
    return counts


def main() -> int:
    from _common import (
        ONE_PER_GENERATION,
        derived_devices,
        median,
        print_result,
        print_table,
        run_pytest,
        running_lab,
    )

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="runs per mode (default 3)")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=["on-failure", "off"],
                        help="--evidence modes to compare; off is always the baseline")
    parser.add_argument("--select", nargs="*", default=list(DEFAULT_SUITES))
    parser.add_argument("--devices", nargs="*", default=list(ONE_PER_GENERATION),
                        metavar="NAME")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--latency-ms", type=int, default=0)
    args = parser.parse_args()
    modes = list(dict.fromkeys([*args.modes, "off"]))

    walls: dict[str, list[float]] = {m: [] for m in modes}
    cpus: dict[str, list[float]] = {m: [] for m in modes}
    rows: list[list[object]] = []
    kept: list[str] = []
    output_files: list[str] = []
    attachments: dict[str, int] = {}
    all_ok = True
    with tempfile.TemporaryDirectory(prefix="bench-evidence-") as tmp:
        for round_ in range(args.rounds):
            # Alternate the order, so a drift of the machine's load favours no mode.
            order = modes if round_ % 2 == 0 else modes[::-1]
            for mode in order:
                work = Path(tmp) / f"r{round_}-{mode}"
                work.mkdir()
                devices = derived_devices(work / "devices.yaml", names=args.devices,
                                          latency_ms=args.latency_ms)
                alluredir, output = work / "allure", work / "pw-output"
                with running_lab(devices, work / "lab"):
                    run = run_pytest(
                        args.select, devices=devices, workdir=work / "lab",
                        workers=args.workers,
                        extra=["--evidence", mode, "--alluredir", str(alluredir),
                               "--output", str(output)])
                walls[mode].append(run.wall_s)
                cpus[mode].append(run.cpu_s)
                all_ok = all_ok and run.ok
                if not run.ok:
                    print(f"run {mode} exited {run.returncode}:\n{run.tail}", file=sys.stderr)
                if mode != "off":
                    kept += kept_evidence(alluredir)
                    for name, count in step_attachments(alluredir).items():
                        attachments[name] = attachments.get(name, 0) + count
                    if output.is_dir():
                        output_files += [str(p.relative_to(output))
                                         for p in output.rglob("*") if p.is_file()]
                o = run.outcomes
                rows.append([round_ + 1, mode, f"{run.wall_s:.1f}", f"{run.cpu_s:.1f}",
                             f"{o['passed']}/{o['failed']}/{o['error']}/{o['skipped']}"])
    wall = {m: median(walls[m]) for m in modes}
    cpu = {m: median(cpus[m]) for m in modes}
    extra_wall = {m: wall[m] / wall["off"] - 1 for m in modes if m != "off"}
    extra_cpu = {m: cpu[m] / cpu["off"] - 1 for m in modes if m != "off"}
    print(f"suites: {' '.join(args.select)} on {', '.join(args.devices)}, -n {args.workers}, "
          f"latency {args.latency_ms} ms; fresh lab per run; modes alternate")
    print_table(["round", "--evidence", "wall s", "CPU s", "pass/fail/err/skip"], rows)
    for m in extra_wall:
        print(f"{m}: median wall {wall[m]:.1f} s vs off {wall['off']:.1f} s: "
              f"{extra_wall[m]:+.1%}; CPU {cpu[m]:.1f} s vs {cpu['off']:.1f} s: "
              f"{extra_cpu[m]:+.1%}")
    print(f"target: on-failure <= +{TARGET_EXTRA:.0%} wall, nothing kept by a passing test")
    print(f"attachments kept by passing tests: "
          f"{', '.join(f'{k} x{v}' for k, v in sorted(attachments.items())) or 'none'}")
    print(f"failure evidence kept by passing tests: {len(kept)}"
          + (f" ({'; '.join(kept[:5])})" if kept else "")
          + f"; files in Playwright's output folder: {len(output_files)}")
    headline = extra_wall.get("on-failure")
    print_result({
        "benchmark": "evidence", "rounds": args.rounds, "modes": modes,
        "suites": args.select, "devices": args.devices, "workers": args.workers,
        "latency_ms": args.latency_ms,
        "wall_s": {m: round(v, 2) for m, v in wall.items()},
        "cpu_s": {m: round(v, 2) for m, v in cpu.items()},
        "extra_wall": {m: round(v, 4) for m, v in extra_wall.items()},
        "extra_cpu": {m: round(v, 4) for m, v in extra_cpu.items()},
        "evidence_kept_on_pass": len(kept), "output_files_on_pass": len(output_files),
        "attachments_on_pass": attachments, "all_passed": all_ok,
        "target": {"extra_wall_max": TARGET_EXTRA, "evidence_kept_on_pass": 0},
        "met": {"extra_wall": headline is not None and headline <= TARGET_EXTRA,
                "kept_only_on_failure": not kept and not output_files},
    })
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(main())
