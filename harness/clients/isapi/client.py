"""ISAPI client: how QA talks to a recorder or camera over HTTP(S), as to real hardware.

Written from DEVICE-SPEC.md and docs/device-api.md. Every call has a timeout, every
exchange lands masked in an `ExchangeLog`, and a device's error answers come back typed:
`LoginRejected` (wrong password or locked, with attempts left) and `IsapiError` (a
ResponseStatus with statusCode / subStatusCode / retryTimes). Neither is retried here: a
retried login can lock the device out for every later test.

Long (~425 lines) on purpose: one method per ISAPI call the spec names; transport,
documents, reboot waits and errors are modules of their own in this package.
"""

from __future__ import annotations

import base64
import binascii
import time
from typing import Final, Literal, Unpack

from harness.clients.isapi import documents as doc
from harness.clients.isapi.crypto import (
    ChallengeError,
    ChallengeKey,
    encrypt_field,
    encrypt_password,
    field_key,
    new_iv,
    session_login_hash,
)
from harness.clients.isapi.digest import DeviceDigestAuth, DigestAlgorithm
from harness.clients.isapi.errors import IsapiError, LoginRejected
from harness.clients.isapi.reboot import RebootWaits
from harness.clients.isapi.session import HEARTBEAT_INTERVAL_S, Heartbeat, Session
from harness.clients.isapi.transport import DEFAULT_TIMEOUT_S, TransportOptions
from harness.errors import ProductDefect, login_step

ADMIN: Final = "admin"
FactoryResetMode = Literal["basic", "full"]
# How a flagged field travels: "security" is `security=1` field encryption; "auto" is
# what the real GUI does: encrypted when SecurityCap gives keyIterateNum, plain otherwise.
FieldForm = Literal["auto", "plain", "security"]
# A reset's new password may also travel as at activation, after a fresh challenge.
ResetForm = Literal["auto", "plain", "security", "challenge"]
_XML: Final = {"Content-Type": "application/xml; charset=UTF-8"}
_JSON: Final = {"Content-Type": "application/json; charset=UTF-8"}
_EMAIL_PARAMETER: Final = "/ISAPI/Security/email/parameter?format=json"
_EMAIL_CERTIFICATION: Final = "/ISAPI/Security/emailCertification?format=json"


