"""The attended phone step (cloud kind `attended`, formerly `manual`): a person scans the
device's QR with the vendor's app while the test waits for the code mail.

The QR must reach the person although pytest captures the test's output. With a terminal
(`/dev/tty`, which pytest's capture does not touch) the QR is drawn there and a countdown
thread ticks to the deadline, writing to `/dev/tty` only. Without one (a CI runner), the
QR and the deadline are written once, on the test's own thread, to the interpreter's
original stderr with pytest's capture suspended (`set_terminal_guard`): the capture
manager is not thread-safe, so no other thread ever suspends it, and nothing ticks.
"""

from __future__ import annotations

import io
import os
import sys
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TextIO

import segno

from harness.clients.cloud import DEFAULT_APP_VERSION, CodeRequest, qr_picture
from harness.clients.qr import decode_qr
from harness.errors import HarnessError

TTY = "/dev/tty"

_terminal_guard: Callable[[], AbstractContextManager[object]] = nullcontext


def set_terminal_guard(guard: Callable[[], AbstractContextManager[object]]) -> None:
    """Where there is no terminal, what the attended prompt is written inside: the pytest
    plugin passes its capture manager's "capture off" (fixtures/lab.py)."""
    global _terminal_guard
    _terminal_guard = guard


class Terminal:
    """The person's terminal: `/dev/tty` when the process has one, else the interpreter's
    original stderr inside the terminal guard (the caller's thread only)."""

    def __init__(self, tty: str = TTY) -> None:
        self.tty = tty

    def has_tty(self) -> bool:
        """Whether a terminal can be written without going through pytest's capture."""
        try:
            with open(self.tty, "a", encoding="utf-8"):
                return True
        except OSError:
            return False

    def write_tty(self, text: str) -> bool:
        """Write `text` to the terminal only (safe from any thread); False without one."""
        try:
            with open(self.tty, "a", encoding="utf-8") as tty:  # "a": a file may stand in
                tty.write(text)
                tty.flush()
                return True
        except OSError:
            return False

    def write(self, text: str) -> None:
        """Write `text` where the person sees it. Call it on the test's thread: without a
        terminal it suspends pytest's capture around the write."""
        if self.write_tty(text):
            return
        stream: TextIO | None = sys.__stderr__
        if stream is None:
            return
        with _terminal_guard():
            stream.write(text)
            stream.flush()


def qr_on_terminal(qr_text: str) -> str:
    """The QR drawn with block characters (two modules a character row), for a terminal."""
    out = io.StringIO()
    segno.make_qr(qr_text, error="m").terminal(out=out, compact=True, border=2)
    return out.getvalue()


class _Countdown:
    """A line on the terminal counting down to the deadline, once a second, until
    `stop()`. It writes to the terminal only (`write_tty`), never through pytest."""

    def __init__(self, terminal: Terminal, deadline_s: float, what: str) -> None:
        self.terminal = terminal
        self.deadline = time.monotonic() + deadline_s
        self.what = what
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="attended-countdown",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            left = max(0, int(self.deadline - time.monotonic() + 0.5))
            if not self.terminal.write_tty(f"\r{self.what}: {left // 60:d}:{left % 60:02d} left "):
                return  # the terminal went away: nothing more to show
            if left == 0 or self._stop.wait(1.0):
                break
        self.terminal.write_tty("\n")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


class AttendedPhoneApp:
    """A person scans the QR with the vendor's app (cloud kind `attended`).

    `request_code` saves the picture under `qr_dir` and draws the QR on the person's
    terminal with what to do; with a terminal it counts down to the deadline until
    `CodeRequest.done()`, without one it says the deadline once. The test waits for the
    code mail as it would with any cloud, at least `timeout_s`.
    """

    def __init__(self, qr_dir: Path, *, timeout_s: float = 600.0,
                 terminal: Terminal | None = None) -> None:
        self.qr_dir = qr_dir
        self.timeout_s = timeout_s
        self.terminal = terminal if terminal is not None else Terminal()

    def scan(self, png: bytes) -> str:
        """Decode the QR, to be sure the person is shown a readable one."""
        return decode_qr(png)

    def save(self, png: bytes) -> Path:
        """The picture as `<qr_dir>/reset-qr-<time>-<pid>-<n>.png`."""
        self.qr_dir.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        for number in range(1000):
            path = self.qr_dir / f"reset-qr-{stamp}-{os.getpid()}-{number}.png"
            try:
                with path.open("xb") as handle:
                    handle.write(png)
                return path
            except FileExistsError:
                continue
        raise HarnessError(f"cannot name a new QR picture in {self.qr_dir}")

    def request_code(self, qr_text: str, png: bytes | None = None) -> CodeRequest:
        """Show the QR to the person (terminal and PNG) and the deadline; sends nothing."""
        path = self.save(png if png is not None else qr_picture(qr_text))
        prompt = (
            "\n" + qr_on_terminal(qr_text)
            + f"Scan this QR (also saved as {path}) with the vendor's phone app "
              f"({DEFAULT_APP_VERSION} or later): Reset Device Password. The code is mailed "
              f"to the reserved address; the test reads it.\n"
        )
        what = "waiting for the code mail"
        if self.terminal.has_tty():
            self.terminal.write_tty(prompt)
            countdown = _Countdown(self.terminal, self.timeout_s, what)
            done = countdown.stop
        else:
            until = time.strftime("%H:%M:%S", time.localtime(time.time() + self.timeout_s))
            left = int(self.timeout_s)
            self.terminal.write(prompt + f"{what} until {until} ({left // 60:d}:{left % 60:02d}"
                                         " from now)\n")
            done = _nothing
        return CodeRequest(serial=None, manual=True, wait_s=self.timeout_s, done=done)


def _nothing() -> None:
    return None


# `manual` was the attended kind's first name.
ManualPhoneApp = AttendedPhoneApp
