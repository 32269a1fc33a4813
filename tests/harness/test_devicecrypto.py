"""The client's §3/§5 crypto, checked against our own key pair and the spec's formulas."""

from __future__ import annotations

import base64
import hashlib
import secrets

import pytest
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from harness.devicecrypto import (
    ChallengeError,
    ChallengeKey,
    decrypt_password,
    encrypt_password,
    session_login_hash,
)


def _device_answer(key_field: str, challenge: str) -> str:
    """What a device does with the client's key field: RSA-encrypt the challenge to it."""
    modulus = int(base64.b64decode(key_field).decode("ascii"), 16)
    public = rsa.RSAPublicNumbers(65537, modulus).public_key()
    return base64.b64encode(public.encrypt(challenge.encode(), padding.PKCS1v15())).decode()


def test_key_field_is_base64_of_the_hex_modulus_of_a_1024_bit_key() -> None:
    key = ChallengeKey.generate()
    hex_modulus = base64.b64decode(key.public_key_field()).decode("ascii")
    assert int(hex_modulus, 16) == key.private_key.public_key().public_numbers().n
    assert int(hex_modulus, 16).bit_length() == 1024


def test_challenge_round_trip() -> None:
    key = ChallengeKey.generate()
    challenge = secrets.token_hex(16)
    assert key.decrypt_challenge(_device_answer(key.public_key_field(), challenge)) == challenge


def test_challenge_that_is_not_32_hex_is_refused() -> None:
    key = ChallengeKey.generate()
    with pytest.raises(ChallengeError, match="not 32 hex"):
        key.decrypt_challenge(_device_answer(key.public_key_field(), "z" * 32))
    with pytest.raises(ChallengeError):
        key.decrypt_challenge("not base64!")


@pytest.mark.parametrize("password", ["Abcdef12", "Abcdef1234567890", "Pa$$w0rd-é"])
def test_password_encryption_follows_the_spec(password: str) -> None:
    challenge = secrets.token_hex(16)
    field = encrypt_password(challenge, password)
    # Independent of the helper: decrypt as the spec says a device does.
    decryptor = Cipher(algorithms.AES(bytes.fromhex(challenge)), modes.ECB()).decryptor()
    plain = decryptor.update(base64.b64decode(field)) + decryptor.finalize()
    assert len(plain) % 16 == 0
    assert plain.rstrip(b"\0") == (challenge[:16] + password).encode()
    assert decrypt_password(challenge, field) == password


def test_session_login_hash_matches_the_formula() -> None:
    salt, challenge = "ab" * 32, "cd" * 16
    expected = hashlib.sha256(("admin" + salt + "Secret123").encode()).hexdigest()
    expected = hashlib.sha256((expected + challenge).encode()).hexdigest()
    for _ in range(2, 100):
        expected = hashlib.sha256(expected.encode()).hexdigest()
    assert (
        session_login_hash("admin", "Secret123", salt=salt, challenge=challenge, iterations=100)
        == expected
    )
