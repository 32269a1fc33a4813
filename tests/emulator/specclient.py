"""A small ISAPI client written from DEVICE-SPEC.md (§3, §5, §10) and docs/device-api.md,
not from the emulator's code: the tests check the device against it. Uses `cryptography`
and `hashlib` only; it never imports the emulator.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import xml.etree.ElementTree as ET
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

TIMEOUT = httpx.Timeout(10.0)
USER = "admin"
EMAIL_PARAMETER = "/ISAPI/Security/email/parameter"
CERTIFICATION = "/ISAPI/Security/emailCertification"


def leaves(text: str) -> dict[str, str]:
    """Leaf elements of an XML document by local name (namespace-agnostic)."""
    root = ET.fromstring(text)
    return {el.tag.rsplit("}", 1)[-1]: (el.text or "") for el in root.iter() if len(el) == 0}


def root_name(text: str) -> str:
    return ET.fromstring(text).tag.rsplit("}", 1)[-1]


def namespace(text: str) -> str:
    tag = ET.fromstring(text).tag
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def b64_of_hex(data: bytes) -> str:
    """Spec §3: Base64 of the lower-case hex text of `data`."""
    return base64.b64encode(data.hex().encode()).decode()


def field_key(user: str, salt: str, password: str, key_iterate_num: int) -> bytes:
    """docs/device-api.md, security=1: h0 = H(user+salt+password) + suffix, then SHA-256
    runs keyIterateNum times from h0 on (the public capture's count: the first hash of the
    password is not one of them)."""
    h = sha256_hex(user + salt + password) + "AaBbCcDd1234!@#$"
    for _ in range(key_iterate_num):
        h = sha256_hex(h)
    return bytes.fromhex(h[:32])


def encrypt_field(key: bytes, iv: str, value: str) -> str:
    """hex(AES-128-CBC(Base64(value), key, iv)) with PKCS#7 padding (CryptoJS's default)."""
    plain = base64.b64encode(value.encode())
    n = 16 - len(plain) % 16
    enc = Cipher(algorithms.AES(key), modes.CBC(bytes.fromhex(iv))).encryptor()
    return (enc.update(plain + bytes([n]) * n) + enc.finalize()).hex()


