"""Who may call what: session cookie or HTTP Digest, and the inactive-device rule.

Real firmware answers every protected path without valid credentials with 401 and ONE
`WWW-Authenticate: Digest` challenge of the device's own algorithm (docs/device-api.md,
"Authentication order"); `Authorization: Basic` is neither checked nor counted.
"""

from __future__ import annotations

from aiohttp import web

from .. import crypto
from ..device import Device
from ..errors import DeviceError, LoginRefused
from . import documents


def client_address(request: web.Request) -> str:
    return request.remote or "unknown"


def add_challenge(response: web.Response, device: Device, stale: bool = False) -> None:
    header = crypto.challenge_header(device.realm, device.digest_nonces.issue(),
                                     device.policy.digest_algorithm, stale)
    response.headers["WWW-Authenticate"] = header


def digest_challenge(request: web.Request, device: Device,
                     stale: bool = False) -> web.Response:
    """A plain 401 with the Digest challenge; it does not count as a failed login."""
    response = documents.xml_response(
        request, "userCheck", {"statusValue": 401, "statusString": "Unauthorized"}, 401)
    add_challenge(response, device, stale)
    return response


class Unauthorised(Exception):
    """Carries the 401 answer to send instead of running the handler."""

    def __init__(self, response: web.Response) -> None:
        super().__init__("unauthorised")
        self.response = response


def unauthorised(request: web.Request, response: web.Response) -> Unauthorised:
    """The 401 to raise, challenge and all, whoever asks (the GUI's script included: real
    firmware does not tell it apart, and the GUI handles the answer itself)."""
    return Unauthorised(response)


def require_admin(request: web.Request, device: Device) -> str | None:
    """Let an active device's admin through (cookie or Digest); raise otherwise.

    Answers the session token when the caller used the session cookie.
    """
    if not device.activated:
        response = documents.response_status(request, 401, 4, "notActivated")
        add_challenge(response, device)
        raise unauthorised(request, response)
    token = request.cookies.get(device.cookie_name)
    if token and device.session_valid(token):
        return token
    header = request.headers.get("Authorization", "")
    # Basic (and anything else but Digest) is not checked: the plain challenge, no count.
    creds = crypto.parse_digest_header(header) if header else None
    if creds is None:
        raise unauthorised(request, digest_challenge(request, device))
    if creds.uri not in (request.path_qs, request.raw_path, request.path):
        raise DeviceError(400, 6, "badParameters")
    if not device.digest_nonces.valid(creds.nonce):
        raise unauthorised(request, digest_challenge(request, device, stale=True))
    try:
        device.digest_login(creds, request.method, client_address(request))
    except LoginRefused as refused:
        response = documents.user_check(request, refused)
        add_challenge(response, device)
        raise unauthorised(request, response) from None
    return None
