"""What goes wrong when talking to a device, typed: its error answers and the transport's.

`IsapiError` is a ResponseStatus (XML or JSON, docs/device-api.md "General"),
`LoginRejected` a 401 `userCheck` that judged a password. A transport failure becomes a
one-line `DeviceError` or `InfrastructureError` naming the address (`connection_error`),
so that `harness.errors.retry` and the reports classify it without a traceback.
"""

from __future__ import annotations

import socket
import ssl

import httpx

from harness.errors import DeviceError, InfrastructureError


class IsapiError(Exception):
    """A device answered a call with an error ResponseStatus (XML or JSON form, §9).

    Not a failure kind of its own: a suite that expects the error asserts on its fields;
    one that did not expect it lets it fail the test.
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


def connection_error(base_url: str, method: str, path: str, exc: httpx.HTTPError) -> Exception:
    """A transport failure as a one-line failure of the right kind, naming the address."""
    error = _classify(f"{method} {base_url}{path}", exc)
    return type(error)(" ".join(str(error).split()))


def _classify(what: str, exc: httpx.HTTPError) -> Exception:
    cause = exc.__cause__ or exc.__context__
    if isinstance(exc, httpx.ConnectError):
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
    return DeviceError(f"{what}: {type(exc).__name__}: {exc}")
