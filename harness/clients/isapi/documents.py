"""The device's documents: what the client sends and how it reads the answers.

Written from DEVICE-SPEC.md and docs/device-api.md. Answers are read by local element
name, whatever the namespace (`hikvision.com` or `isapi.org`, or none) and the order;
an optional element that is absent reads as None (or False for a flag), never as an
error: real firmware differs in what it fills in. Request bodies are built here so the
client holds no markup.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from harness.clients.isapi.errors import IsapiError, LoginRejected

# ------------------------------------------------------------------------------ reading


def local_name(tag: str) -> str:
    """An element's name without its namespace."""
    return tag.rsplit("}", 1)[-1]


def parse_xml(text: str) -> ET.Element:
    """Parse a device's XML answer; element names are compared without namespace."""
    return ET.fromstring(text.lstrip())


def xml_fields(root: ET.Element) -> dict[str, str]:
    """The direct children of `root` as {local name: text}, whatever the namespace."""
    return {local_name(child.tag): (child.text or "").strip() for child in root}


def find_text(root: ET.Element, name: str) -> str | None:
    """The text of the first element called `name` anywhere below `root`, or None."""
    for element in root.iter():
        if local_name(element.tag) == name:
            return (element.text or "").strip()
    return None


def as_bool(text: str | None) -> bool:
    """An XML flag: `true` (any case) is True; absent or anything else is False."""
    return (text or "").strip().lower() == "true"


def as_int(value: Any) -> int | None:
    """A whole number, or None when absent or not one."""
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _as_float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class DeviceInfo:
    """`GET /ISAPI/System/deviceInfo` (§9, §10); every other field is in `fields`."""

    device_name: str
    device_id: str
    model: str
    serial_number: str
    mac_address: str
    firmware_version: str
    firmware_released_date: str
    encoder_version: str
    device_type: str
    fields: Mapping[str, str]


def parse_device_info(text: str) -> DeviceInfo:
    """A `DeviceInfo` document (any namespace or none) as a `DeviceInfo`."""
    fields = xml_fields(parse_xml(text))
    return DeviceInfo(
        device_name=fields.get("deviceName", ""),
        device_id=fields.get("deviceID", ""),
        model=fields.get("model", ""),
        serial_number=fields.get("serialNumber", ""),
        mac_address=fields.get("macAddress", ""),
        firmware_version=fields.get("firmwareVersion", ""),
        firmware_released_date=fields.get("firmwareReleasedDate", ""),
        encoder_version=fields.get("encoderVersion", ""),
        device_type=fields.get("deviceType", ""),
        fields=fields,
    )


@dataclass(frozen=True)
class DeviceStatus:
    """`GET /ISAPI/System/status`: the device's clock and seconds since boot.

    What identifies a boot: `deviceUpTime` goes back at a reboot, and the boot instant
    (clock minus up time) moves.
    """

    current_device_time: datetime | None
    up_time_s: float | None

    @property
    def boot_instant(self) -> float | None:
        """The device's boot as a POSIX time by its own clock; None when it tells no time."""
        if self.current_device_time is None or self.up_time_s is None:
            return None
        return self.current_device_time.timestamp() - self.up_time_s


def parse_device_status(text: str) -> DeviceStatus:
    """A `DeviceStatus` document; an absent or unreadable field is None."""
    root = parse_xml(text)
    clock = find_text(root, "currentDeviceTime")
    try:
        current = datetime.fromisoformat(clock) if clock else None
    except ValueError:
        current = None
    return DeviceStatus(current, _as_float(find_text(root, "deviceUpTime")))


@dataclass(frozen=True)
class ExternCapabilities:
    """The reset methods a device offers without login (`/ISAPI/Security/extern/capabilities`)."""

    security_email: bool
    security_question: bool
    guid_file: bool
    hc_app: bool


