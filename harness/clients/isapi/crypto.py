"""The client side of a device's password crypto (DEVICE-SPEC §3, §5, §10).

Written from DEVICE-SPEC.md and docs/device-api.md, never from the emulator: the harness's
copy is QA's reading of the spec, so a firmware (or emulator) that disagrees fails a test.

- "As at activation": the device RSA-encrypts (PKCS#1 v1.5) 32 random hex characters to an
  RSA-1024 key the client made; passwords then travel AES-128-ECB encrypted under them.
  Every such field on the wire, both ways, is **Base64 of the lowercase hex** of the
  cipher text, never Base64 of raw bytes.
- Session login sends an iterated SHA-256 of user, salt (and salt2 for version 2.1),
  password and the login challenge.
- `security=1` field encryption: AES-128-CBC (PKCS#7) of Base64(value) under a key drawn
  from the user, the SecurityCap salt and a password, sent as lowercase hex.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import string
from dataclasses import dataclass

from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_HEX = frozenset(string.hexdigits)
_AES_BLOCK = 16
# The fixed suffix of the security=1 key derivation (docs/device-api.md, [cap]).
_FIELD_KEY_SUFFIX = "AaBbCcDd1234!@#$"


class ChallengeError(ValueError):
    """A challenge or an encrypted field is not what §3 describes."""


def sha256_hex(text: str) -> str:
    """SHA-256 of `text` (UTF-8) as lowercase hex: the H of every formula here."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hex_then_base64(data: bytes) -> str:
    """`data` as lowercase hex text, then Base64 of that text (§3's wire form)."""
    return base64.b64encode(data.hex().encode("ascii")).decode("ascii")


def from_hex_then_base64(field: str) -> bytes:
    """The inverse of `hex_then_base64`; `ChallengeError` when the field is not that shape
    (for instance Base64 of raw bytes)."""
    try:
        text = base64.b64decode(field.strip(), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ChallengeError(f"not Base64 of hex text: {exc}") from exc
    if not text or len(text) % 2 or not set(text) <= _HEX:
        raise ChallengeError("Base64 of something that is not hex text (raw bytes?)")
    return bytes.fromhex(text)


def _is_challenge(challenge: str) -> bool:
    return len(challenge) == 32 and set(challenge) <= _HEX


@dataclass(frozen=True)
class ChallengeKey:
    """A throw-away RSA-1024 key pair for one `POST /ISAPI/Security/challenge`.

    RSA-1024 is what the devices speak (§3), not a choice of ours; the key lives only in
    memory for one exchange.
    """

    private_key: rsa.RSAPrivateKey

    @classmethod
    def generate(cls) -> ChallengeKey:
        """Make a new key pair (about 10-30 ms of CPU)."""
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=1024))

    def public_key_field(self) -> str:
        """The `<PublicKey><key>` value: the modulus as lowercase hex text, then Base64."""
        modulus = self.private_key.public_key().public_numbers().n
        return base64.b64encode(format(modulus, "x").encode("ascii")).decode("ascii")

    def decrypt_challenge(self, key_field: str) -> str:
        """Decrypt the device's `<PublicKey><key>` answer (Base64 of the hex of the RSA
        cipher text) into its 32 hex characters."""
        ciphertext = from_hex_then_base64(key_field)
        try:
            challenge = self.private_key.decrypt(ciphertext, padding.PKCS1v15()).decode("ascii")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ChallengeError(f"challenge answer is not decryptable: {exc}") from exc
        if not _is_challenge(challenge):
            raise ChallengeError(
                f"challenge answer decrypts to {len(challenge)} characters, not 32 hex"
            )
        return challenge


