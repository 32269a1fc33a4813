"""Long waits say what they wait for and until when, so a run can show a countdown.

A wait for a code mail, a device's boot or a device lease can take minutes; `hil run`'s
progress shows which test waits for what and how long it may still wait. The library
only announces (`waiting(...)` around the wait); whoever listens decides what to do with
it (the run-record plugin writes it where `hil run` reads it). Nobody listening costs
nothing.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Wait:
    """One wait under way: what for, and the wall-clock times it began and gives up."""

    what: str
    started: float
    deadline: float

    def left(self, now: float) -> float:
        """Seconds until the wait gives up (0 once past its deadline)."""
        return max(0.0, self.deadline - now)


Listener = Callable[[Wait | None], None]

_lock = threading.Lock()
_listeners: list[Listener] = []
_current: list[Wait] = []


def add_listener(listener: Listener) -> None:
    """Call `listener` with the innermost wait whenever it changes (None: no wait)."""
    with _lock:
        _listeners.append(listener)


def remove_listener(listener: Listener) -> None:
    """Stop calling `listener`."""
    with _lock:
        if listener in _listeners:
            _listeners.remove(listener)


def _announce() -> None:
    with _lock:
        listeners = list(_listeners)
        top = _current[-1] if _current else None
    for listener in listeners:
        # A listener's failure must never fail the wait (nor the test) it reports on.
        with contextlib.suppress(Exception):
            listener(top)


@contextmanager
def waiting(what: str, timeout: float) -> Iterator[None]:
    """Announce a wait for `what` that gives up after `timeout` seconds, for its duration."""
    if not _listeners:
        yield
        return
    now = time.time()
    wait = Wait(what=what, started=now, deadline=now + max(0.0, timeout))
    with _lock:
        _current.append(wait)
    _announce()
    try:
        yield
    finally:
        with _lock:
            if wait in _current:
                _current.remove(wait)
        _announce()


def wait_until(
    check: Callable[[], T], timeout: float, what: str, *, interval: float = 0.1
) -> T | None:
    """Call `check` until it returns something true, for at most `timeout` seconds (at
    least once); its first true result, or None when time ran out.

    The one deadline loop of the harness: the caller raises its own error kind on None
    (a lab that did not start is infrastructure, a device that did not boot is the
    device's), naming `what` it waited for. The wait is announced (`waiting`) meanwhile.
    An exception from `check` ends the wait: a process found dead need not be waited for.
    """
    deadline = time.monotonic() + max(0.0, timeout)
    with waiting(what, timeout):
        while True:
            result = check()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            time.sleep(min(interval, remaining))


def in_thread(work: Callable[[], T], name: str) -> Future[T]:
    """`work()` in a daemon thread named `name`, started now; its result, or what it
    raised, in the returned future. For work done beside another wait (a bring-up while the
    browser starts, the probe's unauthenticated question beside its login). Daemon: work
    whose waiter was interrupted never holds up the process's exit.
    """
    outcome: Future[T] = Future()

    def run() -> None:
        try:
            outcome.set_result(work())
        except BaseException as exc:  # handed to whoever waits for the future
            outcome.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return outcome
