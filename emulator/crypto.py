"""The device side of the password crypto (DEVICE-SPEC §3, §5, §10; docs/device-api.md).

- Activation challenge: the client's RSA-1024 modulus in, 32 random hex characters out,
  encrypted with PKCS#1 v1.5; the password comes back AES-128-ECB with zero padding. Every
  cipher text travels as Base64 of its lower-case hex, never as Base64 of raw bytes.
- Field encryption `security=1`: AES-128-CBC of Base64(value), hex out, with a key iterated
  from the user's irreversible hash.
- Session login: iterated SHA-256 over an irreversible stored hash (versions 2 and 2.1).
- HTTP Digest (RFC 7616) with MD5 and SHA-256, qop=auth, stateless HMAC nonces.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import time
import urllib.request
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

RSA_EXPONENT = 65537


class CryptoInputError(ValueError):
    """A client sent key or cipher text the device cannot use."""


def new_challenge() -> str:
    """32 random hex characters: the AES key (as bytes.fromhex) and its check prefix."""
    return secrets.token_hex(16)


def encrypt_challenge(public_key_field: str, challenge: str) -> str:
    """RSA-encrypt `challenge` to the client's key, given as Base64 of its hex modulus."""
    try:
        modulus_hex = base64.b64decode(public_key_field.strip(), validate=True).decode("ascii")
        modulus = int(modulus_hex.strip(), 16)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise CryptoInputError("public key is not Base64 of a hex modulus") from exc
    if modulus.bit_length() < 512 or modulus.bit_length() > 4096:
        raise CryptoInputError("public key modulus size unsupported")
    key = rsa.RSAPublicNumbers(RSA_EXPONENT, modulus).public_key()
    try:
        cipher = key.encrypt(challenge.encode("ascii"), padding.PKCS1v15())
    except ValueError as exc:
        raise CryptoInputError(str(exc)) from exc
    return hex_b64(cipher)


def hex_b64(data: bytes) -> str:
    """Spec §3: Base64 of the lower-case hex text of `data`."""
    return base64.b64encode(data.hex().encode("ascii")).decode("ascii")


def unhex_b64(field: str) -> bytes | None:
    """The bytes of a Base64(hex) field; None for anything else, Base64 of raw bytes
    included (that is the form real firmware refuses)."""
    try:
        text = base64.b64decode(field.strip(), validate=True).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not _HEX_RE.fullmatch(text):
        return None
    return bytes.fromhex(text)


_HEX_RE = re.compile(r"(?:[0-9a-fA-F]{2})+")


def decrypt_password(challenge: str, field: str) -> str | None:
    """The password the client encrypted under `challenge`, or None when it does not fit
    (wrong challenge, not Base64 of hex, padding or prefix)."""
    data = unhex_b64(field)
    if not data or len(data) % 16:
        return None
    decryptor = Cipher(algorithms.AES(bytes.fromhex(challenge)), modes.ECB()).decryptor()
    plain = (decryptor.update(data) + decryptor.finalize()).rstrip(b"\x00")
    prefix = challenge[:16].encode("ascii")
    if not plain.startswith(prefix):
        return None
    try:
        return plain[len(prefix):].decode("ascii")
    except UnicodeDecodeError:
        return None


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def irreversible_hash(user: str, salt: str, password: str) -> str:
    """What the device keeps instead of the password: H(user + salt + password)."""
    return sha256_hex(user + salt + password)


def session_login_hash(stored: str, challenge: str, iterations: int) -> str:
    """Spec §5: r = H(stored + challenge), then H again for i = 2 .. iterations-1.

    For sessionIDVersion 2.1 the caller passes `version_21_base(...)` as `stored`."""
    result = sha256_hex(stored + challenge)
    for _ in range(2, iterations):
        result = sha256_hex(result)
    return result


def version_21_base(user: str, salt2: str, stored: str) -> str:
    """sessionIDVersion 2.1 (docs/device-api.md [dec]): H(user + salt2 + H(user+salt+pw))."""
    return sha256_hex(user + salt2 + stored)


# ---- field encryption security=1 ------------------------------------------------------------

FIELD_KEY_SUFFIX = "AaBbCcDd1234!@#$"


