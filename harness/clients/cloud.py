"""The phone app's role in a reset (§7): scan the device's QR, ask the vendor cloud for a code.

One protocol, one implementation per inventory cloud kind (the lab's "phone step"):
- `emulated` (`PhoneApp`): posts the QR to the emulated cloud's HTTP API, as Hik-Connect
  would; the cloud mails the code to the reserved address.
- `export` (`ExportPhoneApp`): unattended. The QR picture (the GUI's, or the one the device
  gives at the API) is mailed through the lab's submission server (STARTTLS, AUTH) to the
  vendor's recovery address: the *Export* channel. The code comes back by mail.
- `attended` (`harness.clients.attended.AttendedPhoneApp`, formerly `manual`): a person scans the
  QR with the real app. The picture is saved as PNG and drawn on the terminal, past
  pytest's capture, with a countdown while the test waits for the code mail.
- `none` (`NoPhoneApp`): no phone step in this lab; asking for a code raises
  `PhoneStepUnavailable`, which the fixtures turn into a skip with that reason.

Every `request_code` takes the QR text and, when the caller has it, the picture; without
one (API-level tests) the picture is drawn from the text, as the device's GUI would show it.

Long (~430 lines) on purpose: the protocol and three of its four implementations, read
side by side (the attended one, with its terminal drawing, is `harness.clients.attended`).
"""

from __future__ import annotations

import io
import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal, Protocol

import httpx
import segno

from harness.clients.qr import decode_qr
from harness.clients.tls import tls_context
from harness.clients.watchdog import Watchdog
from harness.errors import HarnessError, InfrastructureError
from harness.evidence import ExchangeLog, Secret

DEFAULT_APP_VERSION = "3.5.4"
RESET_PATH = "/api/v1/device-password-reset"
DEFAULT_TIMEOUT_S = 10.0
SmtpTls = Literal["starttls", "ssl", "none"]


