"""Evidence cost: a passing run of the suites with failure evidence on versus off.

The fixtures have no switch for failure evidence (see docs/performance.md): on a passing
test they pay for what evidence needs before the outcome is known, namely the Playwright
trace (screenshots and DOM snapshots) recorded for every GUI test and dropped on a pass,
and the ISAPI / cloud exchange log and SSH transcript recorded and masked on every call.
Screenshots, the trace file and the attachments are only made after a failure. "Off" is
emulated from outside by this file loaded as a pytest plugin (`-p evidence`, with
BENCH_EVIDENCE=off): tracing start/stop and the exchange and transcript recording become
no-ops. Nothing in harness/ or fixtures/ is changed.

Runs alternate on/off, each with a fresh lab, `pytest SUITES --devices DERIVED -n 1
--alluredir`. Afterwards the alluredir and Playwright's output folder of every "on" run
are checked: a passing test must keep no evidence (no trace, screenshot, exchange log,
transcript or mail attachment; no files in the output folder). Prints a table and, as
its LAST line, one JSON object with the figures and the target (<= 5 % extra wall time).

    bench/evidence                  # 3 rounds, reset-by-email + gating suites, 3 devices
    bench/evidence --rounds 1 --select suites/test_gating.py   # smoke
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Final

TARGET_EXTRA: Final = 0.05
SWITCH_ENV: Final = "BENCH_EVIDENCE"
DEFAULT_SUITES: Final = ("suites/test_reset_by_email.py", "suites/test_gating.py")
# Attachments that are failure evidence (fixtures.reporting / harness.report names).
EVIDENCE_WORDS: Final = ("trace", "screenshot", "isapi", "exchange", "ssh", "transcript",
                         "mail")


# --- the "evidence off" plugin (loaded by pytest with -p evidence) --------------------------


def pytest_configure(config: Any) -> None:
    """With BENCH_EVIDENCE=off: no trace recording, no exchange or transcript recording."""
    if os.environ.get(SWITCH_ENV) != "off":
        return
    from playwright.sync_api._generated import Tracing

    from harness.evidence import ExchangeLog, ShellTranscript

    def no_trace(self: Any, *args: Any, **kwargs: Any) -> None:
        return None

    def no_record(self: Any, **kwargs: Any) -> None:
        return None

    Tracing.start = no_trace  # type: ignore[method-assign,assignment]
    Tracing.stop = no_trace  # type: ignore[method-assign]
    ExchangeLog.record = no_record  # type: ignore[method-assign,assignment]
    ShellTranscript.record = no_record  # type: ignore[method-assign,assignment]


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
    parser.add_argument("--rounds", type=int, default=3, help="on/off pairs (default 3)")
    parser.add_argument("--select", nargs="*", default=list(DEFAULT_SUITES))
    parser.add_argument("--devices", nargs="*", default=list(ONE_PER_GENERATION),
                        metavar="NAME")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--latency-ms", type=int, default=0)
    args = parser.parse_args()

    walls: dict[str, list[float]] = {"on": [], "off": []}
    cpus: dict[str, list[float]] = {"on": [], "off": []}
    rows: list[list[object]] = []
    kept: list[str] = []
    output_files: list[str] = []
    attachments: dict[str, int] = {}
    all_ok = True
    env_path = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parent),
                                             os.environ.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory(prefix="bench-evidence-") as tmp:
        for round_ in range(args.rounds):
            order = ("on", "off") if round_ % 2 == 0 else ("off", "on")
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
                        extra=["-p", "evidence", "--alluredir", str(alluredir),
                               "--output", str(output)],
                        env={SWITCH_ENV: mode, "PYTHONPATH": env_path})
                walls[mode].append(run.wall_s)
                cpus[mode].append(run.cpu_s)
                all_ok = all_ok and run.ok
                if not run.ok:
                    print(f"run {mode} exited {run.returncode}:\n{run.tail}", file=sys.stderr)
                if mode == "on":
                    kept += kept_evidence(alluredir)
                    for name, count in step_attachments(alluredir).items():
                        attachments[name] = attachments.get(name, 0) + count
                    if output.is_dir():
                        output_files += [str(p.relative_to(output))
                                         for p in output.rglob("*") if p.is_file()]
                o = run.outcomes
                rows.append([round_ + 1, mode, f"{run.wall_s:.1f}", f"{run.cpu_s:.1f}",
                             f"{o['passed']}/{o['failed']}/{o['error']}/{o['skipped']}"])
    on_wall, off_wall = median(walls["on"]), median(walls["off"])
    on_cpu, off_cpu = median(cpus["on"]), median(cpus["off"])
    extra_wall = on_wall / off_wall - 1
    extra_cpu = on_cpu / off_cpu - 1
    print(f"suites: {' '.join(args.select)} on {', '.join(args.devices)}, -n {args.workers}, "
          f"latency {args.latency_ms} ms; fresh lab per run; alternating on/off")
    print_table(["round", "evidence", "wall s", "CPU s", "pass/fail/err/skip"], rows)
    print(f"median wall on {on_wall:.1f} s, off {off_wall:.1f} s: {extra_wall:+.1%} "
          f"(target <= +{TARGET_EXTRA:.0%}); CPU {extra_cpu:+.1%}")
    print(f"attachments kept by passing tests: "
          f"{', '.join(f'{k} x{v}' for k, v in sorted(attachments.items())) or 'none'}")
    print(f"failure evidence kept by passing tests: {len(kept)}"
          + (f" ({'; '.join(kept[:5])})" if kept else "")
          + f"; files in Playwright's output folder: {len(output_files)}")
    print_result({
        "benchmark": "evidence", "rounds": args.rounds, "suites": args.select,
        "devices": args.devices, "workers": args.workers, "latency_ms": args.latency_ms,
        "wall_s": {"on": round(on_wall, 2), "off": round(off_wall, 2)},
        "cpu_s": {"on": round(on_cpu, 2), "off": round(off_cpu, 2)},
        "extra_wall": round(extra_wall, 4), "extra_cpu": round(extra_cpu, 4),
        "evidence_kept_on_pass": len(kept), "output_files_on_pass": len(output_files),
        "attachments_on_pass": attachments, "all_passed": all_ok,
        "switch_in_fixtures": False,
        "target": {"extra_wall_max": TARGET_EXTRA, "evidence_kept_on_pass": 0},
        "met": {"extra_wall": extra_wall <= TARGET_EXTRA,
                "kept_only_on_failure": not kept and not output_files},
    })
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(main())
