"""The vendor cloud: turns a reset QR into a verification-code mail (DEVICE-SPEC §7).

Two ways in, one way out:

- the phone app's HTTP call `POST /api/v1/device-password-reset` with the QR text;
- the *Export* channel: a mail with the QR as a PNG attachment to the recovery address,
  received by the cloud's own SMTP server.

Either way the cloud opens the reserved address sealed in the QR with the device's cloud key
and mails the code derived from that key and the QR nonce through the lab's SMTP relay.
Wire formats: docs/device-api.md, "Vendor cloud".
"""

from __future__ import annotations

import asyncio
import email.policy
import hmac
import io
import logging
import re
import ssl
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import aiohttp.web
import aiosmtplib
import zxingcpp
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography.exceptions import InvalidTag
from PIL import Image, UnidentifiedImageError

from emulator.cloudcrypto import QrFormatError, QrPayload, derive_code, open_address, parse_qr_text
from emulator.interfaces import FleetHandle
from emulator.tlscerts import device_cert

log = logging.getLogger(__name__)

CLOUD_DOMAIN = "cloud.hik-emulator.test"
SENDER = f"noreply@{CLOUD_DOMAIN}"
RECOVERY_ADDRESS = f"pw_recovery@{CLOUD_DOMAIN}"
RESET_PATH = "/api/v1/device-password-reset"
# The code is valid 48 hours on the device [src]; the mail says so.
CODE_VALIDITY = timedelta(hours=48)
# A relay that does not answer must not hold a send task for ever.
RELAY_TIMEOUT_S = 10.0
# A QR picture is small; anything far bigger is not a reset export.
MAX_RECOVERY_MAIL_BYTES = 5 * 1024 * 1024


class UnknownDeviceError(LookupError):
    """The QR names a serial the cloud has no device (and so no cloud key) for."""


def parse_app_version(text: str) -> tuple[int, ...] | None:
    """`3.5.4` → (3, 5, 4); a leading `V` and a build suffix are ignored; None if unreadable."""
    match = re.match(r"^\s*[vV]?(\d+(?:\.\d+)*)", text)
    if match is None:
        return None
    return tuple(int(part) for part in match.group(1).split("."))


def _pad(version: tuple[int, ...], length: int) -> tuple[int, ...]:
    return version + (0,) * (length - len(version))


def app_version_ok(header: str | None, minimum: str) -> bool:
    """True when the app's `X-App-Version` is at least `minimum`, compared numerically."""
    wanted = parse_app_version(minimum)
    have = parse_app_version(header) if header is not None else None
    if wanted is None:
        raise ValueError(f"minimum app version {minimum!r} is not a version")
    if have is None:
        return False
    length = max(len(have), len(wanted))
    return _pad(have, length) >= _pad(wanted, length)


def code_mail(*, to: str, serial: str, code: str, issued_at: int) -> EmailMessage:
    """The mail that carries a verification code to the reserved address."""
    msg = EmailMessage()
    msg["From"] = SENDER
    msg["To"] = to
    msg["Subject"] = f"Device password reset code for {serial}"
    now = datetime.now(UTC)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=CLOUD_DOMAIN)
    valid_until = datetime.fromtimestamp(issued_at, UTC) + CODE_VALIDITY
    msg.set_content(
        "You asked to reset the password of your device.\n"
        "\n"
        f"Device serial number: {serial}\n"
        f"Verification code: {code}\n"
        "\n"
        f"The code is valid for 48 hours (until {valid_until:%Y-%m-%d %H:%M} UTC) and can be "
        "used once.\n"
        "If you did not ask for this, ignore this mail.\n"
    )
    return msg


def decode_qr_picture(png: bytes) -> list[str]:
    """Every QR text zxing-cpp finds in a picture; empty when none or not a picture."""
    try:
        with Image.open(io.BytesIO(png)) as picture:
            picture.load()
            return [code.text for code in zxingcpp.read_barcodes(
                picture, formats=zxingcpp.barcode_formats_from_str("QRCode")) if code.text]
    except (UnidentifiedImageError, OSError, ValueError):
        return []


def picture_attachments(raw_mail: bytes) -> list[bytes]:
    """The picture parts of a mail: any image/*, and parts named *.png whatever their type
    (some mail programs attach a PNG as application/octet-stream)."""
    message = BytesParser(policy=email.policy.default).parsebytes(raw_mail)
    pictures: list[bytes] = []
    for part in message.walk():
        named_png = (part.get_filename() or "").lower().endswith(".png")
        if part.get_content_maintype() != "image" and not named_png:
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            pictures.append(payload)
    return pictures


@dataclass
class ResetRequest:
    """A readable QR of a known device, with the key that opens its address."""
    payload: QrPayload
    cloud_key: bytes