def encrypt_password(challenge: str, password: str) -> str:
    """Encrypt `password` as at activation (§3): Base64(lowercase hex(AES-128-ECB)).

    The AES key is the challenge's 16 bytes; the plaintext is the challenge's first 16
    characters followed by the password, padded with zero bytes to a whole block.
    """
    if not _is_challenge(challenge):
        raise ChallengeError("a challenge is 32 hex characters")
    plain = (challenge[:16] + password).encode("utf-8")
    plain += b"\0" * (-len(plain) % _AES_BLOCK)
    encryptor = Cipher(algorithms.AES(bytes.fromhex(challenge)), modes.ECB()).encryptor()
    return hex_then_base64(encryptor.update(plain) + encryptor.finalize())


def decrypt_password(challenge: str, field: str) -> str:
    """The inverse of `encrypt_password`: what a device does; used to test the client."""
    cipher_text = from_hex_then_base64(field)
    decryptor = Cipher(algorithms.AES(bytes.fromhex(challenge)), modes.ECB()).decryptor()
    plain = decryptor.update(cipher_text) + decryptor.finalize()
    text = plain.rstrip(b"\0").decode("utf-8")
    if not text.startswith(challenge[:16]):
        raise ChallengeError("plaintext does not start with the challenge")
    return text[16:]


def session_login_hash(
    user: str,
    password: str,
    *,
    salt: str,
    challenge: str,
    iterations: int,
    version: str = "2",
    salt2: str | None = None,
) -> str:
    """The `<password>` of `POST /ISAPI/Security/sessionLogin` for `isIrreversible` true.

    Version 2: r = H(user + salt + password); version 2.1: r = H(user + salt2 +
    H(user + salt + password)). Then r = H(r + challenge), and r = H(r) for
    i = 2 … iterations - 1.
    """
    result = sha256_hex(user + salt + password)
    if version == "2.1":
        if not salt2:
            raise ChallengeError("sessionIDVersion 2.1 needs salt2")
        result = sha256_hex(user + salt2 + result)
    elif version != "2":
        raise ChallengeError(f"unknown sessionIDVersion {version!r} (known: 2, 2.1)")
    result = sha256_hex(result + challenge)
    for _ in range(2, iterations):
        result = sha256_hex(result)
    return result


# ------------------------------------------------------------------ security=1 fields


def field_key(user: str, salt: str, password: str, key_iterate_num: int) -> bytes:
    """The AES-128 key of `security=1` fields.

    h = H(user + salt + password) + "AaBbCcDd1234!@#$"; then h = H(h), SHA-256 running
    `key_iterate_num` times in all over that text (the inner H is not counted, as the
    public GUI scripts do it); the key is the first 32 hex characters as bytes.
    """
    if key_iterate_num < 1:
        raise ChallengeError(f"keyIterateNum must be at least 1, got {key_iterate_num}")
    text = sha256_hex(user + salt + password) + _FIELD_KEY_SUFFIX
    for _ in range(key_iterate_num):
        text = sha256_hex(text)
    return bytes.fromhex(text[:32])


def new_iv() -> str:
    """A fresh `iv` for one `security=1` request: 32 lowercase hex characters."""
    return secrets.token_hex(16)


def encrypt_field(value: str, key: bytes, iv: str) -> str:
    """One `security=1` field: hex(AES-128-CBC(Base64(value), key, iv)), PKCS#7 padded."""
    plain = base64.b64encode(value.encode("utf-8"))
    padder = sym_padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(bytes.fromhex(iv))).encryptor()
    return (encryptor.update(padded) + encryptor.finalize()).hex()


def decrypt_field(field: str, key: bytes, iv: str) -> str:
    """The inverse of `encrypt_field` (what a device does); used to test the client."""
    try:
        decryptor = Cipher(algorithms.AES(key), modes.CBC(bytes.fromhex(iv))).decryptor()
        padded = decryptor.update(bytes.fromhex(field)) + decryptor.finalize()
        unpadder = sym_padding.PKCS7(128).unpadder()
        plain = unpadder.update(padded) + unpadder.finalize()
        return base64.b64decode(plain, validate=True).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ChallengeError(f"security=1 field does not decrypt: {exc}") from exc
