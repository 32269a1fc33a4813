"""Run the suites as a pytest subprocess with live progress, then summarise the records.

The subprocess keeps pytest, xdist and the browsers out of the `hil` process: a crash
there is a run that ended badly, not a traceback here. Its full output goes to
`<output>/pytest.log`; the outcome records (`harness.run.records`) drive the progress bar
and the summary, so the summary shows failure kinds derived from the exceptions.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from rich.console import Console
from rich.live import Live
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from harness.inventory.model import AnyDevice, Inventory
from harness.lab.endpoints import lab_status
from harness.run.gate import write_subset_inventory
from harness.run.progress import (
    FAILED,
    HEARTBEAT_S,
    LiveView,
    PlainProgress,
    counts,
    describe,
)
from harness.run.records import (
    OutcomeRecord,
    clear_records,
    collected_count,
    merge_records,
    read_activity,
    read_partial,
    read_records,
    summarize,
)

POLL_S: Final = 0.5
STOP_TIMEOUT: Final = 60.0


@dataclass(frozen=True)
class RunPaths:
    """Where a run writes: Allure results, JUnit XML, outcome records and pytest's log."""

    output: Path

    @property
    def results(self) -> Path:
        return self.output / "allure-results"

    @property
    def junit(self) -> Path:
        return self.output / "junit.xml"

    @property
    def records(self) -> Path:
        return self.output / "records"

    @property
    def log(self) -> Path:
        return self.output / "pytest.log"

    @property
    def report(self) -> Path:
        return self.output / "allure-report"

    @property
    def history(self) -> Path:
        return self.output / "history" / "history.jsonl"


def pytest_command(
    selection: Sequence[str], paths: RunPaths, *, devices: Path, workdir: Path, workers: int
) -> list[str]:
    """The pytest command line of a run: selection, inventory, workers, outputs, records."""
    return [
        sys.executable,
        "-m",
        "pytest",
        *selection,
        "--devices",
        str(devices),
        "--lab-workdir",
        str(workdir),
        "-n",
        str(workers),
        # A device's tests in one worker (the matrix marks them xdist_group by device), so
        # its state is reused rather than fought over through leases.
        *(["--dist", "loadgroup"] if workers > 0 else []),
        "--alluredir",
        str(paths.results),
        "--clean-alluredir",
        f"--junitxml={paths.junit}",
        "--run-records",
        str(paths.records),
        "-p",
        "no:cacheprovider",
        "-rN",
    ]


def _status_text(records: list[OutcomeRecord]) -> str:
    passed, failed, skipped = counts(records)
    return f"[green]{passed} passed[/] [red]{failed} failed[/] [yellow]{skipped} skipped[/]"


def run_with_progress(command: list[str], paths: RunPaths, console: Console, title: str) -> int:
    """Run `command`, showing progress from the records; pytest's exit status.

    A terminal gets the live view (bar, failures as they happen, each worker's test and
    the wait it is in, counted down); a log gets a line per finished test and a line at
    least every `HEARTBEAT_S` seconds (`harness.run.progress`).
    """
    paths.output.mkdir(parents=True, exist_ok=True)
    clear_records(paths.records)
    paths.junit.unlink(missing_ok=True)
    with paths.log.open("wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            if console.is_terminal:
                _live(proc, paths, console, title)
            else:
                _plain(proc, paths, title)
        except KeyboardInterrupt:
            # Let pytest finish its teardown (leases, lab) rather than killing it.
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            console.print("interrupted: pytest stopped")
    merge_records(paths.records)
    return proc.returncode if proc.returncode is not None else 2


def _live(proc: subprocess.Popen[bytes], paths: RunPaths, console: Console, title: str) -> None:
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console,
    )
    view = LiveView(progress)
    task = progress.add_task(title, total=None, status="collecting")
    seen: set[tuple[str, str, float]] = set()
    with Live(view, console=console, refresh_per_second=4):
        while True:
            finished = proc.poll() is not None
            records = read_partial(paths.records)
            for record in records:
                key = (record.worker, record.nodeid, record.finished)
                if key in seen:
                    continue
                seen.add(key)
                # Failures as they happen; skips are in the summary at the end.
                if record.outcome in FAILED:
                    console.print(describe(record), soft_wrap=True, markup=False)
            view.activity = read_activity(paths.records)
            progress.update(task, total=collected_count(paths.records),
                            completed=len(records), status=_status_text(records))
            if finished:
                view.activity = []
                break
            time.sleep(POLL_S)


def heartbeat_seconds() -> float:
    """`$HIL_HEARTBEAT_S` (a log's longest silence while tests run), else 60 s."""
    try:
        value = float(os.environ.get("HIL_HEARTBEAT_S") or HEARTBEAT_S)
    except ValueError:
        return HEARTBEAT_S
    return value if 0 < value <= HEARTBEAT_S else HEARTBEAT_S


