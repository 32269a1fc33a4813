"""HTTP Digest as a device speaks it (docs/device-api.md "Authentication order").

A device sends **one** `WWW-Authenticate: Digest …` header: MD5 when it names no
algorithm (as real cameras do), SHA-256 when it says `algorithm="SHA-256"`. The client
answers in the algorithm offered; a test that expects one algorithm says so, and a device
offering another is left unanswered so the caller reports it (falling back would test the
wrong thing).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Literal

import httpx

from harness.clients.isapi.documents import parse_user_check

DigestAlgorithm = Literal["MD5", "SHA-256"]
ALGORITHMS: tuple[DigestAlgorithm, ...] = ("MD5", "SHA-256")


class DeviceDigestAuth(httpx.DigestAuth):
    """httpx's Digest, taking the device's one challenge and never repeating a login.

    After the first exchange the client answers pre-emptively; if such an answer is
    refused with a `userCheck` (the password is wrong), it is not sent again, so one call
    costs at most one wrong attempt. A plain 401 (a stale nonce) is answered once more.
    """

    requires_response_body = True

    def __init__(
        self, username: str, password: str, expect: DigestAlgorithm | None = None
    ) -> None:
        super().__init__(username, password)
        self.expect = expect
        self.offered: str | None = None  # the algorithm of the last challenge seen

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        preemptive = self._last_challenge is not None
        if self._last_challenge is not None:
            request.headers["Authorization"] = self._build_auth_header(
                request, self._last_challenge
            )
        response = yield request
        if response.status_code != 401:
            return
        if preemptive and parse_user_check(response.text, str(request.url)) is not None:
            return
        offers = [
            h
            for h in response.headers.get_list("www-authenticate")
            if h.lower().startswith("digest ")
        ]
        if not offers:
            return  # no challenge at all: the caller reports the 401 as it is
        # Real firmware sends one header; should a device send several, the first is what
        # a browser would answer.
        challenge = self._parse_challenge(request, response, offers[0])
        self.offered = challenge.algorithm.upper()
        if self.offered not in ALGORITHMS or (self.expect and self.offered != self.expect):
            return
        self._last_challenge = challenge
        self._nonce_count = 1
        request.headers["Authorization"] = self._build_auth_header(request, challenge)
        if response.cookies:
            httpx.Cookies(response.cookies).set_cookie_header(request=request)
        yield request