def field_key(stored: str, iterations: int) -> bytes:
    """The AES key of `security=1` from the stored H(user + salt + password).

    h = H(stored + suffix), then h = H(h) until SHA-256 has run `iterations` times over
    h (`stored` itself not counted), as public clients that work on real devices do."""
    h = sha256_hex(stored + FIELD_KEY_SUFFIX)
    for _ in range(1, iterations):
        h = sha256_hex(h)
    return bytes.fromhex(h[:32])


def decrypt_field(key: bytes, iv_hex: str, value: str, zero_padding_ok: bool) -> str | None:
    """A `security=1` field: hex(AES-128-CBC(Base64(value))) -> value; None if it does not fit."""
    try:
        iv = bytes.fromhex(iv_hex)
        data = bytes.fromhex(value.strip())
    except ValueError:
        return None
    if len(iv) != 16 or not data or len(data) % 16:
        return None
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    unpadded = _pkcs7_unpad(plain)
    if unpadded is None:
        if not zero_padding_ok:
            return None
        unpadded = plain.rstrip(b"\x00")
    try:
        return base64.b64decode(unpadded, validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def _pkcs7_unpad(plain: bytes) -> bytes | None:
    n = plain[-1]
    if not 1 <= n <= 16 or plain[-n:] != bytes([n]) * n:
        return None
    return plain[:-n]


# ---- HTTP Digest ---------------------------------------------------------------------------

DIGEST_ALGORITHMS = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
NONCE_LIFETIME_S = 300


def digest_ha1(algorithm: str, user: str, realm: str, password: str) -> str:
    return DIGEST_ALGORITHMS[algorithm](f"{user}:{realm}:{password}".encode()).hexdigest()


@dataclass(frozen=True)
class DigestCredentials:
    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str
    qop: str
    nc: str
    cnonce: str


def parse_digest_header(header: str) -> DigestCredentials | None:
    """Parse an `Authorization: Digest ...` header; None when it is not one."""
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "digest":
        return None
    fields: dict[str, str] = {}
    for item in urllib.request.parse_http_list(rest):
        key, sep, value = item.partition("=")
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        fields[key.strip().lower()] = value
    try:
        return DigestCredentials(
            fields["username"], fields["realm"], fields["nonce"], fields["uri"],
            fields["response"], fields.get("algorithm", "MD5").upper(), fields.get("qop", ""),
            fields.get("nc", ""), fields.get("cnonce", ""))
    except KeyError:
        return None


class DigestNonces:
    """Stateless nonces: timestamp + HMAC, so thousands of clients cost no memory."""

    def __init__(self, lifetime_s: float = NONCE_LIFETIME_S) -> None:
        self._secret = os.urandom(16)
        self.lifetime_s = lifetime_s

    def issue(self) -> str:
        stamp = f"{int(time.time()):x}"
        mac = hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:24]
        return stamp + mac

    def valid(self, nonce: str) -> bool:
        stamp, mac = nonce[:-24], nonce[-24:]
        good = hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:24]
        if not hmac.compare_digest(mac, good):
            return False
        try:
            return time.time() - int(stamp, 16) < self.lifetime_s
        except ValueError:
            return False


def challenge_header(realm: str, nonce: str, algorithm: str, stale: bool = False) -> str:
    """The one WWW-Authenticate challenge of real firmware: MD5 without an `algorithm`
    parameter, SHA-256 named."""
    header = (f'Digest qop="auth", realm="{realm}", nonce="{nonce}", '
              f'stale="{"TRUE" if stale else "FALSE"}"')
    if algorithm != "MD5":
        header += f', algorithm="{algorithm}"'
    return header


def digest_response_ok(creds: DigestCredentials, method: str, ha1: str) -> bool:
    """Check the client's response against the stored HA1 for its algorithm."""
    h = DIGEST_ALGORITHMS.get(creds.algorithm)
    if h is None:
        return False
    ha2 = h(f"{method}:{creds.uri}".encode()).hexdigest()
    if creds.qop:
        expected = h(f"{ha1}:{creds.nonce}:{creds.nc}:{creds.cnonce}:{creds.qop}:{ha2}"
                     .encode()).hexdigest()
    else:
        expected = h(f"{ha1}:{creds.nonce}:{ha2}".encode()).hexdigest()
    return hmac.compare_digest(expected, creds.response.lower())