def parse_extern_capabilities(text: str) -> ExternCapabilities:
    """An `ExternCapabilities` document as typed flags (absent flag → False).

    Real firmware may send a flag as an empty element with `opt`; only `true` counts.
    """
    root = parse_xml(text)
    return ExternCapabilities(
        security_email=as_bool(find_text(root, "isSupportWithSecurityEmail")),
        security_question=as_bool(find_text(root, "isSupportWithSecurityQuestion")),
        guid_file=as_bool(find_text(root, "isSupportWithGUIDFileData")),
        hc_app=as_bool(find_text(root, "isSupportWithHCApp")),
    )


@dataclass(frozen=True)
class SecurityCap:
    """`GET /ISAPI/Security/capabilities[?username=admin]` (no login).

    `key_iterate_num` and `salt` come only when a user is named; without them the GUI
    (and this client) sends `security=1` fields plain.
    """

    key_iterate_num: int | None
    salt: str | None
    security_email: bool
    fields: Mapping[str, str]

    @property
    def field_encryption(self) -> bool:
        """Whether `security=1` field encryption can be used (keyIterateNum and salt given)."""
        return bool(self.key_iterate_num) and bool(self.salt)


def parse_security_cap(text: str) -> SecurityCap:
    """A `SecurityCap` document, each element optional."""
    root = parse_xml(text)
    fields = xml_fields(root)
    return SecurityCap(
        key_iterate_num=as_int(fields.get("keyIterateNum")),
        salt=fields.get("salt") or None,
        security_email=as_bool(fields.get("isSupportSecurityEmail")),
        fields=fields,
    )


@dataclass(frozen=True)
class SessionLoginCap:
    """`GET /ISAPI/Security/sessionLogin/capabilities?username=admin` (§5, §10)."""

    session_id: str
    challenge: str
    iterations: int | None
    irreversible: bool
    salt: str
    salt2: str | None
    version: str


def parse_session_login_cap(text: str) -> SessionLoginCap:
    """A `SessionLoginCap`; `sessionIDVersion` absent reads as "2" (the plain hash)."""
    fields = xml_fields(parse_xml(text))
    return SessionLoginCap(
        session_id=fields.get("sessionID", ""),
        challenge=fields.get("challenge", ""),
        iterations=as_int(fields.get("iterations")),
        irreversible=as_bool(fields.get("isIrreversible")),
        salt=fields.get("salt", ""),
        salt2=fields.get("salt2") or None,
        version=fields.get("sessionIDVersion") or "2",
    )


@dataclass(frozen=True)
class IllegalLoginLock:
    """`/ISAPI/Security/illegalLoginLock`: lock after `max_attempts` wrong logins, for minutes."""

    enabled: bool
    max_attempts: int
    lock_minutes: int


def parse_illegal_login_lock(text: str) -> IllegalLoginLock:
    """An `IllegalLoginLock` document (`maxIllegalLoginLockTime` in minutes)."""
    fields = xml_fields(parse_xml(text))
    return IllegalLoginLock(
        enabled=as_bool(fields.get("enabled")),
        max_attempts=as_int(fields.get("maxIllegalLoginTimes")) or 0,
        lock_minutes=as_int(fields.get("maxIllegalLoginLockTime")) or 0,
    )


@dataclass(frozen=True)
class ResetQr:
    """`GET /ISAPI/Security/email/qrCode`: the QR text, its PNG and how long it is valid."""

    text: str
    image_png: bytes | None
    valid_seconds: int | None


