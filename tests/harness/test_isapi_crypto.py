"""The client's §3/§5/§10 crypto, checked against our own key pair and the doc's formulas.

The known answers below were computed once by hand from docs/device-api.md's formulas
(hashlib and the raw AES primitive, not these helpers) and pinned, so that a change of
either the helper or a test's own re-derivation cannot make both agree by accident.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

import pytest
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from harness.clients.isapi.crypto import (
    ChallengeError,
    ChallengeKey,
    decrypt_field,
    decrypt_password,
    encrypt_field,
    encrypt_password,
    field_key,
    from_hex_then_base64,
    hex_then_base64,
    new_iv,
    session_login_hash,
)

SALT, SALT2 = "ab" * 32, "cd" * 32
CHALLENGE = "0123456789abcdef0123456789abcdef"


def _device_answer(key_field: str, challenge: str, *, raw: bool = False) -> str:
    """What a device does with the client's key field: RSA-encrypt the challenge to it and
    answer Base64 of the lowercase hex of the cipher text (`raw`: Base64 of the bytes)."""
    modulus = int(base64.b64decode(key_field).decode("ascii"), 16)
    public = rsa.RSAPublicNumbers(65537, modulus).public_key()
    cipher = public.encrypt(challenge.encode(), padding.PKCS1v15())
    data = cipher if raw else cipher.hex().encode("ascii")
    return base64.b64encode(data).decode()


def test_key_field_is_base64_of_the_lowercase_hex_modulus_of_a_1024_bit_key() -> None:
    key = ChallengeKey.generate()
    hex_modulus = base64.b64decode(key.public_key_field()).decode("ascii")
    assert re.fullmatch("[0-9a-f]+", hex_modulus)
    assert int(hex_modulus, 16) == key.private_key.public_key().public_numbers().n
    assert int(hex_modulus, 16).bit_length() == 1024


def test_challenge_round_trip_in_hex_then_base64() -> None:
    key = ChallengeKey.generate()
    challenge = secrets.token_hex(16)
    assert key.decrypt_challenge(_device_answer(key.public_key_field(), challenge)) == challenge


def test_challenge_as_base64_of_raw_bytes_is_refused() -> None:
    key = ChallengeKey.generate()
    with pytest.raises(ChallengeError, match="hex text"):
        key.decrypt_challenge(_device_answer(key.public_key_field(), secrets.token_hex(16),
                                             raw=True))


def test_challenge_that_is_not_32_hex_is_refused() -> None:
    key = ChallengeKey.generate()
    with pytest.raises(ChallengeError, match="not 32 hex"):
        key.decrypt_challenge(_device_answer(key.public_key_field(), "z" * 32))
    with pytest.raises(ChallengeError):
        key.decrypt_challenge("not base64!")


def test_hex_then_base64_shape() -> None:
    field = hex_then_base64(b"\x00\xab\xff")
    assert base64.b64decode(field) == b"00abff"
    assert from_hex_then_base64(field) == b"\x00\xab\xff"
    with pytest.raises(ChallengeError):
        from_hex_then_base64(base64.b64encode(b"\x00\xab\xff").decode())


def test_password_as_at_activation_known_answer() -> None:
    assert encrypt_password(CHALLENGE, "Abcdef12") == (
        "NGUwMzBjYTk3MzcwZmRlY2MzMzY3Zjk5NzBjMGI4YzM4NDRkYzI1YWVmODFmNTllZTk1OGQ3MWQwODU3NmIwYQ=="
    )


@pytest.mark.parametrize("password", ["Abcdef12", "Abcdef1234567890", "Pa$$w0rd-é"])
def test_password_encryption_follows_the_spec(password: str) -> None:
    challenge = secrets.token_hex(16)
    field = encrypt_password(challenge, password)
    hex_text = base64.b64decode(field).decode("ascii")
    assert re.fullmatch("[0-9a-f]+", hex_text), "Base64 of lowercase hex, not of raw bytes"
    # Independent of the helper: decrypt as the spec says a device does.
    decryptor = Cipher(algorithms.AES(bytes.fromhex(challenge)), modes.ECB()).decryptor()
    plain = decryptor.update(bytes.fromhex(hex_text)) + decryptor.finalize()
    assert len(plain) % 16 == 0
    assert plain.rstrip(b"\0") == (challenge[:16] + password).encode()
    assert decrypt_password(challenge, field) == password


def test_session_login_hash_version_2_known_answer() -> None:
    assert session_login_hash("admin", "Secret123", salt=SALT, challenge=CHALLENGE,
                              iterations=100) == (
        "094518db1da742ccecc0a88de6793850c3348bcf966158356f8a957749f0fd27"
    )


def test_session_login_hash_version_2_1_known_answer_uses_salt2() -> None:
    hashed = session_login_hash("admin", "Secret123", salt=SALT, challenge=CHALLENGE,
                                iterations=100, version="2.1", salt2=SALT2)
    assert hashed == "5dd22511d410e544d8ff8773343e24d95067743dbf962bf7435a5724801bb80b"
    with pytest.raises(ChallengeError, match="salt2"):
        session_login_hash("admin", "x", salt=SALT, challenge=CHALLENGE, iterations=100,
                           version="2.1")
    with pytest.raises(ChallengeError, match="unknown sessionIDVersion"):
        session_login_hash("admin", "x", salt=SALT, challenge=CHALLENGE, iterations=100,
                           version="3")


def test_session_login_hash_matches_the_formula() -> None:
    expected = hashlib.sha256(("admin" + SALT + "Secret123").encode()).hexdigest()
    expected = hashlib.sha256((expected + CHALLENGE).encode()).hexdigest()
    for _ in range(2, 7):
        expected = hashlib.sha256(expected.encode()).hexdigest()
    assert session_login_hash("admin", "Secret123", salt=SALT, challenge=CHALLENGE,
                              iterations=7) == expected


def test_security_field_key_known_answers() -> None:
    assert field_key("admin", SALT, "Secret123", 100).hex() == "10ab51ca1cbb5624602cc894ec3d2247"
    # emailCertification's key: the user has forgotten the password, so "" ([dec]).
    assert field_key("admin", SALT, "", 3).hex() == "0a4b526f6f7becf78e4d53a32ead9f12"
    assert len(field_key("admin", SALT, "x", 1)) == 16
    assert field_key("admin", SALT, "x", 1) != field_key("admin", SALT, "x", 2)
    with pytest.raises(ChallengeError):
        field_key("admin", SALT, "x", 0)


def test_security_field_known_answer() -> None:
    key, iv = bytes.fromhex("00112233445566778899aabbccddeeff"), "0f" * 16
    assert encrypt_field("a@b.c", key, iv) == "d50c621d63dfaf14db6b61f6e1513826"


@pytest.mark.parametrize("value", ["a@b.c", "Secret123", "sixteen-chars-xy", "é€ unicode", ""])
def test_security_field_round_trip_and_shape(value: str) -> None:
    key, iv = field_key("admin", SALT, "Secret123", 100), new_iv()
    assert re.fullmatch("[0-9a-f]{32}", iv)
    field = encrypt_field(value, key, iv)
    assert re.fullmatch("[0-9a-f]+", field) and len(field) % 32 == 0
    assert decrypt_field(field, key, iv) == value
    # Independent: AES-CBC decrypt, PKCS#7 pad bytes, then Base64 of the value.
    decryptor = Cipher(algorithms.AES(key), modes.CBC(bytes.fromhex(iv))).decryptor()
    padded = decryptor.update(bytes.fromhex(field)) + decryptor.finalize()
    pad = padded[-1]
    assert 1 <= pad <= 16 and padded[-pad:] == bytes([pad]) * pad
    assert base64.b64decode(padded[:-pad]).decode() == value


def test_security_field_under_another_key_does_not_decrypt() -> None:
    iv = new_iv()
    field = encrypt_field("Secret123", field_key("admin", SALT, "right", 5), iv)
    with pytest.raises(ChallengeError):
        decrypt_field(field, field_key("admin", SALT, "wrong", 5), iv)
