"""One JSON line per test outcome, with the device it ran on and the kind of its failure.

`hil run` and `hil gate` turn the records plugin (fixtures/records.py) on with
`--run-records DIR`. Each process (the single pytest process, or every xdist worker) writes
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
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from harness.errors import FailureKind

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