def reserved_address_of(doc: object) -> str | None:
    """The first address of a `SecurityEmail` JSON answer (masked by the device), or None."""
    email = doc.get("SecurityEmail") if isinstance(doc, dict) else None
    entries = email.get("SecurityInformation") if isinstance(email, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        address = entry.get("emailAddress") if isinstance(entry, dict) else None
        if isinstance(address, str) and address:
            return address
    return None


def parse_user_check(text: str, url: str) -> LoginRejected | None:
    """A 401 `userCheck` that judged a password as `LoginRejected`; None for anything else.

    A plain Digest challenge may also carry a `userCheck`, without lock state or attempts
    left: that one refused no password and is not a rejection.
    """
    try:
        root = parse_xml(text)
    except ET.ParseError:
        return None
    if local_name(root.tag) != "userCheck":
        return None
    fields = xml_fields(root)
    if "retryLoginTime" not in fields and "lockStatus" not in fields:
        return None  # a plain Digest challenge: no password was judged
    return LoginRejected(
        url=url,
        attempts_left=as_int(fields.get("retryLoginTime")),
        locked=fields.get("lockStatus", "").lower() == "lock",
        unlock_time_s=as_int(fields.get("unlockTime")) or 0,
    )


def parse_response_status(
    text: str, *, method: str, url: str, http_status: int
) -> IsapiError | None:
    """A ResponseStatus (XML in any namespace, or JSON) as `IsapiError`; None if not one."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            doc = json.loads(stripped)
        except json.JSONDecodeError:
            return None
        if not isinstance(doc, dict) or "statusCode" not in doc:
            return None
        values: Mapping[str, Any] = doc
    else:
        try:
            root = parse_xml(stripped)
        except ET.ParseError:
            return None
        if local_name(root.tag) != "ResponseStatus":
            return None
        values = xml_fields(root)
    return IsapiError(
        method=method,
        url=url,
        http_status=http_status,
        status_code=as_int(values.get("statusCode")),
        status_string=str(values.get("statusString", "")),
        sub_status_code=str(values.get("subStatusCode", "")),
        retry_times=as_int(values.get("retryTimes")),
        error_code=as_int(values.get("errorCode")),
    )


# ------------------------------------------------------------------------------ writing


def public_key_document(key_field: str) -> str:
    """`POST /ISAPI/Security/challenge` body."""
    return f"<PublicKey><key>{key_field}</key></PublicKey>"


def activate_document(encrypted_password: str) -> str:
    """`PUT /ISAPI/System/activate` body: the password only (no e-mail element, §10)."""
    return f"<ActivateInfo><password>{escape(encrypted_password)}</password></ActivateInfo>"


def session_login_document(user: str, hashed: str, cap: SessionLoginCap) -> str:
    """`POST /ISAPI/Security/sessionLogin` body, echoing the capabilities' version."""
    return (
        "<SessionLogin>"
        f"<userName>{escape(user)}</userName><password>{escape(hashed)}</password>"
        f"<sessionID>{escape(cap.session_id)}</sessionID>"
        "<isSessionIDValidLongTerm>false</isSessionIDValidLongTerm>"
        f"<sessionIDVersion>{escape(cap.version)}</sessionIDVersion></SessionLogin>"
    )


def illegal_login_lock_document(lock: IllegalLoginLock) -> str:
    """`PUT /ISAPI/Security/illegalLoginLock` body."""
    return (
        f"<IllegalLoginLock><enabled>{str(lock.enabled).lower()}</enabled>"
        f"<maxIllegalLoginTimes>{lock.max_attempts}</maxIllegalLoginTimes>"
        f"<maxIllegalLoginLockTime>{lock.lock_minutes}</maxIllegalLoginLockTime>"
        "</IllegalLoginLock>"
    )


def ssh_document(enabled: bool) -> str:
    """`PUT /ISAPI/System/Network/ssh` body."""
    return f"<SSH><enabled>{str(enabled).lower()}</enabled></SSH>"


def security_email_document(admin_password: str, address: str) -> str:
    """`PUT /ISAPI/Security/email/parameter?format=json` body (fields plain or encrypted)."""
    return json.dumps(
        {
            "SecurityEmail": {
                "password": admin_password,
                "SecurityInformation": [{"emailAddress": address}],
            }
        }
    )


def email_certification_document(code: str, reset_password: str | None = None) -> str:
    """`PUT /ISAPI/Security/emailCertification?format=json` body: the check (code only)
    or the reset (code and new password), fields plain or encrypted."""
    body: dict[str, str] = {"securityCode": code}
    if reset_password is not None:
        body["resetPassword"] = reset_password
    return json.dumps({"EmailCertification": body})