class SpecClient:
    """One client of one device: RSA key, cookies, helpers for every documented call."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=TIMEOUT)
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=1024)

    def close(self) -> None:
        self.http.close()

    # ---- spec §3 ---------------------------------------------------------------------------

    def challenge(self) -> str:
        """POST the public modulus (hex, then Base64); decrypt the 32 hex characters."""
        modulus_hex = format(self.key.public_key().public_numbers().n, "x")
        body = ("<PublicKey><key>" + base64.b64encode(modulus_hex.encode()).decode()
                + "</key></PublicKey>")
        r = self.http.post("/ISAPI/Security/challenge", content=body)
        assert r.status_code == 200, r.text
        cipher_hex = base64.b64decode(leaves(r.text)["key"]).decode()
        assert re.fullmatch(r"[0-9a-f]+", cipher_hex), "challenge is not Base64 of hex"
        challenge = self.key.decrypt(bytes.fromhex(cipher_hex), padding.PKCS1v15()).decode()
        assert re.fullmatch(r"[0-9a-f]{32}", challenge), challenge
        return challenge

    @staticmethod
    def aes_ecb(challenge: str, password: str) -> bytes:
        plain = (challenge[:16] + password).encode()
        plain += b"\x00" * (-len(plain) % 16)
        enc = Cipher(algorithms.AES(bytes.fromhex(challenge)), modes.ECB()).encryptor()
        return enc.update(plain) + enc.finalize()

    @classmethod
    def encrypt_password(cls, challenge: str, password: str) -> str:
        """Base64 of the lower-case hex of the AES-ECB cipher text."""
        return b64_of_hex(cls.aes_ecb(challenge, password))

    def activate_with(self, field: str, extra: str = "") -> httpx.Response:
        return self.http.put("/ISAPI/System/activate",
                             content=f"<ActivateInfo><password>{field}</password>{extra}"
                                     "</ActivateInfo>")

    def activate(self, password: str) -> httpx.Response:
        return self.activate_with(self.encrypt_password(self.challenge(), password))

    def activated(self) -> bool:
        r = self.http.get("/SDK/activateStatus")
        return leaves(r.text)["Activated"] == "true"

    # ---- spec §5, §10: session login --------------------------------------------------------

    def login_capabilities(self, user: str = USER) -> dict[str, str]:
        r = self.http.get("/ISAPI/Security/sessionLogin/capabilities", params={"username": user})
        assert r.status_code == 200, r.text
        return leaves(r.text)

    @staticmethod
    def session_hash(user: str, cap: dict[str, str], password: str) -> str:
        r = sha256_hex(user + cap["salt"] + password)
        if cap.get("sessionIDVersion") == "2.1":
            r = sha256_hex(user + cap["salt2"] + r)
        r = sha256_hex(r + cap["challenge"])
        for _ in range(2, int(cap["iterations"])):
            r = sha256_hex(r)
        return r

    def session_login(self, password: str, user: str = USER) -> httpx.Response:
        cap = self.login_capabilities(user)
        digest = self.session_hash(user, cap, password)
        body = (f"<SessionLogin><userName>{user}</userName><password>{digest}</password>"
                f"<sessionID>{cap['sessionID']}</sessionID>"
                "<isSessionIDValidLongTerm>false</isSessionIDValidLongTerm>"
                f"<sessionIDVersion>{cap.get('sessionIDVersion', '2')}</sessionIDVersion>"
                "</SessionLogin>")
        return self.http.post("/ISAPI/Security/sessionLogin", content=body,
                              params={"timeStamp": "1733450000000"})

    def heartbeat(self) -> httpx.Response:
        return self.http.put("/ISAPI/Security/sessionHeartbeat")

    def logout(self) -> httpx.Response:
        return self.http.put("/ISAPI/Security/sessionLogout")

    # ---- spec §10: field encryption ---------------------------------------------------------

    def key_for(self, password: str) -> bytes:
        cap = leaves(self.http.get("/ISAPI/Security/capabilities",
                                   params={"username": USER}).text)
        return field_key(USER, cap["salt"], password, int(cap["keyIterateNum"]))

    @staticmethod
    def secure_url(path: str, iv: str) -> str:
        """As the real GUI builds it: a second `?` before the field-encryption parameters."""
        return f"{path}?format=json?security=1&iv={iv}"

    # ---- spec §6, §7 -----------------------------------------------------------------------

    def set_email(self, admin_password: str, address: str, *,
                  key_password: str | None = None) -> httpx.Response:
        """Plain, or security=1 when `key_password` is given (the key's password)."""
        if key_password is None:
            body = {"SecurityEmail": {"password": admin_password,
                                      "SecurityInformation": [{"emailAddress": address}]}}
            return self.http.put(EMAIL_PARAMETER, params={"format": "json"},
                                 content=json.dumps(body))
        key, iv = self.key_for(key_password), secrets.token_hex(16)
        body = {"SecurityEmail": {"password": encrypt_field(key, iv, admin_password),
                                  "SecurityInformation": [
                                      {"emailAddress": encrypt_field(key, iv, address)}]}}
        return self.http.put(self.secure_url(EMAIL_PARAMETER, iv), content=json.dumps(body))

    def qr(self) -> httpx.Response:
        return self.http.get("/ISAPI/Security/email/qrCode", params={"format": "json"})

    def certify(self, fields: dict[str, str], *, secure: bool = False) -> httpx.Response:
        """PUT emailCertification; `secure` encrypts every field with the empty-password key."""
        if not secure:
            return self.http.put(CERTIFICATION, params={"format": "json"},
                                 content=json.dumps({"EmailCertification": fields}))
        key, iv = self.key_for(""), secrets.token_hex(16)
        sealed = {k: encrypt_field(key, iv, v) for k, v in fields.items()}
        return self.http.put(self.secure_url(CERTIFICATION, iv),
                             content=json.dumps({"EmailCertification": sealed}))

    def check_code(self, code: str, *, secure: bool = False) -> httpx.Response:
        return self.certify({"securityCode": code}, secure=secure)

    def reset_with_code(self, code: str, password: str, form: str = "challenge") -> httpx.Response:
        """form: "plain", "secure" (security=1) or "challenge" (Base64(hex(AES)))."""
        if form == "challenge":
            value = self.encrypt_password(self.challenge(), password)
            return self.certify({"securityCode": code, "resetPassword": value})
        return self.certify({"securityCode": code, "resetPassword": password},
                            secure=form == "secure")

    def change_password(self, old: str, new: str, *,
                        key_password: str | None = None) -> httpx.Response:
        fields = {"userName": USER, "password": new, "loginPassword": old}
        url = "/ISAPI/Security/users/1"
        if key_password is not None:
            key, iv = self.key_for(key_password), secrets.token_hex(16)
            fields = {k: encrypt_field(key, iv, v) for k, v in fields.items()}
            url += f"?security=1&iv={iv}"
        body = ("<User><id>1</id>" + "".join(f"<{k}>{v}</{k}>" for k, v in fields.items())
                + "</User>")
        return self.http.put(url, content=body)

    def json(self, r: httpx.Response) -> dict[str, Any]:
        return dict(r.json())


def code_for(cloud_key: bytes, qr_text: str) -> str:
    """What the vendor cloud would mail: spec §7, code from cloud key and QR nonce.

    Written from docs (HIKRESET1: + Base64url JSON; HMAC-SHA256 over 'reset-code:' + nonce
    mapped onto the code alphabet), the scheme emulator/cloudcrypto.py documents.
    """
    import hmac

    assert qr_text.startswith("HIKRESET1:")
    raw = qr_text[len("HIKRESET1:"):]
    body = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    digest = hmac.new(cloud_key, b"reset-code:" + body["nonce"].encode(),
                      hashlib.sha256).digest()
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(alphabet[b % len(alphabet)] for b in digest[:8])


PASSWORD = "Tr1cky-Pass"
EMAIL = "owner@example.com"


def activated_client(url: str, *, password: str = PASSWORD, email: str | None = None,
                     login: bool = True) -> SpecClient:
    """A client of a freshly activated device (reserved e-mail set when given)."""
    client = SpecClient(url)
    r = client.activate(password)
    assert r.status_code == 200, r.text
    if login:
        assert client.session_login(password).status_code == 200
    if email:
        r = client.set_email(password, email)
        assert r.status_code == 200, r.text
    return client


class DigestWith(httpx.DigestAuth):
    """httpx's Digest, answering as if the server had offered `algorithm`.

    Real firmware offers one algorithm; this lets a test answer with the other one.
    """

    def __init__(self, username: str, password: str, algorithm: str) -> None:
        super().__init__(username, password)
        self.algorithm = algorithm

    def auth_flow(self, request: httpx.Request):  # type: ignore[no-untyped-def]
        flow = super().auth_flow(request)
        outgoing = next(flow)
        while True:
            response = yield outgoing
            offer = response.headers.get("www-authenticate")
            if offer:
                offer = re.sub(r',\s*algorithm="?[\w-]+"?', "", offer)
                response.headers["www-authenticate"] = f'{offer}, algorithm="{self.algorithm}"'
            try:
                outgoing = flow.send(response)
            except StopIteration:
                return
