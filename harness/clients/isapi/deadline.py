"""A total deadline per HTTP request, over httpx's per-operation timeouts.

Why: httpx's timeouts bound each connect, read and write, not a request. A peer that sends
one byte every 2 s satisfies every 5 s read timeout and holds a request (and `hil devices
probe`, `hil gate`) for ever. Here every socket operation of a request gets at most the
time left until the request's deadline, and none starts once it has passed; a TLS
handshake, which reads many times under one timeout, is cut by a watchdog at the deadline.

The deadline is set around one request with `total_deadline` (a context variable, so the
heartbeat thread and the test thread of one client each keep their own) and read by the
network stream the connection pool uses (`deadline_transport`).
"""

from __future__ import annotations

import contextlib
import contextvars
import socket
import ssl
import threading
import time
import typing
from collections.abc import Iterator

import httpcore
import httpx

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "hil_request_deadline", default=None
)


class DeadlinePassed(httpcore.ReadTimeout):
    """The request's total deadline passed before its answer was complete."""


@contextlib.contextmanager
def total_deadline(seconds: float) -> Iterator[float]:
    """Bound every socket operation of the requests inside to end within `seconds` from
    now; yields the deadline (a `time.monotonic()` instant)."""
    deadline = time.monotonic() + seconds
    token = _DEADLINE.set(deadline)
    try:
        yield deadline
    finally:
        _DEADLINE.reset(token)


def _remaining(timeout: float | None) -> float | None:
    """`timeout` shortened to the time left before the deadline; raises once it passed."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeadlinePassed("the request's total deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection's stream whose every operation ends by the current request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _remaining(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _remaining(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        limit = _remaining(timeout)
        raw = self._inner.get_extra_info("socket")
        # The handshake reads many records under one socket timeout: a dripping peer gets
        # through each read. Shutting the socket down at the deadline ends it.
        watchdog = threading.Timer(limit, _shutdown, args=(raw,)) if limit else None
        if watchdog is not None:
            watchdog.daemon = True
            watchdog.start()
        try:
            return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, limit))
        finally:
            if watchdog is not None:
                watchdog.cancel()

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


def _shutdown(sock: object) -> None:
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's blocking backend, its streams bounded by the request's deadline."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host, port, _remaining(timeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(path, _remaining(timeout), socket_options)
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def deadline_transport(ssl_context: ssl.SSLContext) -> httpx.HTTPTransport:
    """An httpx transport, no proxy, whose requests end by their `total_deadline`.

    No proxy from the environment: a device is reached directly, as a tester reaches
    hardware, and a proxy's connection would not be bounded.
    """
    transport = httpx.HTTPTransport(verify=ssl_context, trust_env=False)
    limits = httpx.Limits()
    # httpx offers no way to pass a network backend; its pool is replaced by an equal one
    # that has ours (same TLS context and limits as httpx's defaults).
    transport._pool = httpcore.ConnectionPool(
        ssl_context=ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=_DeadlineBackend(),
    )
    return transport
