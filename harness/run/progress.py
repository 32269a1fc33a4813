"""What a run under way shows, from its outcome records and its workers' activity.

On a terminal: a live view, the progress bar and a line per worker with its test and,
while it waits for a mail, a boot or a lease, the time that wait may still take, counted
down. Elsewhere (CI logs, pipes), plain lines a log keeps: one per finished test
(outcome, test, device, duration) and, when nothing finished for a while, a line saying
what each worker is doing, so a log never stays silent for long.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from rich.console import Group, RenderableType
from rich.progress import Progress
from rich.text import Text

from harness.run.records import Activity, OutcomeRecord

# A log gets a line at least this often while tests run (the CI's "still alive").
HEARTBEAT_S: Final = 60.0
FAILED: Final = ("failed", "error", "xpassed")


def duration(seconds: float) -> str:
    """`4.2 s`, `1m05s`, `2h03m`: short and unambiguous in a log line."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def counts(records: Sequence[OutcomeRecord]) -> tuple[int, int, int]:
    """Passed, failed (failures, errors, unexpected passes) and skipped records."""
    passed = sum(r.passed for r in records)
    failed = sum(r.outcome in FAILED for r in records)
    return passed, failed, len(records) - passed - failed


def describe(record: OutcomeRecord) -> str:
    """One finished test: outcome (and failure kind), device, duration, test, reason."""
    where = f" on {record.device}" if record.device else ""
    kind = f" ({record.kind})" if record.kind else ""
    reason = f": {record.reason}" if record.reason else ""
    took = f" in {duration(record.duration_s)}"
    return f"{record.outcome.upper()}{kind}{where}{took}: {record.nodeid}{reason}"


def _test_name(nodeid: str) -> str:
    return nodeid.rsplit("::", 1)[-1]


def activity_text(activity: Activity, now: float) -> str:
    """A worker's test and how long it has run; its wait with the time left, if any."""
    if activity.nodeid is None:
        return f"{activity.worker}: between tests"
    where = f" on {activity.device}" if activity.device else ""
    text = (f"{activity.worker}: {_test_name(activity.nodeid)}{where} "
            f"for {duration(max(0.0, now - activity.started))}")
    if activity.wait is not None and activity.wait_deadline is not None:
        left = max(0.0, activity.wait_deadline - now)
        text += f", waiting for {activity.wait} ({duration(left)} left)"
    return text


def _key(record: OutcomeRecord) -> tuple[str, str, float]:
    return (record.worker, record.nodeid, record.finished)


@dataclass
class PlainProgress:
    """The lines a log gets: what finished since the last call, else a heartbeat."""

    title: str
    started: float
    every: float = HEARTBEAT_S
    _said: float = 0.0
    _collected_said: bool = False
    _seen: set[tuple[str, str, float]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._said = self.started

    def update(
        self,
        now: float,
        records: Sequence[OutcomeRecord],
        collected: int | None,
        activity: Sequence[Activity],
    ) -> list[str]:
        """The lines to print now for `records` so far (every worker's, in any order)."""
        lines: list[str] = []
        if collected is not None and not self._collected_said:
            self._collected_said = True
            lines.append(f"{self.title}: {collected} tests collected")
        # Workers append to their own files: a record is new by identity, not position.
        new = sorted((r for r in records if _key(r) not in self._seen),
                     key=lambda r: (r.finished, r.nodeid))
        total = collected if collected is not None else "?"
        done = len(records) - len(new)
        for record in new:
            self._seen.add(_key(record))
            done += 1
            lines.append(f"[{done}/{total}] {describe(record)}")
        if lines:
            self._said = now
        elif now - self._said >= self.every:
            self._said = now
            lines.append(self.heartbeat(now, records, collected, activity))
        return lines

    def heartbeat(
        self,
        now: float,
        records: Sequence[OutcomeRecord],
        collected: int | None,
        activity: Sequence[Activity],
    ) -> str:
        """Where the run stands and what each busy worker does."""
        passed, failed, skipped = counts(records)
        total = collected if collected is not None else "?"
        busy = [activity_text(a, now) for a in activity if a.nodeid is not None]
        state = "; ".join(busy) if busy else (
            "starting (lab, collection)" if collected is None else "no test running")
        return (f"... {len(records)}/{total} finished ({passed} passed, {failed} failed, "
                f"{skipped} skipped), {duration(now - self.started)} elapsed; {state}")


@dataclass
class LiveView:
    """The terminal's view: the progress bar, then a line per busy worker, recomputed at
    every refresh so that a wait's time left counts down between polls."""

    progress: Progress
    activity: list[Activity] = field(default_factory=list)

    def __rich__(self) -> RenderableType:
        now = time.time()
        lines = [Text(f"  {activity_text(a, now)}", style="dim" if a.wait is None else "cyan",
                      overflow="ellipsis", no_wrap=True)
                 for a in self.activity if a.nodeid is not None]
        return Group(self.progress, *lines)
