"""One JSON line per test outcome, with the device it ran on and the kind of its failure.

`hil run` and `hil gate` load this module as a pytest plugin (`-p harness.run.records
--run-records DIR`). Each process (the single pytest process, or every xdist worker) writes
its own `records-<worker>.jsonl` in DIR, one line per finished test, flushed at once so a
watcher can show progress; the controller merges them into `records.jsonl` at the end.

The failure kind is derived from the exception the test raised (`harness.errors.
failure_kind`), in the process that raised it, never from report text: an infrastructure
failure stays an infrastructure failure, and nothing but a passing call phase with clean
setup and teardown is ever recorded as `passed`.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, TextIO

import pytest

from harness.errors import FailureKind, failure_kind
from harness.inventory.model import (
    DEFAULT_INVENTORY,
    AnyDevice,
    Inventory,
    InventoryError,
    load_inventory,
)
from harness.waits import Wait, add_listener, remove_listener

RECORDS_FILE: Final = "records.jsonl"
COLLECTED_FILE: Final = "collected.json"
PART_PREFIX: Final = "records-"
# What each worker is doing now (its test, and the wait it is in), rewritten as it changes.
ACTIVITY_PREFIX: Final = "now-"
REASON_LIMIT: Final = 300

Outcome = Literal["passed", "failed", "error", "skipped", "xfailed", "xpassed"]


@dataclass(frozen=True)
class OutcomeRecord:
    """What happened to one test (one parametrisation) on one device."""

    nodeid: str
    outcome: Outcome
    kind: FailureKind | None = None
    reason: str = ""
    phase: str = "call"
    device: str | None = None
    model: str | None = None
    firmware: str | None = None
    line: str | None = None
    duration_s: float = 0.0
    worker: str = "main"
    finished: float = 0.0

    @property
    def passed(self) -> bool:
        """True only for a clean pass (setup, call and teardown)."""
        return self.outcome == "passed"

    def to_json(self) -> str:
        """The record as one JSON line (no newline)."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OutcomeRecord:
        """A record from its JSON form; unknown keys are ignored (newer writers)."""
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Activity:
    """What one worker does now: its test (None between tests) and the wait it is in."""

    worker: str
    nodeid: str | None = None
    device: str | None = None
    started: float = 0.0
    wait: str | None = None
    wait_started: float | None = None
    wait_deadline: float | None = None

    def to_json(self) -> str:
        """The activity as one JSON document."""
        return json.dumps(asdict(self), sort_keys=True)


# --- reading ---------------------------------------------------------------------------------


def read_activity(directory: Path | str) -> list[Activity]:
    """What every worker of a run under way does now, by worker name."""
    found: list[Activity] = []
    known = set(Activity.__dataclass_fields__)
    for path in sorted(Path(directory).glob(f"{ACTIVITY_PREFIX}*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # gone between glob and read, or replaced under us: next poll
        if isinstance(data, dict):
            found.append(Activity(**{k: v for k, v in data.items() if k in known}))
    return found


def _part_files(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"{PART_PREFIX}*.jsonl"))


def _read_lines(path: Path) -> Iterator[OutcomeRecord]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return
    for line in text.splitlines():
        # A worker killed mid-write leaves a partial last line: skip it, the test has no
        # record and the gate treats a device without a verdict as no verdict.
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict):
            yield OutcomeRecord.from_dict(data)


def read_partial(directory: Path | str) -> list[OutcomeRecord]:
    """The records written so far by every worker (for live progress)."""
    records: list[OutcomeRecord] = []
    for part in _part_files(Path(directory)):
        records.extend(_read_lines(part))
    return records


def merge_records(directory: Path | str) -> Path:
    """Merge the per-worker files of `directory` into `records.jsonl` (by finishing time).

    Idempotent: the merged file is rebuilt from the worker files each time.
    """
    folder = Path(directory)
    records = sorted(read_partial(folder), key=lambda r: (r.finished, r.nodeid))
    target = folder / RECORDS_FILE
    tmp = folder / f".{RECORDS_FILE}.{os.getpid()}.tmp"
    tmp.write_text("".join(r.to_json() + "\n" for r in records), encoding="utf-8")
    os.replace(tmp, target)
    return target


def read_records(directory: Path | str) -> list[OutcomeRecord]:
    """All records of a finished run: the merged file, merged now if it is missing."""
    folder = Path(directory)
    merged = folder / RECORDS_FILE
    if not merged.exists():
        merge_records(folder)
    return list(_read_lines(merged))


