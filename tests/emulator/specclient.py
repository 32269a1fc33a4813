"""A small ISAPI client written from DEVICE-SPEC.md and docs/device-api.md, not from the
emulator's code: the tests check the device against it. Uses `cryptography` and `hashlib`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

TIMEOUT = httpx.Timeout(10.0)


def leaves(text: str) -> dict[str, str]:
    """Leaf elements of an XML document by local name (namespace-agnostic)."""
    root = ET.fromstring(text)
    return {el.tag.rsplit("}", 1)[-1]: (el.text or "") for el in root.iter() if len(el) == 0}


def root_name(text: str) -> str:
    return ET.fromstring(text).tag.rsplit("}", 1)[-1]


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
        cipher = base64.b64decode(leaves(r.text)["key"])
        challenge = self.key.decrypt(cipher, padding.PKCS1v15()).decode()
        assert re.fullmatch(r"[0-9a-f]{32}", challenge), challenge
        return challenge

    @staticmethod
    def encrypt_password(challenge: str, password: str) -> str:
        plain = (challenge[:16] + password).encode()
        plain += b"\x00" * (-len(plain) % 16)
        enc = Cipher(algorithms.AES(bytes.fromhex(challenge)), modes.ECB()).encryptor()
        return base64.b64encode(enc.update(plain) + enc.finalize()).decode()

    def activate(self, password: str, email: str | None = None) -> httpx.Response:
        secret = self.encrypt_password(self.challenge(), password)
        extra = f"<reservedEmail>{email}</reservedEmail>" if email else ""
        return self.http.put("/ISAPI/System/activate",
                             content=f"<ActivateInfo><password>{secret}</password>{extra}"
                                     "</ActivateInfo>")

    def activated(self) -> bool:
        r = self.http.get("/SDK/activateStatus")
        return leaves(r.text)["Activated"] == "true"

    # ---- spec §5 ---------------------------------------------------------------------------

    @staticmethod
    def session_hash(user: str, salt: str, password: str, challenge: str,
                     iterations: int) -> str:
        def h(s: str) -> str:
            return hashlib.sha256(s.encode()).hexdigest()

        r = h(user + salt + password)
        r = h(r + challenge)
        for _ in range(2, iterations):
            r = h(r)
        return r

    def session_login(self, password: str, user: str = "admin") -> httpx.Response:
        cap = leaves(self.http.get("/ISAPI/Security/sessionLogin/capabilities",
                                   params={"username": user}).text)
        digest = self.session_hash(user, cap["salt"], password, cap["challenge"],
                                   int(cap["iterations"]))
        body = (f"<SessionLogin><userName>{user}</userName><password>{digest}</password>"
                f"<sessionID>{cap['sessionID']}</sessionID>"
                "<isSessionIDValidLongTerm>false</isSessionIDValidLongTerm>"
                "<sessionIDVersion>2</sessionIDVersion></SessionLogin>")
        return self.http.post("/ISAPI/Security/sessionLogin", content=body)

    # ---- spec §6, §7 -----------------------------------------------------------------------

    def set_email(self, admin_password: str, address: str) -> httpx.Response:
        body = {"SecurityEmail": {"password": admin_password,
                                  "SecurityInformation": [{"emailAddress": address}]}}
        return self.http.put("/ISAPI/Security/email/parameter", params={"format": "json"},
                             content=json.dumps(body))

    def qr(self) -> httpx.Response:
        return self.http.get("/ISAPI/Security/email/qrCode", params={"format": "json"})

    def submit_code(self, code: str) -> httpx.Response:
        return self.http.put("/ISAPI/Security/emailCertification", params={"format": "json"},
                             content=json.dumps({"EmailCertification": {
                                 "verificationCode": code}}))

    def set_password_with_token(self, token: str, password: str) -> httpx.Response:
        secret = self.encrypt_password(self.challenge(), password)
        return self.http.put("/ISAPI/Security/emailCertification", params={"format": "json"},
                             content=json.dumps({"EmailCertification": {
                                 "resetToken": token, "password": secret}}))

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
    """httpx's Digest, answering only the server's challenge of one algorithm.

    The device offers MD5 and SHA-256 as two WWW-Authenticate headers; httpx would merge
    them, so this keeps the one under test.
    """

    def __init__(self, username: str, password: str, algorithm: str) -> None:
        super().__init__(username, password)
        self.algorithm = algorithm

    def auth_flow(self, request: httpx.Request):  # type: ignore[no-untyped-def]
        flow = super().auth_flow(request)
        outgoing = next(flow)
        while True:
            response = yield outgoing
            offers = response.headers.get_list("www-authenticate")
            keep = [o for o in offers if f"algorithm={self.algorithm}" in o.replace('"', "")]
            if keep:
                del response.headers["www-authenticate"]
                response.headers["www-authenticate"] = keep[0]
            try:
                outgoing = flow.send(response)
            except StopIteration:
                return
