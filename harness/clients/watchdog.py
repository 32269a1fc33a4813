"""A total deadline for a conversation with a server (IMAP, SMTP): per-read timeouts end a
silent peer, not one that drips its answer a byte at a time within each of them."""

from __future__ import annotations

import contextlib
import socket
import threading


class Watchdog:
    """Shuts a connection's socket down once `seconds` have passed, so that a read blocked
    on a peer that drips its answer (within every per-read timeout) ends."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fired = False
        self._socket: socket.socket | None = None
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        """The socket to shut down (now, if the time is already up)."""
        self._socket = sock
        if self.fired:
            self._fire()

    def reason(self) -> str:
        """Why a read failed, when the watchdog ended it ("" otherwise)."""
        return f" (no complete answer within {self.seconds:g} s)" if self.fired else ""

    def cancel(self) -> None:
        self._timer.cancel()

    def __enter__(self) -> Watchdog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()

    def _fire(self) -> None:
        self.fired = True
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
