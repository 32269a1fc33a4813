"""ISAPI client: how QA talks to a recorder or camera over HTTP(S), as to real hardware.

Written from DEVICE-SPEC.md and docs/device-api.md. Every call has a timeout, every
exchange lands masked in an `ExchangeLog`, and a device's error answers come back typed:
`LoginRejected` (wrong password or locked, with attempts left) and `IsapiError` (a
ResponseStatus with statusCode / subStatusCode / retryTimes). Neither is retried here: a
retried login can lock the device out for every later test.
"""

from __future__ import annotations

import base64
import binascii
import json
import socket
import ssl
import time
import xml.etree.ElementTree as ET
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape

import httpx

from harness.devicecrypto import (
    ChallengeError,
    ChallengeKey,
    encrypt_password,
    session_login_hash,
)
from harness.errors import (
    DeviceError,
    HarnessError,
    InfrastructureError,
    ProductDefect,
    login_step,
)
from harness.evidence import ExchangeLog, Secrets
from harness.tls import tls_context

ADMIN = "admin"
DigestAlgorithm = Literal["MD5", "SHA-256"]
FactoryResetMode = Literal["basic", "full"]
_XML = {"Content-Type": "application/xml; charset=UTF-8"}
_JSON = {"Content-Type": "application/json; charset=UTF-8"}
# Answers are small; a device that takes longer than this for one call is not healthy.
DEFAULT_TIMEOUT_S = 10.0


# ---------------------------------------------------------------------------- results


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


@dataclass(frozen=True)
class DeviceInfo:
    """`GET /ISAPI/System/deviceInfo`, read without depending on the XML namespace."""

    device_name: str
    device_id: str
    model: str
    serial_number: str
    mac_address: str
    firmware_version: str
    firmware_released_date: str
    encoder_version: str
    device_type: str
    boot_time: str | None
    boot_id: str | None
    fields: Mapping[str, str]

    @property
    def boot_identity(self) -> str | None:
        """What changes at every boot: the boot id when the device gives one, else bootTime.

        bootTime alone has a one-second resolution, too coarse for a fast reboot.
        """
        return self.boot_id or self.boot_time


@dataclass(frozen=True)
class ExternCapabilities:
    """The reset methods a device offers without login (`/ISAPI/Security/extern/capabilities`)."""

    security_email: bool
    security_question: bool
    guid_file: bool
    hc_app: bool


@dataclass(frozen=True)
class ResetQr:
    """`GET /ISAPI/Security/email/qrCode`: the QR text, its PNG and how long it is valid."""

    text: str
    image_png: bytes | None
    valid_seconds: int | None


@dataclass(frozen=True)
class IllegalLoginLock:
    """`/ISAPI/Security/illegalLoginLock`: lock after `max_attempts` wrong logins, for minutes."""

    enabled: bool
    max_attempts: int
    lock_minutes: int


@dataclass(frozen=True)
class Session:
    """A session login (§5): its ID and the `WebSession_*` cookie the client now sends."""

    session_id: str
    cookie_name: str


# ------------------------------------------------------------------- XML / JSON parsing


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_xml(text: str) -> ET.Element:
    """Parse a device's XML answer; element names are compared without namespace."""
    return ET.fromstring(text.lstrip())


def xml_fields(root: ET.Element) -> dict[str, str]:
    """The direct children of `root` as {local name: text}, whatever the namespace."""
    return {_local(child.tag): (child.text or "").strip() for child in root}


def _find_text(root: ET.Element, name: str) -> str | None:
    for element in root.iter():
        if _local(element.tag) == name:
            return (element.text or "").strip()
    return None


def _as_bool(text: str | None) -> bool:
    return (text or "").strip().lower() == "true"


def _as_int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


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
        boot_time=fields.get("bootTime"),
        boot_id=fields.get("bootID"),
        fields=fields,
    )


