"""The phone app's role in a reset (§7): scan the device's QR, ask the vendor cloud for a code.

Two implementations behind one protocol, picked by the inventory's cloud kind:
- `emulated` (`PhoneApp`): posts the QR to the emulated cloud's HTTP API, as Hik-Connect
  would; the cloud mails the code to the reserved address.
- `manual` (`ManualPhoneApp`): a real lab. The QR picture is saved to a file and a person
  scans it with the real app; the test then waits for the mail as usual.

`export_channel` is the second channel: mail the exported QR picture to the recovery
address and the code comes back by mail.
"""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import httpx

from harness.errors import HarnessError, InfrastructureError
from harness.evidence import ExchangeLog
from harness.qr import decode_qr
from harness.tls import tls_context

DEFAULT_APP_VERSION = "3.5.4"
RESET_PATH = "/api/v1/device-password-reset"
DEFAULT_TIMEOUT_S = 10.0


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


@dataclass(frozen=True)
class CodeRequest:
    """What asking for a code gave: the device serial the cloud named, when known."""

    serial: str | None
    manual: bool = False


class PhoneAppRole(Protocol):
    """What a suite needs from the phone app: read the QR picture, request the code."""

    def scan(self, png: bytes) -> str:
        """The QR text, read from a picture of the QR (screenshot or exported PNG)."""
        ...

    def request_code(self, qr_text: str) -> CodeRequest:
        """Ask the vendor cloud to mail the verification code to the reserved address."""
        ...


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

    def request_code(self, qr_text: str) -> CodeRequest:
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


class ManualPhoneApp:
    """A real lab: the QR picture is saved for a person to scan with the real app.

    `request_code` sends nothing; it says where the picture is and what to do. The test
    then waits for the code mail as it would with the emulated cloud.
    """

    def __init__(self, qr_dir: Path, *, announce: Callable[[str], None] = print) -> None:
        self.qr_dir = qr_dir
        self.announce = announce
        self._pictures: dict[str, Path] = {}

    def scan(self, png: bytes) -> str:
        """Decode the QR (to be sure it is readable) and save the picture for the person."""
        text = decode_qr(png)
        self.qr_dir.mkdir(parents=True, exist_ok=True)
        path = self.qr_dir / f"reset-qr-{time.strftime('%Y%m%dT%H%M%S')}-{len(self._pictures)}.png"
        path.write_bytes(png)
        self._pictures[text] = path
        return text

    def request_code(self, qr_text: str) -> CodeRequest:
        """Tell the person which picture to scan with the vendor's app; sends nothing."""
        path = self._pictures.get(qr_text)
        if path is None:
            raise HarnessError("ManualPhoneApp.request_code: scan() the QR picture first")
        self.announce(
            f"Scan {path} with the vendor's phone app ({DEFAULT_APP_VERSION} or later): "
            "Reset Device Password. The code will be mailed to the reserved address."
        )
        return CodeRequest(serial=None, manual=True)


@dataclass(frozen=True)
class PhoneAppSettings:
    """Everything any phone-app implementation may need; each takes what it uses."""

    cloud_url: str | None = None
    app_version: str = DEFAULT_APP_VERSION
    qr_dir: Path = Path("reports/qr")
    timeout: float = DEFAULT_TIMEOUT_S
    log: ExchangeLog | None = None


def _emulated(settings: PhoneAppSettings) -> PhoneAppRole:
    if not settings.cloud_url:
        raise HarnessError("the emulated phone app needs the emulated cloud's URL")
    return PhoneApp(
        settings.cloud_url, settings.app_version, timeout=settings.timeout, log=settings.log
    )


def _manual(settings: PhoneAppSettings) -> PhoneAppRole:
    return ManualPhoneApp(settings.qr_dir)


PHONE_APPS: dict[str, Callable[[PhoneAppSettings], PhoneAppRole]] = {
    "emulated": _emulated,
    "manual": _manual,
}


def phone_app_for(kind: str, settings: PhoneAppSettings) -> PhoneAppRole:
    """The phone app for an inventory cloud kind (`emulated`, `manual`)."""
    try:
        factory = PHONE_APPS[kind]
    except KeyError:
        raise HarnessError(
            f"no phone app for cloud kind {kind!r}; known: {', '.join(sorted(PHONE_APPS))}"
        ) from None
    return factory(settings)


def export_channel(
    png: bytes,
    recovery_address: str,
    smtp_host: str,
    smtp_port: int,
    sender: str,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> None:
    """Mail the exported QR picture to the vendor's recovery address (§7, second channel).

    The cloud reads the picture and mails the code to the reserved address.
    """
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recovery_address
    message["Subject"] = "Device password reset"
    message.set_content("Exported password reset QR code attached.")
    message.add_attachment(png, maintype="image", subtype="png", filename="reset-qr.png")
    try:
        with smtplib.SMTP(smtp_host, smtp_port, timeout=timeout) as smtp:
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise InfrastructureError(
            f"cannot mail the QR to {recovery_address} via {smtp_host}:{smtp_port} "
            f"({type(exc).__name__}: {exc})"
        ) from exc


__all__ = [
    "PHONE_APPS",
    "CloudRefused",
    "CodeRequest",
    "ManualPhoneApp",
    "PhoneApp",
    "PhoneAppRole",
    "PhoneAppSettings",
    "export_channel",
    "phone_app_for",
]