class CloudRefused(Exception):
    """The vendor cloud refused the request (bad QR, unknown device, app too old).

    An answer a suite may expect (an old app version, a voided QR); `error` is the
    cloud's error name, e.g. `badQr`, `unknownDevice`, `appVersionTooOld`. Unexpected, a
    product defect (the device's QR was refused: harness.errors.FAILURE_TABLE).
    """

    def __init__(self, message: str, *, status: int, error: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error


class PhoneStepUnavailable(Exception):
    """The lab has no phone step (`cloud: none`): not a failure, the test cannot run here."""


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class CodeRequest:
    """What asking for a code gave: the device serial the cloud named, when known.

    `wait_s`: the least time the code mail may take (a person scanning); `done`: call it
    once the mail is in or given up (ends an attended countdown)."""

    serial: str | None
    manual: bool = False
    wait_s: float | None = None
    done: Callable[[], None] = field(default=_nothing, repr=False, compare=False)


class PhoneAppRole(Protocol):
    """What a suite needs from the phone app: read the QR picture, request the code."""

    def scan(self, png: bytes) -> str:
        """The QR text, read from a picture of the QR (screenshot or exported PNG)."""
        ...

    def request_code(self, qr_text: str, png: bytes | None = None) -> CodeRequest:
        """Ask the vendor cloud to mail the verification code to the reserved address;
        `png` is the picture the QR was read from, when there was one."""
        ...


def qr_picture(qr_text: str) -> bytes:
    """A PNG of the QR for `qr_text`, drawn as a device GUI draws it (API-level tests have
    the text only)."""
    out = io.BytesIO()
    segno.make_qr(qr_text, error="m").save(out, kind="png", scale=6, border=4)
    return out.getvalue()


class PhoneApp:
    """Hik-Connect's reset feature against the emulated vendor cloud's HTTP API."""

    def __init__(
        self,
        cloud_url: str,
        app_version: str = DEFAULT_APP_VERSION,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        log: ExchangeLog | None = None,
    ) -> None:
        self.cloud_url = cloud_url.rstrip("/")
        self.app_version = app_version
        self.timeout = timeout
        self.log = log if log is not None else ExchangeLog()

    def scan(self, png: bytes) -> str:
        """Decode the QR from a picture, as the phone's camera would."""
        return decode_qr(png)

    def request_code(self, qr_text: str, png: bytes | None = None) -> CodeRequest:
        """`POST /api/v1/device-password-reset` with the QR; the cloud mails the code.

        Raises `CloudRefused` for the cloud's refusals (`badQr`, `unknownDevice`,
        `appVersionTooOld`) and `InfrastructureError` when the cloud is unreachable.
        """
        url = self.cloud_url + RESET_PATH
        headers = {"X-App-Version": self.app_version, "Content-Type": "application/json"}
        body = httpx.Request("POST", url, json={"qr": qr_text}).content
        started, t0 = time.time(), time.perf_counter()
        try:
            response = httpx.post(url, content=body, headers=headers, timeout=self.timeout,
                                  verify=tls_context(True))
        except httpx.HTTPError as exc:
            self.log.record(
                method="POST",
                url=url,
                request_headers=headers.items(),
                request_body=body,
                status=None,
                elapsed_s=time.perf_counter() - t0,
                started=started,
                error=f"{type(exc).__name__}: {exc}",
            )
            raise InfrastructureError(
                f"vendor cloud {self.cloud_url} unreachable ({type(exc).__name__}: {exc})"
            ) from exc
        self.log.record(
            method="POST",
            url=url,
            request_headers=headers.items(),
            request_body=body,
            status=response.status_code,
            response_headers=response.headers.multi_items(),
            response_body=response.content,
            elapsed_s=time.perf_counter() - t0,
            started=started,
        )
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            answer = {}
        if response.status_code in (200, 202):
            serial = answer.get("serial")
            return CodeRequest(serial=serial if isinstance(serial, str) else None)
        error = str(answer.get("error", ""))
        if not error:
            # No named refusal: not the cloud's answer (a proxy's page, a broken service).
            text = " ".join(response.text.split())[:80]
            raise InfrastructureError(
                f"vendor cloud {self.cloud_url} answered HTTP {response.status_code} without "
                f"an error name, not the cloud's answer: {text!r}"
            )
        raise CloudRefused(
            _refusal_message(error, answer, self.app_version),
            status=response.status_code,
            error=error,
        )


def _refusal_message(error: str, answer: dict[str, object], app_version: str) -> str:
    if error == "appVersionTooOld":
        return (
            f"the cloud refuses app version {app_version}: it needs "
            f"{answer.get('minimum', 'a newer one')} or later"
        )
    if error == "badQr":
        return "the cloud could not read the QR text (badQr): wrong, truncated or tampered"
    if error == "unknownDevice":
        return "the cloud does not know the device serial in the QR (unknownDevice)"
    return f"the cloud refused the reset request: {error}"


@dataclass(frozen=True)
class SubmissionServer:
    """Where the Export channel's mail is submitted: the lab's SMTP server, resolved for a
    run (the inventory's `cloud.smtp`, harness.inventory.model.SmtpConfig, with its
    password read, or the emulated cloud's own). `tls`: starttls, ssl (implicit TLS) or
    none."""

    host: str
    port: int
    tls: SmtpTls = "none"
    user: str | None = None
    password: Secret | None = None
    ca_file: str | None = None

    @property
    def name(self) -> str:
        return f"{self.host}:{self.port}"


class ExportPhoneApp:
    """Unattended, by the Export channel (cloud kind `export`): the QR picture is mailed to
    the vendor's recovery address through the lab's submission server; the cloud mails the
    code to the reserved address."""

    def __init__(self, server: SubmissionServer, recovery_address: str, sender: str, *,
                 timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.server = server
        self.recovery_address = recovery_address
        self.sender = sender
        self.timeout = timeout

    def scan(self, png: bytes) -> str:
        """Decode the picture, to be sure the vendor gets a readable QR."""
        return decode_qr(png)

    def request_code(self, qr_text: str, png: bytes | None = None) -> CodeRequest:
        """Mail the picture (drawn from the text when there is none) to the recovery
        address. A picture that does not read back as `qr_text` is our mistake."""
        picture = png if png is not None else qr_picture(qr_text)
        if decode_qr(picture) != qr_text:
            raise HarnessError("ExportPhoneApp: the picture to mail holds another QR than "
                               "the one scanned")
        export_channel(picture, self.recovery_address, self.server.host, self.server.port,
                       sender=self.sender, timeout=self.timeout, tls=self.server.tls,
                       user=self.server.user, password=self.server.password,
                       ca_file=self.server.ca_file)
        return CodeRequest(serial=None)


class NoPhoneApp:
    """No phone step in this lab (cloud kind `none`)."""

    REASON = "phone step not available in this lab (cloud: none)"

    def scan(self, png: bytes) -> str:
        """Decode the QR: the picture is still the device's to get right."""
        return decode_qr(png)

    def request_code(self, qr_text: str, png: bytes | None = None) -> CodeRequest:
        """Nobody can ask the vendor cloud here: `PhoneStepUnavailable`."""
        raise PhoneStepUnavailable(self.REASON)


@dataclass(frozen=True)
class PhoneAppSettings:
    """Everything any phone-app implementation may need; each takes what it uses."""

    cloud_url: str | None = None
    app_version: str = DEFAULT_APP_VERSION
    qr_dir: Path = Path("reports/qr")
    timeout: float = DEFAULT_TIMEOUT_S
    log: ExchangeLog | None = None
    attended_timeout_s: float = 600.0
    submission: SubmissionServer | None = None
    recovery_address: str | None = None
    sender: str | None = None


def _emulated(settings: PhoneAppSettings) -> PhoneAppRole:
    if not settings.cloud_url:
        raise HarnessError("the emulated phone app needs the emulated cloud's URL")
    return PhoneApp(
        settings.cloud_url, settings.app_version, timeout=settings.timeout, log=settings.log
    )


def _attended(settings: PhoneAppSettings) -> PhoneAppRole:
    # Imported here: harness.clients.attended builds on this module's CodeRequest and qr_picture.
    from harness.clients.attended import AttendedPhoneApp

    return AttendedPhoneApp(settings.qr_dir, timeout_s=settings.attended_timeout_s)


def _export(settings: PhoneAppSettings) -> PhoneAppRole:
    if settings.submission is None or not settings.recovery_address or not settings.sender:
        raise HarnessError("the export phone app needs a submission server, the recovery "
                           "address and a sender")
    return ExportPhoneApp(settings.submission, settings.recovery_address, settings.sender,
                          timeout=settings.timeout)


def _none(settings: PhoneAppSettings) -> PhoneAppRole:
    return NoPhoneApp()


PHONE_APPS: dict[str, Callable[[PhoneAppSettings], PhoneAppRole]] = {
    "emulated": _emulated,
    "export": _export,
    "attended": _attended,
    "manual": _attended,
    "none": _none,
}


def phone_app_for(kind: str, settings: PhoneAppSettings) -> PhoneAppRole:
    """The phone app for an inventory cloud kind (`emulated`, `export`, `attended`, `none`)."""
    try:
        factory = PHONE_APPS[kind]
    except KeyError:
        raise HarnessError(
            f"no phone app for cloud kind {kind!r}; known: {', '.join(sorted(PHONE_APPS))}"
        ) from None
    return factory(settings)


class _WatchedSmtp(smtplib.SMTP):
    """smtplib's client whose socket a watchdog shuts down at the exchange's deadline."""

    def __init__(self, watchdog: Watchdog, context: ssl.SSLContext | None, *args: Any,
                 **kwargs: Any) -> None:
        self._watchdog = watchdog
        self._implicit_tls = context
        super().__init__(*args, **kwargs)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        raw = socket.create_connection((host, port), timeout, self.source_address)
        self._watchdog.watch(raw)  # a handshake or greeting may drip too
        if self._implicit_tls is None:
            return raw
        try:
            tls = self._implicit_tls.wrap_socket(raw, server_hostname=host)
        except BaseException:
            raw.close()
            raise
        self._watchdog.watch(tls)
        return tls

    def starttls(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        reply: tuple[int, bytes] = super().starttls(*args, **kwargs)
        if self.sock is not None:
            self._watchdog.watch(self.sock)  # the TLS socket replaced the plain one
        return reply


def export_channel(
    png: bytes,
    recovery_address: str,
    smtp_host: str,
    smtp_port: int,
    sender: str,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    deadline: float | None = None,
    tls: SmtpTls = "none",
    user: str | None = None,
    password: str | None = None,
    ca_file: str | None = None,
) -> None:
    """Mail the exported QR picture to the vendor's recovery address (§7, second channel)
    through the submission server `smtp_host:smtp_port`: over TLS from the first byte
    (`tls="ssl"`) or after STARTTLS (`"starttls"`), the server verified against `ca_file`
    or the system trust store; then AUTH when `user` is given (never over plain SMTP).

    `timeout` bounds each read, `deadline` (3 x `timeout` by default) the whole exchange:
    a server that drips its answers cannot hold a test. The cloud reads the picture and
    mails the code to the reserved address. Any failure is one `InfrastructureError`
    naming the server; the password never appears in it.
    """
    if user is not None and tls == "none":
        raise HarnessError("export_channel: AUTH over plain SMTP would send the password in "
                           "clear (tls: starttls or ssl)")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recovery_address
    message["Subject"] = "Device password reset"
    message.set_content("Exported password reset QR code attached.")
    message.add_attachment(png, maintype="image", subtype="png", filename="reset-qr.png")
    server = f"SMTP server {smtp_host}:{smtp_port}"
    context = tls_context(ca_file if ca_file else True) if tls != "none" else None
    with Watchdog(deadline if deadline is not None else 3 * timeout) as watchdog:
        try:
            with _WatchedSmtp(watchdog, context if tls == "ssl" else None, smtp_host,
                              smtp_port, timeout=timeout) as smtp:
                if tls == "starttls":
                    smtp.starttls(context=context)
                if user is not None:
                    smtp.login(user, str(password or ""))
                smtp.send_message(message)
        except smtplib.SMTPAuthenticationError as exc:
            raise InfrastructureError(
                f"{server} refused the login of {user!r} (SMTP {exc.smtp_code}): check the "
                "inventory's cloud.smtp.user and the password its password_env names"
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise InfrastructureError(
                f"{server} does not offer what cloud.smtp asks ({exc}): STARTTLS or AUTH"
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            # ssl.SSLCertVerificationError is an OSError: name it, it is the lab's CA's
            # business.
            detail = str(exc).replace(str(password), "***") if password else str(exc)
            raise InfrastructureError(
                f"cannot mail the QR to {recovery_address} via {server}{watchdog.reason()} "
                f"({type(exc).__name__}: {detail})"
            ) from None


__all__ = [
    "PHONE_APPS",
    "CloudRefused",
    "CodeRequest",
    "ExportPhoneApp",
    "NoPhoneApp",
    "PhoneApp",
    "PhoneAppRole",
    "PhoneAppSettings",
    "PhoneStepUnavailable",
    "SubmissionServer",
    "export_channel",
    "phone_app_for",
    "qr_picture",
]
