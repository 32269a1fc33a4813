"""The client side of a device's password crypto (DEVICE-SPEC §3 and §5).

Written from DEVICE-SPEC.md and docs/device-api.md, never from the emulator: the harness's
copy is QA's reading of the spec, so a firmware (or emulator) that disagrees fails a test.

- Activation and reset passwords travel AES-128-ECB encrypted under a 32-hex-character
  challenge that the device RSA-encrypts (PKCS#1 v1.5) to an RSA-1024 key the client made.
- Session login sends an iterated SHA-256 of user, salt, password and the login challenge.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import string
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_HEX = frozenset(string.hexdigits)
_AES_BLOCK = 16


class ChallengeError(ValueError):
    """The device's challenge answer is not what §3 describes (not decryptable, not 32 hex)."""


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
        """The `<PublicKey><key>` value: the modulus as hex text, then Base64."""
        modulus = self.private_key.public_key().public_numbers().n
        return base64.b64encode(format(modulus, "x").encode("ascii")).decode("ascii")

    def decrypt_challenge(self, key_field: str) -> str:
        """Decrypt the device's `<PublicKey><key>` answer into its 32 hex characters."""
        try:
            ciphertext = base64.b64decode(key_field.strip(), validate=True)
            plain = self.private_key.decrypt(ciphertext, padding.PKCS1v15())
            challenge = plain.decode("ascii")
        except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
            raise ChallengeError(f"challenge answer is not decryptable: {exc}") from exc
        if len(challenge) != 32 or not set(challenge) <= _HEX:
            raise ChallengeError(
                f"challenge answer decrypts to {len(challenge)} characters, not 32 hex"
            )
        return challenge


def encrypt_password(challenge: str, password: str) -> str:
    """Encrypt `password` for activation or a reset (§3): AES-128-ECB, zero padding, Base64.

    The AES key is the challenge's 16 bytes; the plaintext is the challenge's first 16
    characters followed by the password, padded with zero bytes to a whole block.
    """
    if len(challenge) != 32 or not set(challenge) <= _HEX:
        raise ChallengeError("a challenge is 32 hex characters")
    plain = (challenge[:16] + password).encode("utf-8")
    plain += b"\0" * (-len(plain) % _AES_BLOCK)
    encryptor = Cipher(algorithms.AES(bytes.fromhex(challenge)), modes.ECB()).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")


def decrypt_password(challenge: str, field: str) -> str:
    """The inverse of `encrypt_password`: what a device does; used to test the client."""
    decryptor = Cipher(algorithms.AES(bytes.fromhex(challenge)), modes.ECB()).decryptor()
    plain = decryptor.update(base64.b64decode(field)) + decryptor.finalize()
    text = plain.rstrip(b"\0").decode("utf-8")
    if not text.startswith(challenge[:16]):
        raise ChallengeError("plaintext does not start with the challenge")
    return text[16:]


def session_login_hash(
    user: str, password: str, *, salt: str, challenge: str, iterations: int
) -> str:
    """The `<password>` of `POST /ISAPI/Security/sessionLogin` for `isIrreversible` true (§5).

    r = H(user + salt + password); r = H(r + challenge); then r = H(r) for
    i = 2 … iterations - 1; H is SHA-256 as lower-case hex.
    """

    def sha256_hex(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    result = sha256_hex(user + salt + password)
    result = sha256_hex(result + challenge)
    for _ in range(2, iterations):
        result = sha256_hex(result)
    return result
