"""The secret the device shares with the vendor cloud (DEVICE-SPEC §7, all [dec]).

The QR text is `HIKRESET1:` + Base64url(JSON {sn, nonce, ts, mail}); `mail` is the reserved
address sealed with AES-GCM under the device's cloud key, so only the cloud can read it.
Device and cloud derive the same verification code from the cloud key and the QR nonce.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

QR_PREFIX = "HIKRESET1:"
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


class QrFormatError(ValueError):
    """The text is not a reset QR of this scheme."""


@dataclass(frozen=True)
class QrPayload:
    serial: str
    nonce: str
    issued_at: int
    sealed_mail: str


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_cloud_key() -> bytes:
    return AESGCM.generate_key(bit_length=128)


def seal_address(cloud_key: bytes, address: str) -> str:
    nonce = os.urandom(12)
    return _b64url(nonce + AESGCM(cloud_key).encrypt(nonce, address.encode("utf-8"), None))


def open_address(cloud_key: bytes, sealed: str) -> str:
    """Raises `cryptography.exceptions.InvalidTag` when the key does not fit."""
    raw = _unb64url(sealed)
    return AESGCM(cloud_key).decrypt(raw[:12], raw[12:], None).decode("utf-8")


def derive_code(cloud_key: bytes, qr_nonce: str) -> str:
    digest = hmac.new(cloud_key, b"reset-code:" + qr_nonce.encode("ascii"), hashlib.sha256).digest()
    return "".join(CODE_ALPHABET[b % len(CODE_ALPHABET)] for b in digest[:CODE_LENGTH])


def qr_text(payload: QrPayload) -> str:
    body = {"sn": payload.serial, "nonce": payload.nonce, "ts": payload.issued_at,
            "mail": payload.sealed_mail}
    return QR_PREFIX + _b64url(json.dumps(body, separators=(",", ":")).encode("utf-8"))


def parse_qr_text(text: str) -> QrPayload:
    if not text.startswith(QR_PREFIX):
        raise QrFormatError(f"QR text does not start with {QR_PREFIX!r}")
    try:
        body = json.loads(_unb64url(text[len(QR_PREFIX):]))
        return QrPayload(str(body["sn"]), str(body["nonce"]), int(body["ts"]), str(body["mail"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise QrFormatError(f"QR body unreadable: {exc}") from exc
