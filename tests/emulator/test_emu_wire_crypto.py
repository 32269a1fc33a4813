"""docs/device-api.md: hex-then-Base64 wherever a password travels encrypted, and the
`security=1` field encryption beside the plain form (both sides of each rule)."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

import pytest
from specclient import (
    EMAIL,
    PASSWORD,
    SpecClient,
    activated_client,
    code_for,
    encrypt_field,
    leaves,
)

NEW_PASSWORD = "N3w-Secret!"


@pytest.fixture
def lab(fleet_factory: Any) -> Any:
    return fleet_factory([{"name": "cam", "model": "DS-2CD2143G2-I", "firmware": "V5.6.3"},
                          {"name": "nvr", "model": "DS-7608NI-K2", "firmware": "V4.22.005"}],
                         cloud=False, lab_controller=False)


def _raw_b64(client: SpecClient, challenge: str, password: str) -> str:
    """The wrong form: Base64 of the raw AES cipher bytes."""
    return base64.b64encode(client.aes_ecb(challenge, password)).decode()


def test_challenge_answer_is_base64_of_hex(lab: Any) -> None:
    c = SpecClient(lab.url("cam"))
    modulus_hex = format(c.key.public_key().public_numbers().n, "x")
    r = c.http.post("/ISAPI/Security/challenge", content="<PublicKey><key>"
                    + base64.b64encode(modulus_hex.encode()).decode() + "</key></PublicKey>")
    text = base64.b64decode(leaves(r.text)["key"]).decode()
    assert len(text) == 256 and text == text.lower()
    int(text, 16)  # hex text, 128 bytes of RSA-1024 cipher


def test_activation_takes_base64_of_hex(lab: Any) -> None:
    c = SpecClient(lab.url("cam"))
    assert c.activate(PASSWORD).status_code == 200
    assert c.activated()


def test_activation_refuses_base64_of_raw_bytes(lab: Any) -> None:
    c = SpecClient(lab.url("cam"))
    r = c.activate_with(_raw_b64(c, c.challenge(), PASSWORD))
    assert r.status_code == 400
    fields = leaves(r.text)
    assert (fields["statusCode"], fields["subStatusCode"]) == ("6", "badParameters")
    assert not c.activated()


def test_reset_refuses_base64_of_raw_bytes_and_keeps_the_code(lab: Any) -> None:
    c = activated_client(lab.url("cam"), email=EMAIL)
    code = code_for(lab.device("cam").cloud_key, c.qr().json()["QRCode"]["qrText"])
    raw = _raw_b64(c, c.challenge(), NEW_PASSWORD)
    r = c.certify({"securityCode": code, "resetPassword": raw})
    assert r.status_code == 400 and r.json()["subStatusCode"] == "badParameters"
    assert c.check_code(code).status_code == 200
    assert c.reset_with_code(code, NEW_PASSWORD, form="challenge").status_code == 200


def test_security_capabilities_give_salt_and_iterations_for_a_named_user(lab: Any) -> None:
    c = SpecClient(lab.url("cam"))
    named = leaves(c.http.get("/ISAPI/Security/capabilities",
                              params={"username": "admin"}).text)
    assert named["keyIterateNum"] == "100" and len(named["salt"]) == 64
    plain = leaves(c.http.get("/ISAPI/Security/capabilities").text)
    assert "salt" not in plain and "keyIterateNum" not in plain
    # the same salt as session login
    assert named["salt"] == c.login_capabilities()["salt"]


@pytest.mark.parametrize("name", ["cam", "nvr"])
def test_email_security_1_accepted(lab: Any, name: str) -> None:
    c = activated_client(lab.url(name), login=False)
    r = c.set_email(PASSWORD, EMAIL, key_password=PASSWORD)
    assert r.status_code == 200, r.text
    assert r.json()["statusCode"] == 1  # JSON despite the doubled `?`
    got = c.http.get("/ISAPI/Security/email/parameter", params={"format": "json"}).json()
    assert got["SecurityEmail"]["SecurityInformation"] == [{"emailAddress": "o****@example.com"}]


def test_email_security_1_with_a_wrong_key_is_a_counted_wrong_password(lab: Any) -> None:
    c = activated_client(lab.url("cam"), login=False)
    for left in (6, 5):
        r = c.set_email(PASSWORD, EMAIL, key_password="Wrong-Pass1")
        assert r.status_code == 401
        body = r.json()
        assert (body["subStatusCode"], body["retryTimes"]) == ("passwordError", left)
    # the count is the login lock's: a wrong session login now leaves 4
    assert leaves(c.session_login("Wrong-Pass1").text)["retryLoginTime"] == "4"


def test_email_security_1_with_the_right_key_but_a_wrong_password_counts(lab: Any) -> None:
    c = activated_client(lab.url("cam"), login=False)
    r = c.set_email("Wrong-Pass1", EMAIL, key_password=PASSWORD)
    assert r.status_code == 401 and r.json()["retryTimes"] == 6


def test_email_security_1_with_a_bad_iv_is_refused(lab: Any) -> None:
    c = activated_client(lab.url("cam"), login=False)
    body = {"SecurityEmail": {"password": PASSWORD,
                              "SecurityInformation": [{"emailAddress": EMAIL}]}}
    r = c.http.put("/ISAPI/Security/email/parameter?format=json?security=1&iv=xyz",
                   content=json.dumps(body))
    assert r.status_code == 400 and r.json()["subStatusCode"] == "badParameters"


def test_doubled_question_mark_still_answers_json_errors(lab: Any) -> None:
    c = activated_client(lab.url("cam"), login=False)
    iv = secrets.token_hex(16)
    r = c.http.put(f"/ISAPI/Security/emailCertification?format=json?security=1&iv={iv}",
                   content="not json")
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["subStatusCode"] == "badXmlFormat"


def test_certification_security_1_uses_the_empty_password_key(lab: Any) -> None:
    c = activated_client(lab.url("cam"), email=EMAIL)
    code = code_for(lab.device("cam").cloud_key, c.qr().json()["QRCode"]["qrText"])
    assert c.check_code(code, secure=True).status_code == 200
    # the admin password's key is not the one: refused, not counted as a wrong code
    key, iv = c.key_for(PASSWORD), secrets.token_hex(16)
    r = c.http.put(c.secure_url("/ISAPI/Security/emailCertification", iv), content=json.dumps(
        {"EmailCertification": {"securityCode": encrypt_field(key, iv, code)}}))
    assert r.status_code == 400 and r.json()["subStatusCode"] == "badParameters"
    assert c.reset_with_code(code, NEW_PASSWORD, form="secure").status_code == 200
    assert SpecClient(lab.url("cam")).session_login(NEW_PASSWORD).status_code == 200


def test_users_security_1_accepted_and_wrong_key_refused(lab: Any) -> None:
    c = activated_client(lab.url("nvr"))
    r = c.change_password(PASSWORD, NEW_PASSWORD, key_password="Wrong-Pass1")
    assert r.status_code == 400 and leaves(r.text)["subStatusCode"] == "badParameters"
    r = c.change_password("Wrong-Pass1", NEW_PASSWORD, key_password=PASSWORD)
    assert r.status_code == 401 and leaves(r.text)["subStatusCode"] == "passwordError"
    r = c.change_password(PASSWORD, NEW_PASSWORD, key_password=PASSWORD)
    assert r.status_code == 200, r.text
    assert SpecClient(lab.url("nvr")).session_login(NEW_PASSWORD).status_code == 200


def test_users_plain_form_still_accepted(lab: Any) -> None:
    c = activated_client(lab.url("nvr"))
    assert c.change_password(PASSWORD, NEW_PASSWORD).status_code == 200
    assert SpecClient(lab.url("nvr")).session_login(NEW_PASSWORD).status_code == 200
