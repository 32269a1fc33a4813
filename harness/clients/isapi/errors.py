"""What goes wrong when talking to a device, typed: its error answers and the transport's.

`IsapiError` is a ResponseStatus (XML or JSON, docs/device-api.md "General"),
`LoginRejected` a 401 `userCheck` that judged a password: a device's answers, product
defects where the spec expects otherwise (harness.errors.FAILURE_TABLE). An answer that is
not a device's (`NotADeviceAnswer`) and a transport failure become a one-line
`InfrastructureError` or `DeviceError` naming the address (`connection_error`), so that
`harness.errors.retry`, the gate and the reports classify it without a traceback.
"""

from __future__ import annotations

import socket
import ssl
from typing import Final

import httpx

from harness.clients.tls import PinMismatch
from harness.errors import DeviceError, InfrastructureError

# How much of an answer that is not a device's an error message quotes.
QUOTE_CHARS: Final = 80
# The longest one-line transport failure (the address and what was seen).
MESSAGE_CHARS: Final = 240


class IsapiError(Exception):
    """A device answered a call with an error ResponseStatus (XML or JSON form, §9).

    A product defect when it fails a test (success was due); a suite that expects the error
    catches it and asserts on its fields.
    """

    def __init__(
        self,
        *,
        method: str,
        url: str,
        http_status: int,
        status_code: int | None,
        status_string: str,
        sub_status_code: str,
        retry_times: int | None = None,
        error_code: int | None = None,
    ) -> None:
        self.method = method
        self.url = url
        self.http_status = http_status
        self.status_code = status_code
        self.status_string = status_string
        self.sub_status_code = sub_status_code
        self.retry_times = retry_times
        self.error_code = error_code
        left = "" if retry_times is None else f", {retry_times} attempts left"
        super().__init__(
            f"{method} {url} answered {http_status}: statusCode {status_code} "
            f"{sub_status_code or status_string or '(no subStatusCode)'}{left}"
        )


class LoginRejected(Exception):
    """The device refused the password (401 `userCheck`, §5): wrong, or the client is locked.

    A product defect when it fails a test (the password was the one the lab knows).
    Carries `during_login` so that `harness.errors.retry` never repeats it.
    """

    during_login = True

    def __init__(
        self, *, url: str, attempts_left: int | None, locked: bool, unlock_time_s: int
    ) -> None:
        self.url = url
        self.attempts_left = attempts_left
        self.locked = locked
        self.unlock_time_s = unlock_time_s
        state = (
            f"locked for {unlock_time_s} s"
            if locked
            else f"{attempts_left if attempts_left is not None else 'unknown'} attempts left"
        )
        super().__init__(f"{url} refused the admin password ({state})")


class NotADeviceAnswer(InfrastructureError):
    """An answer no device gives (§9): an HTTP error without a ResponseStatus, a proxy's
    page, bytes that are neither XML nor JSON. No verdict on the firmware: something
    between the lab and the device answered, or the device's web service is broken."""


class DeadlineExceeded(InfrastructureError):
    """A request got no complete answer within its total deadline (e.g. a dripping peer)."""


def quote(body: bytes | str) -> str:
    """The start of an answer, on one line and bounded, for an error message."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    flat = " ".join(text.split())
    return repr(flat[:QUOTE_CHARS] + ("…" if len(flat) > QUOTE_CHARS else ""))


def connection_error(base_url: str, method: str, path: str, exc: httpx.HTTPError) -> Exception:
    """A transport failure as a one-line failure of the right kind, naming the address."""
    error = _classify(f"{method} {base_url}{path}", exc)
    if _pin_mismatch(exc) is not None:
        return error  # our own words and two hashes: bounded, and both pins must show
    line = " ".join(str(error).split())
    # What the socket library says may quote what the peer sent: bounded.
    return type(error)(line if len(line) <= MESSAGE_CHARS else line[: MESSAGE_CHARS - 1] + "…")


def _classify(what: str, exc: httpx.HTTPError) -> Exception:
    cause = exc.__cause__ or exc.__context__
    if isinstance(exc, httpx.ConnectError):
        pin = _pin_mismatch(exc)
        if pin is not None:
            return InfrastructureError(f"{what}: {pin}")
        if isinstance(cause, ssl.SSLError) or "CERTIFICATE" in str(exc).upper():
            return InfrastructureError(
                f"{what}: TLS verification failed ({exc}); check the lab's CA file"
            )
        if isinstance(cause, ConnectionRefusedError) or "refused" in str(exc).lower():
            return DeviceError(f"{what}: connection refused (device down or booting?)")
        if isinstance(cause, socket.gaierror):
            return InfrastructureError(f"{what}: address does not resolve ({exc})")
        return InfrastructureError(f"{what}: cannot connect ({exc or type(exc).__name__})")
    if isinstance(exc, httpx.ConnectTimeout):
        return InfrastructureError(f"{what}: no connection within the timeout")
    if isinstance(exc, httpx.TimeoutException):
        return DeviceError(f"{what}: no answer within the timeout")
    if isinstance(exc, httpx.RemoteProtocolError):
        if "disconnected" in str(exc).lower():
            return InfrastructureError(f"{what}: connection closed without an answer")
        # Whatever spoke there does not speak HTTP: not a device's answer.
        return NotADeviceAnswer(f"{what}: answered something that is not HTTP ({exc})")
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return InfrastructureError(f"{what}: connection broken ({exc or type(exc).__name__})")
    return DeviceError(f"{what}: {type(exc).__name__}: {exc}")


def _pin_mismatch(exc: BaseException) -> PinMismatch | None:
    """The pin refusal behind a connect error (httpx and httpcore each wrap it once)."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None or isinstance(seen, PinMismatch):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