def collected_count(directory: Path | str) -> int | None:
    """How many tests the run collected, once pytest has said so."""
    try:
        return int(json.loads((Path(directory) / COLLECTED_FILE).read_text())["count"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def clear_records(directory: Path | str) -> None:
    """Remove the records of an earlier run from `directory` (creating it if needed)."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    activity = list(folder.glob(f"{ACTIVITY_PREFIX}*.json"))
    for old in [*_part_files(folder), *activity, folder / RECORDS_FILE, folder / COLLECTED_FILE]:
        old.unlink(missing_ok=True)


# --- summary ---------------------------------------------------------------------------------


@dataclass
class SummaryRow:
    """Outcomes of one product line at one firmware."""

    line: str
    firmware: str
    passed: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    devices: set[str] = field(default_factory=set)

    @property
    def failed_total(self) -> int:
        """All failures and errors, whatever their kind."""
        return sum(self.failed.values())

    @property
    def skipped_total(self) -> int:
        """All tests that gave no verdict without failing (skips, xfails)."""
        return sum(self.skipped.values())


def summarize(records: Iterable[OutcomeRecord]) -> list[SummaryRow]:
    """Records grouped per product line and firmware, sorted by line then firmware."""
    rows: dict[tuple[str, str], SummaryRow] = {}
    for record in records:
        key = (record.line or "(no device)", record.firmware or "-")
        row = rows.setdefault(key, SummaryRow(line=key[0], firmware=key[1]))
        if record.device:
            row.devices.add(record.device)
        if record.outcome == "passed":
            row.passed += 1
        elif record.outcome in ("failed", "error", "xpassed"):
            row.failed[record.kind or "harness"] += 1
        else:
            row.skipped[record.reason or record.outcome] += 1
    return [rows[key] for key in sorted(rows)]


# --- the pytest plugin -------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hil run records")
    group.addoption(
        "--run-records",
        metavar="DIR",
        default=None,
        help="write one JSON line per test outcome (device, firmware, failure kind) into DIR",
    )


def _worker_id(config: pytest.Config) -> str:
    workerinput = getattr(config, "workerinput", None)
    if isinstance(workerinput, dict):
        return str(workerinput.get("workerid", "gw"))
    return "main"


def _inventory_of(config: pytest.Config) -> Inventory | None:
    # `--devices` is the suites layer's option; the default inventory otherwise.
    try:
        path = config.getoption("devices", default=None)
    except ValueError:
        path = None
    try:
        return load_inventory(path or DEFAULT_INVENTORY)
    except InventoryError:
        return None


def _device_of(item: pytest.Item, inventory: Inventory | None) -> AnyDevice | str | None:
    """The inventory device a test ran on: from `user_properties` ("device", name) if the
    suites layer sets it, else from the parameters (a device name, or an object with a
    `name` or `device.name`), else from the parametrisation id."""
    names = {d.name: d for d in inventory.devices} if inventory else {}
    for key, value in getattr(item, "user_properties", ()):
        if key == "device" and isinstance(value, str):
            return names.get(value, value)
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    for value in callspec.params.values():
        for candidate in (value, getattr(value, "name", None), getattr(value, "device", None)):
            name = candidate if isinstance(candidate, str) else getattr(candidate, "name", None)
            if isinstance(name, str) and name in names:
                return names[name]
    # Parametrisation ids name the device first: longest known name that the id holds.
    ident = str(getattr(callspec, "id", ""))
    hits = [n for n in names if n in ident]
    return names[max(hits, key=len)] if hits else None


def _first_line(text: str) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line[:REASON_LIMIT]


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return _first_line(str(longrepr[2]).removeprefix("Skipped: "))
    return _first_line(str(longrepr or "skipped"))


@dataclass
class _Pending:
    outcome: Outcome = "passed"
    kind: FailureKind | None = None
    reason: str = ""
    phase: str = "call"
    duration: float = 0.0


class RunRecorder:
    """Collects the phases of each test and writes its record after teardown."""

    def __init__(self, config: pytest.Config, directory: Path) -> None:
        self.directory = directory
        self.worker = _worker_id(config)
        self.inventory = _inventory_of(config)
        self.directory.mkdir(parents=True, exist_ok=True)
        # Opened at the first record: an xdist controller runs no test and writes no file.
        self._file: TextIO | None = None
        self._pending: dict[str, _Pending] = {}
        self._activity = Activity(worker=self.worker)
        self._activity_file = self.directory / f"{ACTIVITY_PREFIX}{self.worker}.json"

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._activity_file.unlink(missing_ok=True)

    def test_started(self, item: pytest.Item) -> None:
        """Note the test this worker runs now (for the progress view)."""
        device = _device_of(item, self.inventory)
        name = device if isinstance(device, str) or device is None else device.name
        self._set_activity(Activity(worker=self.worker, nodeid=item.nodeid, device=name,
                                    started=time.time()))

    def test_finished(self) -> None:
        """Note that this worker is between tests."""
        self._set_activity(Activity(worker=self.worker))

    def on_wait(self, wait: Wait | None) -> None:
        """`harness.waits` listener: the wait the current test is in, or none."""
        current = self._activity
        self._set_activity(Activity(
            worker=current.worker, nodeid=current.nodeid, device=current.device,
            started=current.started, wait=wait.what if wait else None,
            wait_started=wait.started if wait else None,
            wait_deadline=wait.deadline if wait else None,
        ))

    def _set_activity(self, activity: Activity) -> None:
        self._activity = activity
        # Replaced whole, so a reader never sees half a document.
        tmp = self._activity_file.with_name(f".{self._activity_file.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(activity.to_json(), encoding="utf-8")
            os.replace(tmp, self._activity_file)
        except OSError:
            pass  # progress is a courtesy: never fail a test over it

    def observe(
        self, item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport
    ) -> None:
        state = self._pending.setdefault(item.nodeid, _Pending())
        state.duration += report.duration
        # The first phase that did not pass decides; later phases cannot turn it into a pass.
        if state.outcome == "passed":
            self._judge(state, call, report)
        if report.when == "teardown":
            self._write(item, self._pending.pop(item.nodeid))

    def _judge(
        self, state: _Pending, call: pytest.CallInfo[None], report: pytest.TestReport
    ) -> None:
        wasxfail = getattr(report, "wasxfail", None)
        if report.skipped:
            state.outcome = "xfailed" if wasxfail is not None else "skipped"
            state.reason = _first_line(str(wasxfail)) if wasxfail else _skip_reason(report)
            state.phase = report.when
        elif report.failed:
            state.outcome = "failed" if report.when == "call" else "error"
            state.phase = report.when
            exc = call.excinfo.value if call.excinfo is not None else None
            # No exception object (a report failed by a plugin): our side, never a pass.
            state.kind = failure_kind(exc) if exc is not None else "harness"
            state.reason = _first_line(str(exc)) if exc is not None else "failed"
            if not state.reason and exc is not None:
                state.reason = type(exc).__name__
        elif report.when == "call" and wasxfail is not None:
            # xfail(strict=False) that passed: not a clean pass of the product either.
            state.outcome = "xpassed"
            state.kind = "harness"
            state.reason = _first_line(f"unexpectedly passed: {wasxfail}")
            state.phase = report.when

    def _write(self, item: pytest.Item, state: _Pending) -> None:
        device = _device_of(item, self.inventory)
        name: str | None
        if isinstance(device, str) or device is None:
            name, model, firmware, line = device, None, None, None
        else:
            name, model, firmware = device.name, device.model, device.firmware
            line = device.line.id.value
        record = OutcomeRecord(
            nodeid=item.nodeid,
            outcome=state.outcome,
            kind=state.kind,
            reason=state.reason,
            phase=state.phase,
            device=name,
            model=model,
            firmware=firmware,
            line=line,
            duration_s=round(state.duration, 3),
            worker=self.worker,
            finished=time.time(),
        )
        if self._file is None:
            part = self.directory / f"{PART_PREFIX}{self.worker}.jsonl"
            self._file = part.open("a", encoding="utf-8")
        self._file.write(record.to_json() + "\n")
        self._file.flush()


_RECORDER_KEY = pytest.StashKey[RunRecorder]()


def _directory(config: pytest.Config) -> Path | None:
    value = config.getoption("run_records", default=None)
    return Path(value).resolve() if value else None


def _is_controller(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    directory = _directory(config)
    if directory is None:
        return
    if _is_controller(config):
        clear_records(directory)
    recorder = RunRecorder(config, directory)
    config.stash[_RECORDER_KEY] = recorder
    add_listener(recorder.on_wait)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    recorder = item.config.stash.get(_RECORDER_KEY, None)
    if recorder is not None:
        recorder.test_started(item)
    yield
    if recorder is not None:
        recorder.test_finished()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    recorder = item.config.stash.get(_RECORDER_KEY, None)
    if recorder is not None:
        report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
        recorder.observe(item, call, report)


def _write_collected(config: pytest.Config, count: int) -> None:
    directory = _directory(config)
    if directory is not None:
        (directory / COLLECTED_FILE).write_text(json.dumps({"count": count}))


def pytest_collection_finish(session: pytest.Session) -> None:
    if _is_controller(session.config):
        _write_collected(session.config, len(session.items))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    # Every worker collects the whole run; each reports the same count.
    _write_collected(node.config, len(ids))


def pytest_unconfigure(config: pytest.Config) -> None:
    recorder = config.stash.get(_RECORDER_KEY, None)
    if recorder is None:
        return
    remove_listener(recorder.on_wait)
    recorder.close()
    if _is_controller(config):
        merge_records(recorder.directory)