def parse_extern_capabilities(text: str) -> ExternCapabilities:
    """An `ExternCapabilities` document as typed flags (absent flag → False)."""
    fields = xml_fields(parse_xml(text))
    return ExternCapabilities(
        security_email=_as_bool(fields.get("isSupportWithSecurityEmail")),
        security_question=_as_bool(fields.get("isSupportWithSecurityQuestion")),
        guid_file=_as_bool(fields.get("isSupportWithGUIDFileData")),
        hc_app=_as_bool(fields.get("isSupportWithHCApp")),
    )


def parse_user_check(text: str, url: str) -> LoginRejected | None:
    """A 401 `userCheck` that judged a password as `LoginRejected`; None for anything else.

    A plain Digest challenge also carries a `userCheck`, without lock state or attempts
    left: that one refused no password and is not a rejection.
    """
    try:
        root = parse_xml(text)
    except ET.ParseError:
        return None
    if _local(root.tag) != "userCheck":
        return None
    fields = xml_fields(root)
    if "retryLoginTime" not in fields and "lockStatus" not in fields:
        return None  # a plain Digest challenge: no password was judged
    return LoginRejected(
        url=url,
        attempts_left=_as_int(fields.get("retryLoginTime")),
        locked=fields.get("lockStatus", "").lower() == "lock",
        unlock_time_s=_as_int(fields.get("unlockTime")) or 0,
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
        return IsapiError(
            method=method,
            url=url,
            http_status=http_status,
            status_code=_as_int(doc.get("statusCode")),
            status_string=str(doc.get("statusString", "")),
            sub_status_code=str(doc.get("subStatusCode", "")),
            retry_times=_as_int(doc.get("retryTimes")),
            error_code=_as_int(doc.get("errorCode")),
        )
    try:
        root = parse_xml(stripped)
    except ET.ParseError:
        return None
    if _local(root.tag) != "ResponseStatus":
        return None
    fields = xml_fields(root)
    return IsapiError(
        method=method,
        url=url,
        http_status=http_status,
        status_code=_as_int(fields.get("statusCode")),
        status_string=fields.get("statusString", ""),
        sub_status_code=fields.get("subStatusCode", ""),
        retry_times=_as_int(fields.get("retryTimes")),
        error_code=_as_int(fields.get("errorCode")),
    )


# ------------------------------------------------------------------------ Digest auth


class _DeviceDigestAuth(httpx.DigestAuth):
    """httpx's Digest, choosing the challenge of one algorithm and never repeating a login.

    A device offers one `WWW-Authenticate` per algorithm (MD5 and SHA-256); httpx would take
    the first. After the first exchange the client answers pre-emptively; if such an answer
    is refused with a `userCheck` (the password is wrong), it is not sent again, so one call
    costs at most one wrong attempt. A plain 401 (stale nonce) is answered once more.
    """

    requires_response_body = True

    def __init__(self, username: str, password: str, algorithm: DigestAlgorithm) -> None:
        super().__init__(username, password)
        self.algorithm = algorithm

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
        chosen = next(
            (
                h
                for h in offers
                if self._parse_challenge(request, response, h).algorithm.upper() == self.algorithm
            ),
            None,
        )
        if chosen is None:
            # The device does not offer the algorithm: leave the 401 to the caller, which
            # reports it; falling back to another algorithm would test the wrong thing.
            return
        self._last_challenge = self._parse_challenge(request, response, chosen)
        self._nonce_count = 1
        request.headers["Authorization"] = self._build_auth_header(request, self._last_challenge)
        if response.cookies:
            httpx.Cookies(response.cookies).set_cookie_header(request=request)
        yield request


# ----------------------------------------------------------------------------- client


class IsapiClient:
    """One device's ISAPI over HTTP(S), as a tester's tool or the web GUI would speak it.

    `verify` is True (system CAs), False (a lab's self-signed devices) or a CA file path.
    Log in with `use_digest` or `login_session` before calls that need it.
    """

    def __init__(
        self,
        base_url: str,
        *,
        verify: bool | str | Path = True,
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
            verify=tls_context(verify),
            timeout=httpx.Timeout(timeout),
            event_hooks={"request": [self._on_request], "response": [self._on_response]},
        )
        self._session: Session | None = None
        self._digest: _DeviceDigestAuth | None = None

    # -- lifecycle

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> IsapiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        try:
            return self._http.request(
                method,
                path,
                content=content.encode("utf-8") if content is not None else None,
                headers=headers,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
                auth=self._digest if auth else None,
            )
        except httpx.HTTPError as exc:
            error = _connection_error(self.base_url, method, path, exc)
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
            return response
        raise self._error_of(method, path, response)

    def _error_of(self, method: str, path: str, response: httpx.Response) -> Exception:
        url = self.base_url + path
        text = response.text
        if response.status_code == 401:
            rejected = parse_user_check(text, url)
            if rejected is not None:
                return rejected
        status = parse_response_status(
            text, method=method, url=url, http_status=response.status_code
        )
        if status is not None:
            return status
        if response.status_code == 401:
            auth = self._digest
            if "authorization" not in response.request.headers:
                if isinstance(auth, _DeviceDigestAuth):
                    return ProductDefect(
                        f"{method} {url}: the device offers no Digest {auth.algorithm} "
                        "challenge (spec §5: MD5 and SHA-256)"
                    )
                if auth is None and self._session is None:
                    return HarnessError(
                        f"{method} {url} needs login: call use_digest or login_session first"
                    )
            return LoginRejected(url=url, attempts_left=None, locked=False, unlock_time_s=0)
        return ProductDefect(
            f"{method} {url} answered {response.status_code} without a ResponseStatus "
            f"(spec §9): {text[:200]!r}"
        )

    # -- authentication

    def use_digest(
        self, password: str, *, algorithm: DigestAlgorithm = "MD5", user: str = ADMIN
    ) -> None:
        """Authenticate every later call with HTTP Digest of `algorithm` (MD5 or SHA-256).

        Nothing is sent yet; the first call that needs login carries the password.
        """
        self.secrets.register(password)
        self._digest = _DeviceDigestAuth(user, password, algorithm)

    @login_step
    def login_digest(
        self, password: str, *, algorithm: DigestAlgorithm = "MD5", user: str = ADMIN
    ) -> DeviceInfo:
        """Digest-authenticate and prove it with `GET /ISAPI/System/deviceInfo`.

        Raises `LoginRejected` (attempts left, lock state) when the device refuses.
        """
        self.use_digest(password, algorithm=algorithm, user=user)
        return self.device_info()

    @login_step
    def login_session(self, password: str, *, user: str = ADMIN) -> Session:
        """Log in as the web GUI does (§5): capabilities, iterated SHA-256, session cookie.

        Raises `LoginRejected` with attempts left / lock state when the device refuses.
        """
        self.secrets.register(password)
        self._digest = None
        caps_path = f"/ISAPI/Security/sessionLogin/capabilities?username={user}"
        caps = xml_fields(parse_xml(self._call("GET", caps_path, auth=False).text))
        self.secrets.register(caps.get("sessionID"))
        self.secrets.register(caps.get("challenge"))
        if not _as_bool(caps.get("isIrreversible")):
            raise ProductDefect(
                f"{self.base_url}{caps_path}: isIrreversible is not true; spec §5 describes "
                "only the irreversible hash"
            )
        iterations = _as_int(caps.get("iterations"))
        if iterations is None or not caps.get("salt") or not caps.get("challenge"):
            raise ProductDefect(f"{self.base_url}{caps_path}: incomplete SessionLoginCap {caps}")
        hashed = session_login_hash(
            user,
            password,
            salt=caps["salt"],
            challenge=caps["challenge"],
            iterations=iterations,
        )
        self.secrets.register(hashed)
        body = (
            "<SessionLogin>"
            f"<userName>{escape(user)}</userName><password>{hashed}</password>"
            f"<sessionID>{escape(caps.get('sessionID', ''))}</sessionID>"
            "<isSessionIDValidLongTerm>false</isSessionIDValidLongTerm>"
            "<sessionIDVersion>2</sessionIDVersion></SessionLogin>"
        )
        response = self._call(
            "POST", "/ISAPI/Security/sessionLogin", content=body, headers=_XML, auth=False
        )
        cookie_name = next((c for c in response.cookies if c.startswith("WebSession_")), None)
        if cookie_name is None:
            raise ProductDefect(
                f"{self.base_url}/ISAPI/Security/sessionLogin succeeded without a "
                "WebSession_* cookie (spec §5)"
            )
        self.secrets.register(response.cookies[cookie_name])
        answer = xml_fields(parse_xml(response.text))
        self._session = Session(
            session_id=answer.get("sessionID", caps.get("sessionID", "")),
            cookie_name=cookie_name,
        )
        return self._session

    def logout(self) -> None:
        """End the session login (`PUT /ISAPI/Security/sessionLogout`) and drop credentials."""
        if self._session is not None:
            self._call("PUT", "/ISAPI/Security/sessionLogout")
        self._session = None
        self._digest = None
        self._http.cookies.clear()

    # -- without login

    def activated(self) -> bool:
        """`GET /SDK/activateStatus`: True once the device has an admin password."""
        text = self._call("GET", "/SDK/activateStatus", auth=False).text
        value = _find_text(parse_xml(text), "Activated")
        if value is None:
            raise ProductDefect(f"{self.base_url}/SDK/activateStatus has no <Activated>")
        return _as_bool(value)

    def extern_capabilities(self) -> ExternCapabilities:
        """The reset methods offered on the login page, no login needed."""
        text = self._call("GET", "/ISAPI/Security/extern/capabilities", auth=False).text
        return parse_extern_capabilities(text)

    def _challenge(self) -> str:
        """`POST /ISAPI/Security/challenge` with a fresh RSA-1024 key; the 32 hex characters."""
        key = ChallengeKey.generate()
        body = f"<PublicKey><key>{key.public_key_field()}</key></PublicKey>"
        answer = self._call(
            "POST", "/ISAPI/Security/challenge", content=body, headers=_XML, auth=False
        )
        field = _find_text(parse_xml(answer.text), "key")
        if not field:
            raise ProductDefect(f"{self.base_url}/ISAPI/Security/challenge: no <key> in answer")
        try:
            challenge = key.decrypt_challenge(field)
        except ChallengeError as exc:
            raise ProductDefect(f"{self.base_url}/ISAPI/Security/challenge: {exc}") from exc
        self.secrets.register(challenge)
        return challenge

    def activate(self, password: str, email: str | None = None) -> None:
        """Activate an inactive device with `password` (§3), reserving `email` if given.

        Raises `IsapiError` (e.g. 403 `invalidOperation` when already active, 400
        `riskPassword` / `badParameters` for a refused password).
        """
        self.secrets.register(password)
        encrypted = encrypt_password(self._challenge(), password)
        self.secrets.register(encrypted)
        reserved = f"<reservedEmail>{escape(email)}</reservedEmail>" if email else ""
        body = f"<ActivateInfo><password>{encrypted}</password>{reserved}</ActivateInfo>"
        self._call("PUT", "/ISAPI/System/activate", content=body, headers=_XML, auth=False)

    def qr_code(self) -> ResetQr:
        """`GET /ISAPI/Security/email/qrCode`: a new reset QR (voids the previous one).

        The phone-app role never reads the QR here: it scans the GUI's picture. This is for
        API-level tests and for comparing the picture with what the device meant.
        """
        doc = self._call("GET", "/ISAPI/Security/email/qrCode?format=json", auth=False).json()
        qr = doc.get("QRCode", {}) if isinstance(doc, dict) else {}
        text = qr.get("qrText")
        if not isinstance(text, str) or not text:
            raise ProductDefect(f"{self.base_url}/ISAPI/Security/email/qrCode: no qrText")
        return ResetQr(
            text=text,
            image_png=_data_url_bytes(qr.get("qrImage")),
            valid_seconds=_as_int(qr.get("validSeconds")),
        )

    def submit_verification_code(self, code: str) -> str:
        """Key in the mailed code (§7); returns the reset token (valid 5 minutes).

        Raises `IsapiError` `verificationCodeError` (with `retry_times`) or
        `verificationCodeExpired`.
        """
        self.secrets.register(code)
        body = json.dumps({"EmailCertification": {"verificationCode": code}})
        doc = self._call(
            "PUT",
            "/ISAPI/Security/emailCertification?format=json",
            content=body,
            headers=_JSON,
            auth=False,
        ).json()
        token = (
            (doc.get("EmailCertification") or {}).get("resetToken")
            if isinstance(doc, dict)
            else None
        )
        if not isinstance(token, str) or not token:
            raise ProductDefect(
                f"{self.base_url}/ISAPI/Security/emailCertification: no resetToken in answer"
            )
        self.secrets.register(token)
        return token

    def set_password_with_token(self, token: str, password: str) -> None:
        """Set the new admin password with a reset token (§7), encrypted as for activation."""
        self.secrets.register(token)
        self.secrets.register(password)
        encrypted = encrypt_password(self._challenge(), password)
        self.secrets.register(encrypted)
        body = json.dumps({"EmailCertification": {"resetToken": token, "password": encrypted}})
        self._call(
            "PUT",
            "/ISAPI/Security/emailCertification?format=json",
            content=body,
            headers=_JSON,
            auth=False,
        )

    # -- with login

    def device_info(self) -> DeviceInfo:
        """`GET /ISAPI/System/deviceInfo` (login): model, serial, firmware, type, boot time."""
        return parse_device_info(self._call("GET", "/ISAPI/System/deviceInfo").text)

    def security_email_supported(self) -> bool:
        """`isSupportSecurityEmail` of `/ISAPI/Security/capabilities` (login)."""
        text = self._call("GET", "/ISAPI/Security/capabilities").text
        return _as_bool(_find_text(parse_xml(text), "isSupportSecurityEmail"))

    def reserved_email(self) -> str | None:
        """The reserved address as the device shows it (masked, e.g. `b****@example.com`)."""
        doc = self._call("GET", "/ISAPI/Security/email/parameter?format=json").json()
        entries = (doc.get("SecurityEmail") or {}).get("SecurityInformation") or []
        for entry in entries:
            address = entry.get("emailAddress") if isinstance(entry, dict) else None
            if isinstance(address, str) and address:
                return address
        return None

    def set_reserved_email(self, address: str, admin_password: str) -> None:
        """Reserve `address` for password reset; the device wants the admin password (§6).

        Raises `IsapiError` (`passwordError` with `retry_times`, `badParameters`,
        `notSupport`).
        """
        self.secrets.register(admin_password)
        body = json.dumps(
            {
                "SecurityEmail": {
                    "password": admin_password,
                    "SecurityInformation": [{"emailAddress": address}],
                }
            }
        )
        self._call(
            "PUT", "/ISAPI/Security/email/parameter?format=json", content=body, headers=_JSON
        )

    def illegal_login_lock(self) -> IllegalLoginLock:
        """The illegal-login lock settings (§5)."""
        fields = xml_fields(parse_xml(self._call("GET", "/ISAPI/Security/illegalLoginLock").text))
        return IllegalLoginLock(
            enabled=_as_bool(fields.get("enabled")),
            max_attempts=_as_int(fields.get("maxIllegalLoginTimes")) or 0,
            lock_minutes=_as_int(fields.get("lockTime")) or 0,
        )

    def set_illegal_login_lock(self, lock: IllegalLoginLock) -> None:
        """Change the illegal-login lock (times 3-20, minutes 1-120, else `badParameters`)."""
        body = (
            f"<IllegalLoginLock><enabled>{str(lock.enabled).lower()}</enabled>"
            f"<maxIllegalLoginTimes>{lock.max_attempts}</maxIllegalLoginTimes>"
            f"<lockTime>{lock.lock_minutes}</lockTime></IllegalLoginLock>"
        )
        self._call("PUT", "/ISAPI/Security/illegalLoginLock", content=body, headers=_XML)

    def factory_reset(self, mode: FactoryResetMode) -> None:
        """Factory reset (§8): `basic` keeps users and e-mail, `full` returns to inactive.

        The device reboots afterwards; follow with `wait_until_rebooted`.
        """
        self._call("PUT", f"/ISAPI/System/factoryReset?mode={mode}")

    def reboot(self) -> None:
        """Reboot the device; follow with `wait_until_rebooted` (see there why not only up)."""
        self._call("PUT", "/ISAPI/System/reboot")

    def ssh_enabled(self) -> bool:
        """Whether the device's SSH service is on."""
        text = self._call("GET", "/ISAPI/System/Network/ssh").text
        return _as_bool(_find_text(parse_xml(text), "enabled"))

    def set_ssh(self, enabled: bool) -> None:
        """Turn the device's SSH service on or off (off by default, §8)."""
        body = f"<SSH><enabled>{str(enabled).lower()}</enabled></SSH>"
        self._call("PUT", "/ISAPI/System/Network/ssh", content=body, headers=_XML)

    def wait_until_rebooted(
        self, before: DeviceInfo, timeout: float, *, interval: float = 0.2
    ) -> bool:
        """Wait until the device has rebooted since `before` and answers; its activation state.

        `wait_until_up` alone can return before a reboot even starts (the device answers
        the reboot request first). This waits for a new boot identity (`DeviceInfo.
        boot_identity`), or for the device to come back inactive (after a full factory
        reset, which needs no login to tell). Needs the login used for `before`.
        """
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while True:
            try:
                if not self.wait_until_up(max(0.1, deadline - time.monotonic()), interval=interval):
                    return False
                now = self.device_info()
                if now.boot_identity != before.boot_identity:
                    return True
                last = "same boot identity as before"
            except (DeviceError, InfrastructureError, IsapiError) as exc:
                last = str(exc)
            if time.monotonic() + interval > deadline:
                raise DeviceError(
                    f"{self.base_url} did not reboot within {timeout:.0f} s "
                    f"(waited for a new boot identity; last: {last})"
                )
            time.sleep(interval)

    def wait_until_up(self, timeout: float, *, interval: float = 0.2) -> bool:
        """Poll `/SDK/activateStatus` until the device answers; returns its activation state.

        While a device boots it refuses connections or does not answer; that is expected and
        polled through. Gives up after `timeout` seconds with a one-line `DeviceError`.
        """
        deadline = time.monotonic() + timeout
        last = "no attempt"
        while True:
            remaining = deadline - time.monotonic()
            per_call = max(0.1, min(self.timeout, remaining))
            try:
                response = self._send("GET", "/SDK/activateStatus", auth=False, timeout=per_call)
                if response.is_success:
                    value = _find_text(parse_xml(response.text), "Activated")
                    if value is not None:
                        return _as_bool(value)
                last = f"answered {response.status_code}"
            except (DeviceError, InfrastructureError) as exc:
                last = str(exc)
            except ET.ParseError:
                last = "answered something that is not XML"
            if time.monotonic() + interval > deadline:
                raise DeviceError(
                    f"{self.base_url} did not come up within {timeout:.0f} s "
                    f"(waited for /SDK/activateStatus; last: {last})"
                )
            time.sleep(interval)


def _data_url_bytes(value: object) -> bytes | None:
    if not isinstance(value, str) or "," not in value:
        return None
    try:
        return base64.b64decode(value.split(",", 1)[1], validate=True)
    except binascii.Error:
        return None


def _connection_error(base_url: str, method: str, path: str, exc: httpx.HTTPError) -> Exception:
    """A transport failure as a one-line failure of the right kind, naming the address."""
    error = _connection_error_of(f"{method} {base_url}{path}", exc)
    return type(error)(" ".join(str(error).split()))


def _connection_error_of(what: str, exc: httpx.HTTPError) -> Exception:
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
