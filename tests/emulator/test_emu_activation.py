"""Spec §3, §5 end to end over HTTP with a client written from the spec."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from specclient import SpecClient, leaves, root_name

PASSWORD = "Tr1cky-Pass"


@pytest.fixture
def camera(fleet_factory) -> Iterator[tuple[object, SpecClient]]:
    lab = fleet_factory([{"model": "DS-2CD2143G2-I", "firmware": "V5.6.3"}],
                        cloud=False, lab_controller=False)
    client = SpecClient(lab.url())
    yield lab, client
    client.close()


def test_activate_status_and_activation(camera) -> None:
    _lab, c = camera
    r = c.http.get("/SDK/activateStatus")
    assert root_name(r.text) == "ActivateStatus"
    assert leaves(r.text)["Activated"] == "false"
    assert c.activate(PASSWORD).status_code == 200
    assert c.activated()
    again = c.activate(PASSWORD)
    assert again.status_code == 403
    assert leaves(again.text)["subStatusCode"] == "invalidOperation"


def test_inactive_device_refuses_other_calls(camera) -> None:
    _lab, c = camera
    r = c.http.get("/ISAPI/System/deviceInfo")
    assert r.status_code == 401
    assert leaves(r.text)["subStatusCode"] == "notActivated"


def test_challenge_is_single_use(camera) -> None:
    _lab, c = camera
    challenge = c.challenge()
    secret = c.encrypt_password(challenge, PASSWORD)
    body = f"<ActivateInfo><password>{secret}</password></ActivateInfo>"
    assert c.http.put("/ISAPI/System/activate", content="<ActivateInfo><password>"
                      + c.encrypt_password(challenge, "short") + "</password></ActivateInfo>"
                      ).status_code == 400
    # the challenge was consumed by the refused attempt
    r = c.http.put("/ISAPI/System/activate", content=body)
    assert r.status_code == 400
    assert not c.activated()


@pytest.mark.parametrize(("password", "sub"), [
    ("Ab1!", "badParameters"), ("Abcdefgh1234567890", "badParameters"),
    ("abcdefgh", "riskPassword"), ("12345678", "riskPassword"),
])
def test_activation_password_rules(camera, password: str, sub: str) -> None:
    _lab, c = camera
    r = c.activate(password)
    assert r.status_code == 400
    fields = leaves(r.text)
    assert fields["statusCode"] == "6"
    assert fields["subStatusCode"] == sub


def test_session_login_cookie_authorises(camera) -> None:
    lab, c = camera
    assert c.activate(PASSWORD).status_code == 200
    r = c.session_login(PASSWORD)
    assert r.status_code == 200, r.text
    assert leaves(r.text)["statusValue"] == "200"
    assert any(name.startswith("WebSession_") for name in c.http.cookies)
    info = c.http.get("/ISAPI/System/deviceInfo")
    assert info.status_code == 200
    fields = leaves(info.text)
    assert fields["serialNumber"] == lab.entry()["serial"]
    assert fields["deviceType"] == "IPCamera"
    assert c.http.put("/ISAPI/Security/sessionLogout").status_code == 200
    assert c.http.get("/ISAPI/System/deviceInfo").status_code == 401


def test_wrong_session_password_counts_down(camera) -> None:
    _lab, c = camera
    assert c.activate(PASSWORD).status_code == 200
    r = c.session_login("Wrong-Pass1")
    assert r.status_code == 401
    fields = leaves(r.text)
    assert fields["lockStatus"] == "unlock"
    assert fields["retryLoginTime"] == "6"