def _plain(proc: subprocess.Popen[bytes], paths: RunPaths, title: str) -> None:
    # print, flushed: a log (or a pipe) sees each line as it comes, never a rich re-draw.
    print(f"{title}: pytest started (its log: {paths.log})", flush=True)
    plain = PlainProgress(title, started=time.time(), every=heartbeat_seconds())
    while True:
        finished = proc.poll() is not None
        lines = plain.update(time.time(), read_partial(paths.records),
                             collected_count(paths.records), read_activity(paths.records))
        for line in lines:
            print(line, flush=True)
        if finished:
            break
        time.sleep(POLL_S)


def log_tail(paths: RunPaths, lines: int = 15) -> list[str]:
    """The last non-empty lines of pytest's log (for a run that ended badly)."""
    try:
        text = paths.log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [ln for ln in text.splitlines() if ln.strip()][-lines:]


def usage_error(paths: RunPaths) -> str | None:
    """pytest's own one-line refusal (`ERROR: ...`) from its log, if it refused to run."""
    try:
        text = paths.log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return pytest_refusal(text)


def pytest_refusal(text: str) -> str | None:
    """The line of pytest's output that says why it refused to run, if any.

    An unknown option gives `ERROR: usage: ...` first and the reason on the next line
    (`...: error: unrecognized arguments: --x`): the reason, not the usage line.
    """
    lines = text.splitlines()
    for line in lines:
        _, marker, reason = line.partition(": error: ")
        if marker and not line.startswith("ERROR: "):
            return reason.strip()
    errors = [ln.removeprefix("ERROR: ") for ln in lines
              if ln.startswith("ERROR: ") and not ln.startswith("ERROR: usage:")]
    return errors[0] if errors else None


PREFLIGHT_TIMEOUT_S: Final = 120.0


@dataclass(frozen=True)
class Preflight:
    """What a collect-only pass says of a selection before any lab starts."""

    status: int
    refusal: str | None
    tests: tuple[str, ...] = ()


def preflight(selection: Sequence[str], *, devices: Path) -> Preflight:
    """Collect `selection` (pytest arguments) without running anything or starting the
    lab: a selection that matches nothing, or arguments pytest refuses, are told in one
    line before the lab and the workers start for nothing."""
    command = [sys.executable, "-m", "pytest", *selection, "--devices", str(devices),
               "--collect-only", "-q", "-p", "no:cacheprovider"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False,
                              timeout=PREFLIGHT_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return Preflight(2, f"collecting the tests took more than {PREFLIGHT_TIMEOUT_S:g} s")
    refusal = pytest_refusal(done.stdout + "\n" + done.stderr) if done.returncode else None
    tests = tuple(ln for ln in done.stdout.splitlines() if "::" in ln and ln[:1].isalnum())
    return Preflight(done.returncode, refusal, tests)


def _counter_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or "-"


def summary_table(records: list[OutcomeRecord]) -> Table:
    """Outcomes per product line and firmware: passed, failed by kind, skipped with reason."""
    table = Table(title="Outcomes per product line and firmware", show_lines=False)
    table.add_column("line")
    table.add_column("firmware")
    table.add_column("devices", justify="right")
    table.add_column("passed", justify="right", style="green")
    table.add_column("failed (by kind)", style="red")
    table.add_column("skipped (reason)", style="yellow")
    for row in summarize(records):
        table.add_row(
            row.line,
            row.firmware,
            str(len(row.devices)),
            str(row.passed),
            _counter_text(dict(row.failed)),
            _counter_text(dict(row.skipped)),
        )
    return table


def device_matrix(
    inventory: Inventory,
    path: Path,
    chosen: Sequence[AnyDevice],
    *,
    workdir: Path,
    subset: Path,
) -> tuple[Path, list[str]]:
    """The inventory file and the pytest arguments that run the matrix on `chosen` only.

    A lab of this inventory already running in `workdir` (`hil lab up`) is reused, its
    matrix narrowed by `--lab-device` (exact names); otherwise the run gets an inventory of
    just those devices (`subset`), so the lab starts nothing else.
    """
    names = [d.name for d in chosen]
    narrow = [arg for name in names for arg in ("--lab-device", name)]
    running = lab_status(workdir)
    if running is not None and running.inventory_digest == inventory.digest():
        return path, narrow
    return write_subset_inventory(path, names, subset), narrow


def finished_records(paths: RunPaths) -> list[OutcomeRecord]:
    """The merged records of the run in `paths`."""
    return read_records(paths.records)