class IsapiClient(RebootWaits):
    """One device's ISAPI over HTTP(S), as a tester's tool or the web GUI would speak it.

    `verify` is True (system CAs), False (a lab's self-signed devices), a CA file path
    or a device's `TlsTrust` (certificate pins, harness.clients.tls).
    Log in with `use_digest`, `login_digest` or `login_session` before calls that need it;
    a session is kept alive by a heartbeat every `heartbeat_interval_s` until `logout` or
    `close`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        heartbeat_interval_s: float = HEARTBEAT_INTERVAL_S,
        **options: Unpack[TransportOptions],
    ) -> None:
        super().__init__(base_url, **options)
        self.heartbeat_interval_s = heartbeat_interval_s
        self.heartbeat: Heartbeat | None = None

    # -- lifecycle

    def close(self) -> None:
        """Stop the heartbeat, end a session still held (best effort), close the pool."""
        try:
            if self._session is not None:
                self.logout()
        except Exception:  # the device may be gone (rebooted, reset): closing goes on
            pass
        finally:
            self._stop_heartbeat()
            self._http.close()

    def __enter__(self) -> IsapiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- authentication

    def use_digest(
        self,
        password: str,
        *,
        algorithm: DigestAlgorithm | None = None,
        user: str = ADMIN,
    ) -> None:
        """Authenticate every later call with HTTP Digest in the algorithm the device
        offers; `algorithm` (MD5 or SHA-256) makes another offer a `ProductDefect`.

        Nothing is sent yet; the first call that needs login carries the password.
        """
        self.secrets.register(password)
        self._digest = DeviceDigestAuth(user, password, algorithm)

    @property
    def digest_algorithm(self) -> str | None:
        """The Digest algorithm the device offered last (None before any challenge)."""
        return self._digest.offered if self._digest is not None else None

    @login_step
    def login_digest(
        self,
        password: str,
        *,
        algorithm: DigestAlgorithm | None = None,
        user: str = ADMIN,
    ) -> doc.DeviceInfo:
        """Digest-authenticate and prove it with `GET /ISAPI/System/deviceInfo`.

        Raises `LoginRejected` (attempts left, lock state) when the device refuses.
        """
        self.use_digest(password, algorithm=algorithm, user=user)
        return self.device_info()

    def user_check(self) -> None:
        """`GET /ISAPI/Security/userCheck` with the Digest credentials in use: proves the
        password (the GUI's fallback login); `LoginRejected` when refused."""
        self._call("GET", f"/ISAPI/Security/userCheck?timeStamp={int(time.time() * 1000)}")

    @login_step
    def login_session(self, password: str, *, user: str = ADMIN) -> Session:
        """Log in as the web GUI does (§5, §10): capabilities, the hash of their
        `sessionIDVersion` (2, or 2.1 with salt2), the session cookie, then a heartbeat.

        Raises `LoginRejected` with attempts left / lock state when the device refuses.
        """
        self.secrets.register(password)
        self._digest = None
        caps_path = f"/ISAPI/Security/sessionLogin/capabilities?username={user}"
        cap = doc.parse_session_login_cap(self._call("GET", caps_path, auth=False).text)
        for value in (cap.session_id, cap.challenge, cap.salt, cap.salt2):
            self.secrets.register(value)
        where = f"{self.base_url}{caps_path}"
        if not cap.irreversible:
            raise ProductDefect(f"{where}: isIrreversible is not true; §5 describes only it")
        if cap.iterations is None or not cap.salt or not cap.challenge:
            raise ProductDefect(f"{where}: incomplete SessionLoginCap {cap}")
        try:
            hashed = session_login_hash(
                user, password, salt=cap.salt, challenge=cap.challenge,
                iterations=cap.iterations, version=cap.version, salt2=cap.salt2,
            )
        except ChallengeError as exc:
            raise ProductDefect(f"{where}: {exc}") from exc
        self.secrets.register(hashed)
        response = self._call(
            "POST",
            f"/ISAPI/Security/sessionLogin?timeStamp={int(time.time() * 1000)}",
            content=doc.session_login_document(user, hashed, cap),
            headers=_XML,
            auth=False,
        )
        cookie_name = next((c for c in response.cookies if c.startswith("WebSession_")), None)
        if cookie_name is None:
            raise ProductDefect(
                f"{self.base_url}/ISAPI/Security/sessionLogin succeeded without a "
                "WebSession_* cookie (spec §5)"
            )
        self.secrets.register(response.cookies[cookie_name])
        # The answer's root is SessionUserCheck or SessionLogin, depending on firmware.
        answer = doc.xml_fields(doc.parse_xml(response.text))
        status = answer.get("statusValue")
        if status is not None and status != "200":
            raise ProductDefect(f"{self.base_url}/ISAPI/Security/sessionLogin: {answer}")
        self._session = Session(cap.session_id, cookie_name, cap.version)
        self._stop_heartbeat()
        self.heartbeat = Heartbeat(
            self.session_heartbeat, self.heartbeat_interval_s,
            name=f"heartbeat {self.base_url}",
        ).start()
        return self._session

    def session_heartbeat(self) -> None:
        """`PUT /ISAPI/Security/sessionHeartbeat`: keeps the session alive (the heartbeat
        thread calls it; a test may too)."""
        self._call("PUT", "/ISAPI/Security/sessionHeartbeat", auth=False)

    def _stop_heartbeat(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat.stop(self.timeout + 1)

    def logout(self) -> None:
        """End the session login (`PUT /ISAPI/Security/sessionLogout`) and drop credentials."""
        self._stop_heartbeat()
        session, self._session = self._session, None
        self._digest = None
        try:
            if session is not None:
                self._call("PUT", "/ISAPI/Security/sessionLogout", auth=False)
        finally:
            self._http.cookies.clear()

    # -- without login

    def activated(self) -> bool:
        """`GET /SDK/activateStatus`: True once the device has an admin password."""
        text = self._call("GET", "/SDK/activateStatus", auth=False).text
        value = doc.find_text(doc.parse_xml(text), "Activated")
        if value is None:
            raise ProductDefect(f"{self.base_url}/SDK/activateStatus has no <Activated>")
        return doc.as_bool(value)

    def extern_capabilities(self) -> doc.ExternCapabilities:
        """The reset methods offered on the login page, no login needed."""
        text = self._call("GET", "/ISAPI/Security/extern/capabilities", auth=False).text
        return doc.parse_extern_capabilities(text)

    def security_capabilities(self, user: str | None = ADMIN) -> doc.SecurityCap:
        """`GET /ISAPI/Security/capabilities[?username=…]` (no login): keyIterateNum and
        salt (only when a user is named), isSupportSecurityEmail."""
        path = "/ISAPI/Security/capabilities" + (f"?username={user}" if user else "")
        cap = doc.parse_security_cap(self._call("GET", path, auth=False).text)
        self.secrets.register(cap.salt)
        return cap

    def security_email_supported(self) -> bool:
        """`isSupportSecurityEmail` of `/ISAPI/Security/capabilities`."""
        return self.security_capabilities().security_email

    def _challenge(self) -> str:
        """`POST /ISAPI/Security/challenge` with a fresh RSA-1024 key; the 32 hex characters."""
        key = ChallengeKey.generate()
        answer = self._call(
            "POST", "/ISAPI/Security/challenge",
            content=doc.public_key_document(key.public_key_field()), headers=_XML, auth=False,
        )
        field = doc.find_text(doc.parse_xml(answer.text), "key")
        if not field:
            raise ProductDefect(f"{self.base_url}/ISAPI/Security/challenge: no <key> in answer")
        try:
            challenge = key.decrypt_challenge(field)
        except ChallengeError as exc:
            raise ProductDefect(f"{self.base_url}/ISAPI/Security/challenge: {exc}") from exc
        self.secrets.register(challenge)
        return challenge

    def _as_at_activation(self, password: str) -> str:
        encrypted = encrypt_password(self._challenge(), password)
        self.secrets.register(encrypted)
        return encrypted

    def activate(self, password: str, email: str | None = None) -> None:
        """Activate an inactive device with `password` (§3); then, if `email` is given,
        reserve it through `email/parameter` as the real GUI does (`set_reserved_email`).

        Raises `IsapiError` (e.g. 403 `invalidOperation` when already active, 400
        `riskPassword` / `badParameters` for a refused password).
        """
        self.secrets.register(password)
        body = doc.activate_document(self._as_at_activation(password))
        self._call("PUT", "/ISAPI/System/activate", content=body, headers=_XML, auth=False)
        if email:
            self.set_reserved_email(email, password)

    def qr_code(self) -> doc.ResetQr:
        """`GET /ISAPI/Security/email/qrCode`: a new reset QR (voids the previous one).

        The phone-app role never reads the QR here: it scans the GUI's picture. This is for
        API-level tests and for comparing the picture with what the device meant.
        """
        answer = self._call("GET", "/ISAPI/Security/email/qrCode?format=json", auth=False)
        body = answer.json()
        qr = body.get("QRCode", {}) if isinstance(body, dict) else {}
        text = qr.get("qrText") if isinstance(qr, dict) else None
        if not isinstance(text, str) or not text:
            raise ProductDefect(f"{self.base_url}/ISAPI/Security/email/qrCode: no qrText")
        return doc.ResetQr(
            text=text,
            image_png=_data_url_bytes(qr.get("qrImage")),
            valid_seconds=doc.as_int(qr.get("validSeconds")),
        )

    def reserved_email(self) -> str | None:
        """The reserved address as the device shows it (masked, e.g. `b****@example.com`).

        Needs no login (real firmware's noAuth list), so it proves no password.
        """
        answer = self._call("GET", _EMAIL_PARAMETER, auth=False)
        return doc.reserved_address_of(answer.json())

    def _field_encryption(
        self, form: FieldForm | ResetForm, key_password: str
    ) -> tuple[bytes, str] | None:
        """(key, iv) for a `security=1` request, or None when the fields go plain."""
        if form in ("plain", "challenge"):
            return None
        cap = self.security_capabilities()
        if cap.key_iterate_num is None or not cap.salt:
            if form == "security":
                raise ProductDefect(
                    f"{self.base_url}/ISAPI/Security/capabilities?username={ADMIN} gives no "
                    "keyIterateNum and salt: security=1 cannot be used"
                )
            return None  # what the GUI does without keyIterateNum: plain fields
        return field_key(ADMIN, cap.salt, key_password, cap.key_iterate_num), new_iv()

    def _encrypted(self, value: str, crypt: tuple[bytes, str] | None) -> str:
        if crypt is None:
            return value
        encrypted = encrypt_field(value, *crypt)
        self.secrets.register(encrypted)
        return encrypted

    def set_reserved_email(
        self, address: str, admin_password: str, *, form: FieldForm = "auto"
    ) -> None:
        """Reserve `address` for password reset; the body proves itself with the admin
        password (§6), no login needed. `form`: `security` encrypts both fields under the
        admin password's key (`…?format=json?security=1&iv=…`, as the real GUI sends it),
        `plain` does not, `auto` follows SecurityCap.

        Raises `IsapiError` (`passwordError` with `retry_times`, `badParameters`,
        `notSupport`).
        """
        self.secrets.register(admin_password)
        crypt = self._field_encryption(form, admin_password)
        body = doc.security_email_document(
            self._encrypted(admin_password, crypt), self._encrypted(address, crypt)
        )
        self._call("PUT", _with_security(_EMAIL_PARAMETER, crypt), content=body,
                   headers=_JSON, auth=False)

    def check_verification_code(self, code: str, *, form: FieldForm = "auto") -> None:
        """Key in the mailed code (§7, first phase): the device checks it and does not use
        it up. Raises `IsapiError` `verificationCodeError` (with `retry_times`; counts
        towards the limit) or `verificationCodeExpired` (void, used, expired, over the limit).
        """
        self.secrets.register(code)
        # The user has forgotten the password: the security=1 key is made with "" ([dec]).
        crypt = self._field_encryption(form, "")
        body = doc.email_certification_document(self._encrypted(code, crypt))
        self._call("PUT", _with_security(_EMAIL_CERTIFICATION, crypt), content=body,
                   headers=_JSON, auth=False)

    def reset_password_by_code(
        self, code: str, new_password: str, *, form: ResetForm = "auto"
    ) -> None:
        """Set a new admin password with the mailed code (§7, second phase); the code is
        used up. `form` of both fields: `auto` (as the GUI: `security=1` when SecurityCap
        gives keyIterateNum, else plain), `plain`, `security`, or `challenge` (the new
        password as at activation after a fresh challenge, the code plain).

        Raises `IsapiError` as `check_verification_code`, or `riskPassword` /
        `badParameters` for a refused password (the code then stays unused).
        """
        self.secrets.register(code)
        self.secrets.register(new_password)
        crypt = self._field_encryption(form, "")
        if form == "challenge":
            password_field = self._as_at_activation(new_password)
        else:
            password_field = self._encrypted(new_password, crypt)
        body = doc.email_certification_document(self._encrypted(code, crypt), password_field)
        self._call("PUT", _with_security(_EMAIL_CERTIFICATION, crypt), content=body,
                   headers=_JSON, auth=False)

    # -- with login

    def device_info(self) -> doc.DeviceInfo:
        """`GET /ISAPI/System/deviceInfo` (login): model, serial, firmware, type."""
        return doc.parse_device_info(self._call("GET", "/ISAPI/System/deviceInfo").text)

    def illegal_login_lock(self) -> doc.IllegalLoginLock:
        """The illegal-login lock settings (§5)."""
        text = self._call("GET", "/ISAPI/Security/illegalLoginLock").text
        return doc.parse_illegal_login_lock(text)

    def set_illegal_login_lock(self, lock: doc.IllegalLoginLock) -> None:
        """Change the illegal-login lock (times 3-20, minutes 1-120, else `badParameters`)."""
        self._call("PUT", "/ISAPI/Security/illegalLoginLock",
                   content=doc.illegal_login_lock_document(lock), headers=_XML)

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
        return doc.as_bool(doc.find_text(doc.parse_xml(text), "enabled"))

    def set_ssh(self, enabled: bool) -> None:
        """Turn the device's SSH service on or off (off by default, §8)."""
        self._call("PUT", "/ISAPI/System/Network/ssh", content=doc.ssh_document(enabled),
                   headers=_XML)


def _with_security(path: str, crypt: tuple[bytes, str] | None) -> str:
    """`path` with the real GUI's field-encryption parameters after a second `?`."""
    return path if crypt is None else f"{path}?security=1&iv={crypt[1]}"


def _data_url_bytes(value: object) -> bytes | None:
    if not isinstance(value, str) or "," not in value:
        return None
    try:
        return base64.b64decode(value.split(",", 1)[1], validate=True)
    except binascii.Error:
        return None


__all__ = ["ADMIN", "DEFAULT_TIMEOUT_S", "FactoryResetMode", "FieldForm", "IsapiClient",
           "IsapiError", "LoginRejected", "ResetForm"]
