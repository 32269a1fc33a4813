"""Who may call what: session cookie or HTTP Digest, and the inactive-device rule."""

from __future__ import annotations

from aiohttp import web

from .. import crypto
from ..device import Device
from ..errors import DeviceError, LoginRefused
from . import documents


def client_address(request: web.Request) -> str:
    return request.remote or "unknown"


def digest_challenge(device: Device, stale: bool = False) -> web.Response:
    """A plain 401 offering Digest MD5 and SHA-256; it does not count as a failed login."""
    nonce = device.digest_nonces.issue()
    response = documents.xml_response(
        "userCheck", {"statusValue": 401, "statusString": "Unauthorized"}, 401)
    for header in crypto.challenge_headers(device.realm, nonce):
        if stale:
            header = header.replace("stale=FALSE", "stale=TRUE")
        response.headers.add("WWW-Authenticate", header)
    return response


def from_gui_script(request: web.Request) -> bool:
    """True when the caller marks itself as the GUI's script (`X-Requested-With`)."""
    return request.headers.get("X-Requested-With", "").lower() == "xmlhttprequest"


class Unauthorised(Exception):
    """Carries the 401 answer to send instead of running the handler."""

    def __init__(self, response: web.Response) -> None:
        super().__init__("unauthorised")
        self.response = response


def unauthorised(request: web.Request, response: web.Response) -> Unauthorised:
    """The 401 to raise; the GUI's script gets it without a Digest challenge.

    Like real firmware: a browser seeing `WWW-Authenticate` on a script's request would
    wait on (or pop up) its own password dialog instead of letting the GUI go to its login
    page. Every other client (the harness's Digest client) keeps the challenge.
    """
    if from_gui_script(request):
        response.headers.popall("WWW-Authenticate", None)
    return Unauthorised(response)


def require_admin(request: web.Request, device: Device) -> str | None:
    """Let an active device's admin through (cookie or Digest); raise otherwise.

    Answers the session token when the caller used the session cookie.
    """
    if not device.activated:
        raise DeviceError(401, 4, "notActivated")
    token = request.cookies.get(device.cookie_name)
    if token and device.session_valid(token):
        return token
    header = request.headers.get("Authorization", "")
    creds = crypto.parse_digest_header(header) if header else None
    if creds is None:
        raise unauthorised(request, digest_challenge(device))
    if creds.uri not in (request.path_qs, request.raw_path, request.path):
        raise DeviceError(400, 6, "badParameters")
    if not device.digest_nonces.valid(creds.nonce):
        raise unauthorised(request, digest_challenge(device, stale=True))
    try:
        device.digest_login(creds, request.method, client_address(request))
    except LoginRefused as refused:
        response = documents.user_check(refused)
        for h in crypto.challenge_headers(device.realm, device.digest_nonces.issue()):
            response.headers.add("WWW-Authenticate", h)
        raise unauthorised(request, response) from None
    return None
