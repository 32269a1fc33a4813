"""A session login's keep-alive: `PUT /ISAPI/Security/sessionHeartbeat` on a timer.

A device drops a session that saw no request for its session timeout (120 s by default);
the web GUI beats at once after login and every 30 s, and gives up after six failed
beats (§10). `Heartbeat` does the same in a daemon thread for as long as the client holds
the session; logout and close stop it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

HEARTBEAT_INTERVAL_S: Final = 30.0
MAX_FAILED_BEATS: Final = 6


@dataclass(frozen=True)
class Session:
    """A session login (§5): its ID, version and the `WebSession_*` cookie now sent."""

    session_id: str
    cookie_name: str
    version: str


class Heartbeat:
    """Calls `beat` at once and then every `interval_s` until stopped or six beats in a row
    failed. `failures` and `last_error` say how it went (for tests and evidence)."""

    def __init__(self, beat: Callable[[], object], interval_s: float, *, name: str) -> None:
        self.interval_s = interval_s
        self.beats = 0
        self.failures = 0
        self.last_error: str | None = None
        self._beat = beat
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Heartbeat:
        """Start beating; returns self."""
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        """Whether the timer still runs (False once stopped or given up)."""
        return self._thread.is_alive()

    def _run(self) -> None:
        wait = 0.0
        while not self._stop.wait(wait):
            wait = self.interval_s
            try:
                self._beat()
            except Exception as exc:  # any failure counts; the session may be gone
                self.failures += 1
                self.last_error = str(exc)
                if self.failures >= MAX_FAILED_BEATS:
                    return
            else:
                self.beats += 1
                self.failures = 0

    def stop(self, timeout: float) -> None:
        """Stop beating and wait up to `timeout` s for a beat in flight to end."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