@dataclass(frozen=True)
class Submission:
    """Opt-in guard of the recovery SMTP, as a lab's submission server: STARTTLS required,
    then AUTH (PLAIN or LOGIN) as `user` with `password`; the certificate's PEM in `tls_dir`."""

    user: str
    password: str
    tls_dir: Path


class CloudService:
    """The running cloud: HTTP API, recovery inbox and the mails it sends."""

    def __init__(self, fleet: FleetHandle, *, relay_host: str, relay_port: int,
                 min_app_version: str, submission: Submission | None = None) -> None:
        if parse_app_version(min_app_version) is None:
            raise ValueError(f"minimum app version {min_app_version!r} is not a version")
        self._fleet = fleet
        self._relay_host = relay_host
        self._relay_port = relay_port
        self.min_app_version = min_app_version
        self.recovery_address = RECOVERY_ADDRESS
        self.http_port = 0
        self.smtp_port = 0
        self._runner: aiohttp.web.AppRunner | None = None
        self._smtp_server: asyncio.Server | None = None
        self._smtp_sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()
        self._sends: set[asyncio.Task[None]] = set()
        self.submission = submission
        self._tls: ssl.SSLContext | None = None
        self.smtp_ca_file: Path | None = None

    # -- the shared path -------------------------------------------------------------------

    def reset_request(self, qr: str) -> ResetRequest:
        """Parse a QR and find its device; raises QrFormatError or UnknownDeviceError."""
        payload = parse_qr_text(qr)
        device = self._fleet.by_serial(payload.serial)
        if device is None:
            raise UnknownDeviceError(payload.serial)
        return ResetRequest(payload, device.cloud_key)

    def send_code_later(self, request: ResetRequest) -> None:
        """Mail the code in the background, as the real cloud does ("within 5 minutes")."""
        task = asyncio.get_running_loop().create_task(self._send_code(request))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _send_code(self, request: ResetRequest) -> None:
        serial = request.payload.serial
        try:
            address = open_address(request.cloud_key, request.payload.sealed_mail)
        except (InvalidTag, ValueError):
            # A QR sealed under an older key (or tampered with) names nobody the cloud can
            # reach. Log the serial only: the address and the code are secrets.
            log.warning("cloud: reserved address in the QR of %s cannot be opened; no mail sent",
                        serial)
            return
        message = code_mail(to=address, serial=serial,
                            code=derive_code(request.cloud_key, request.payload.nonce),
                            issued_at=request.payload.issued_at)
        try:
            await aiosmtplib.send(message, hostname=self._relay_host, port=self._relay_port,
                                  timeout=RELAY_TIMEOUT_S, start_tls=False, use_tls=False,
                                  local_hostname=CLOUD_DOMAIN)
        except (aiosmtplib.SMTPException, OSError) as exc:
            log.error("cloud: code mail for %s not sent: relay %s:%d: %s", serial,
                      self._relay_host, self._relay_port, type(exc).__name__)
            return
        log.info("cloud: code mail for %s handed to relay %s:%d", serial, self._relay_host,
                 self._relay_port)

    # -- HTTP: the phone app ------------------------------------------------------------------

    async def _handle_reset(self, request: aiohttp.web.Request) -> aiohttp.web.Response:
        if not app_version_ok(request.headers.get("X-App-Version"), self.min_app_version):
            return aiohttp.web.json_response(
                {"error": "appVersionTooOld", "minimum": self.min_app_version}, status=426)
        try:
            body: Any = await request.json()
        except ValueError:
            return aiohttp.web.json_response({"error": "badQr"}, status=400)
        qr = body.get("qr") if isinstance(body, dict) else None
        if not isinstance(qr, str):
            return aiohttp.web.json_response({"error": "badQr"}, status=400)
        try:
            reset = self.reset_request(qr)
        except QrFormatError:
            return aiohttp.web.json_response({"error": "badQr"}, status=400)
        except UnknownDeviceError:
            return aiohttp.web.json_response({"error": "unknownDevice"}, status=404)
        self.send_code_later(reset)
        return aiohttp.web.json_response(
            {"status": "accepted", "serial": reset.payload.serial}, status=202)

    # -- SMTP: the Export channel ---------------------------------------------------------

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        """aiosmtpd hook: only the recovery address receives mail here."""
        if address.lower() != RECOVERY_ADDRESS:
            return "550 5.1.1 mailbox unavailable: only " + RECOVERY_ADDRESS
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """aiosmtpd hook: read the QR picture and send the code mail ([dec]: refuse at once
        with a reason when the picture holds no usable reset QR, rather than bounce later)."""
        raw = envelope.original_content or b""
        texts = [text for png in picture_attachments(raw) for text in decode_qr_picture(png)]
        if not texts:
            return "554 5.6.0 no QR code found in an image attachment"
        for text in texts:
            try:
                reset = self.reset_request(text)
            except QrFormatError:
                continue
            except UnknownDeviceError:
                return "554 5.6.0 the QR code names an unknown device"
            self.send_code_later(reset)
            auth = session.auth_data
            login = auth.decode(errors="replace") if isinstance(auth, bytes) else None
            log.info("cloud: Export-channel mail from <%s>%s: reset request for %s accepted",
                     envelope.mail_from, f" (AUTH as {login!r})" if login else " (no AUTH)",
                     reset.payload.serial)
            return "250 OK: reset request accepted"
        return "554 5.6.0 the QR code is not a device password reset code"

    # -- life cycle -------------------------------------------------------------------------

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope,
                      mechanism: str, auth_data: Any) -> AuthResult:
        """aiosmtpd authenticator: the one user of the submission settings (PLAIN, LOGIN)."""
        wanted = self.submission
        if wanted is None or not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = (hmac.compare_digest(auth_data.login, wanted.user.encode())
              and hmac.compare_digest(auth_data.password, wanted.password.encode()))
        login = auth_data.login.decode(errors="replace")
        if not ok:
            log.warning("cloud: SMTP AUTH %s refused for %r", mechanism, login)
        else:
            # What a lab's submission server logs: who logged in, how (never the password).
            log.info("cloud: SMTP AUTH %s accepted for %r over STARTTLS", mechanism, login)
        # The session keeps the login only (not the password) for the Export log line.
        return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)

    async def start(self, host: str, http_port: int, smtp_port: int) -> None:
        if self.submission is not None:
            # Signed by a CA of its own folder, as a lab's server by the lab's CA: the
            # client verifies the chain and the address, not merely one pinned certificate.
            cert = device_cert(self.submission.tls_dir, "cloud-smtp", host, signed_by_ca=True)
            self._tls, self.smtp_ca_file = cert.server_context(), cert.ca_file
        app = aiohttp.web.Application()
        app.router.add_post(RESET_PATH, self._handle_reset)
        self._runner = aiohttp.web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = aiohttp.web.TCPSite(self._runner, host, http_port)
        await site.start()
        self.http_port = int(self._runner.addresses[0][1])
        loop = asyncio.get_running_loop()
        # aiosmtpd's Controller(port=0) cannot report its port and runs its own thread; the
        # bare protocol served in this loop can. The hostname is given so that aiosmtpd does
        # not ask the resolver for the machine's FQDN.
        self._smtp_server = await loop.create_server(self._smtp_session, host, smtp_port)
        self.smtp_port = _bound_port(self._smtp_server)

    async def drain(self, timeout: float) -> None:
        """Wait until every code mail under way has been sent or given up."""
        if not self._sends:
            return
        _, pending = await asyncio.wait(set(self._sends), timeout=timeout)
        if pending:
            raise TimeoutError(f"{len(pending)} code mail(s) still on their way to relay "
                               f"{self._relay_host}:{self._relay_port} after {timeout} s")

    def _smtp_session(self) -> SMTP:
        guard: dict[str, Any] = {}
        if self.submission is not None:
            guard = {"tls_context": self._tls, "require_starttls": True, "auth_required": True,
                     "auth_require_tls": True, "authenticator": self._authenticate}
        session = SMTP(self, hostname=CLOUD_DOMAIN, ident="hik-emulator cloud",
                       data_size_limit=MAX_RECOVERY_MAIL_BYTES, timeout=60, **guard)
        self._smtp_sessions.add(session)
        return session

    async def close(self) -> None:
        """Stop both servers, their open sessions and any code mail still on its way."""
        server, self._smtp_server = self._smtp_server, None
        if server is not None:
            server.close()
            # Newer Pythons wait for open connections in wait_closed(): end them first.
            for session in list(self._smtp_sessions):
                if session.transport is not None:
                    session.transport.close()
            await server.wait_closed()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for task in list(self._sends):
            task.cancel()
        await asyncio.gather(*self._sends, return_exceptions=True)


def _bound_port(server: Any) -> int:
    sockets = getattr(server, "sockets", None) or []
    if not sockets:
        raise RuntimeError("server has no listening socket")
    return int(sockets[0].getsockname()[1])


async def start_cloud(fleet: FleetHandle, *, host: str, http_port: int, smtp_port: int,
                      relay_host: str, relay_port: int, min_app_version: str,
                      submission: Submission | None = None) -> CloudService:
    """Start the vendor cloud on `host`: HTTP API and recovery SMTP (port 0 = any free port;
    the real ports are on the result). Code mails go out through `relay_host:relay_port`.
    With `submission` the SMTP wants STARTTLS and AUTH first."""
    cloud = CloudService(fleet, relay_host=relay_host, relay_port=relay_port,
                         min_app_version=min_app_version, submission=submission)
    try:
        await cloud.start(host, http_port, smtp_port)
    except BaseException:
        await cloud.close()
        raise
    return cloud
