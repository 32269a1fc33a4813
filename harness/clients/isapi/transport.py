"""The wire under `IsapiClient`: one HTTP(S) connection pool to a device, every exchange
recorded (masked) as evidence, and error answers turned into typed exceptions.

Every request has a total deadline (its timeout, over all of its reads and writes and
Digest's two round trips: `harness.clients.isapi.deadline`); a transport failure is a one-line
`DeviceError` or `InfrastructureError` naming the address; a 401 or an error
ResponseStatus becomes `LoginRejected` or `IsapiError` (a device's answer), and an answer
no device gives (an HTTP error without a ResponseStatus, a proxy's page, garbage) becomes
`NotADeviceAnswer` (infrastructure: no verdict). Nothing is retried here.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Final, TypedDict

import httpx

from harness.clients.isapi import documents as doc
from harness.clients.isapi.deadline import deadline_transport, total_deadline
from harness.clients.isapi.digest import DeviceDigestAuth
from harness.clients.isapi.errors import (
    DeadlineExceeded,
    LoginRejected,
    NotADeviceAnswer,
    connection_error,
    quote,
)
from harness.clients.isapi.session import Session
from harness.clients.tls import TlsTrust, tls_context
from harness.errors import HarnessError, ProductDefect
from harness.evidence import ExchangeLog, Secrets

# Answers are small; a device that takes longer than this for one call is not healthy.
# It bounds each call as a whole (every read, write and Digest round trip of it).
DEFAULT_TIMEOUT_S: Final = 10.0


class TransportOptions(TypedDict, total=False):
    """How an `IsapiTransport` (and so an `IsapiClient`) reaches its device, beyond the URL."""

    verify: bool | str | Path | TlsTrust
    timeout: float
    log: ExchangeLog | None
    secrets: Secrets | None


class IsapiTransport:
    """A device's base URL, its connection pool and evidence; the credentials in use
    (`_digest`, or the `_session` whose cookie the pool holds) are set by the client."""

    def __init__(
        self,
        base_url: str,
        *,
        verify: bool | str | Path | TlsTrust = True,
        timeout: float = DEFAULT_TIMEOUT_S,
        log: ExchangeLog | None = None,
        secrets: Secrets | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.secrets = secrets if secrets is not None else (log.secrets if log else Secrets())
        self.log = log if log is not None else ExchangeLog(secrets=self.secrets)
        self._http = httpx.Client(
            base_url=self.base_url,
            transport=deadline_transport(tls_context(verify)),
            trust_env=False,
            timeout=httpx.Timeout(timeout),
            event_hooks={"request": [self._on_request], "response": [self._on_response]},
        )
        self._digest: DeviceDigestAuth | None = None
        self._session: Session | None = None

    # -- evidence hooks (every request, including Digest's first 401, is recorded)

    def _on_request(self, request: httpx.Request) -> None:
        request.extensions["hil_started"] = (time.time(), time.perf_counter())

    def _on_response(self, response: httpx.Response) -> None:
        response.read()
        request = response.request
        started, t0 = request.extensions.get("hil_started", (time.time(), time.perf_counter()))
        self.log.record(
            method=request.method,
            url=str(request.url),
            request_headers=request.headers.multi_items(),
            request_body=request.content,
            status=response.status_code,
            response_headers=response.headers.multi_items(),
            response_body=response.content,
            elapsed_s=time.perf_counter() - t0,
            started=started,
        )

    # -- transport

    def _send(
        self,
        method: str,
        path: str,
        *,
        content: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        auth: bool = True,
    ) -> httpx.Response:
        started, t0 = time.time(), time.perf_counter()
        limit = timeout if timeout is not None else self.timeout
        with total_deadline(limit) as deadline:
            try:
                return self._http.request(
                    method,
                    path,
                    content=content.encode("utf-8") if content is not None else None,
                    headers=headers,
                    timeout=limit,
                    auth=self._digest if auth else None,
                )
            except httpx.HTTPError as exc:
                error = self._failure(method, path, exc, limit, deadline)
                self.log.record(
                    method=method,
                    url=self.base_url + path,
                    request_headers=tuple((headers or {}).items()),
                    request_body=content.encode("utf-8") if content else b"",
                    status=None,
                    elapsed_s=time.perf_counter() - t0,
                    started=started,
                    error=str(error),
                )
                raise error from exc

    def _failure(
        self, method: str, path: str, exc: httpx.HTTPError, limit: float, deadline: float
    ) -> Exception:
        """A transport failure as one line; past the deadline, whatever the socket said,
        the answer was not complete in time."""
        if time.monotonic() >= deadline:
            return DeadlineExceeded(
                f"{method} {self.base_url}{path}: no complete answer within the {limit:g} s "
                "deadline"
            )
        return connection_error(self.base_url, method, path, exc)

    def _call(
        self,
        method: str,
        path: str,
        *,
        content: str | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
    ) -> httpx.Response:
        """Send and turn an error answer into `LoginRejected` or `IsapiError`."""
        response = self._send(method, path, content=content, headers=headers, auth=auth)
        if response.is_success:
            self._check_document(method, path, response)
            return response
        raise self._error_of(method, path, response)

    def _check_document(self, method: str, path: str, response: httpx.Response) -> None:
        """A success answer is a device's document (XML or JSON, §9) or empty; anything
        else (a proxy's page, garbage) came from something that is not the device."""
        text = response.text.strip()
        if not text or _is_device_document(text):
            return
        raise NotADeviceAnswer(
            f"{method} {self.base_url}{path} answered {response.status_code} with no XML or "
            f"JSON document, not a device's answer (proxy or broken service?): {quote(text)}"
        )

    def _error_of(self, method: str, path: str, response: httpx.Response) -> Exception:
        url = self.base_url + path
        text = response.text
        if response.status_code == 401:
            rejected = doc.parse_user_check(text, url)
            if rejected is not None:
                return rejected
        status = doc.parse_response_status(
            text, method=method, url=url, http_status=response.status_code
        )
        if status is not None:
            return status
        if response.status_code == 401:
            digest = self._digest
            if "authorization" not in response.request.headers:
                if digest is not None and digest.offered and digest.expect:
                    return ProductDefect(
                        f"{method} {url}: the device offers Digest {digest.offered}, the "
                        f"lab expects {digest.expect} (docs/device-api.md: one challenge)"
                    )
                if digest is None and self._session is None:
                    return HarnessError(
                        f"{method} {url} needs login: call use_digest or login_session first"
                    )
            return LoginRejected(url=url, attempts_left=None, locked=False, unlock_time_s=0)
        # Every error a device gives carries a ResponseStatus (§9): this answer is not one.
        return NotADeviceAnswer(
            f"{method} {url} answered HTTP {response.status_code} without a ResponseStatus, "
            f"not a device's answer (proxy or broken service?): {quote(text)}"
        )


def _is_device_document(text: str) -> bool:
    """Whether `text` parses as the XML or JSON a device answers with (not an HTML page)."""
    if text[0] in "{[":
        try:
            json.loads(text)
        except ValueError:
            return False
        return True
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return False
    return doc.local_name(root.tag).lower() != "html"

