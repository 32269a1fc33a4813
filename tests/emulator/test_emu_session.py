"""docs/device-api.md "Session login": capabilities, versions 2 and 2.1, the answer, the
cookie, heartbeat and timeout, logout, and userCheck."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from specclient import PASSWORD, SpecClient, activated_client, leaves, root_name

TIMEOUT_S = 5.0


@pytest.fixture
def lab(fleet_factory: Any) -> Any:
    lab = fleet_factory([
        {"name": "v2", "model": "DS-7608NI-K2", "firmware": "V4.21.000",
         "session_timeout_s": TIMEOUT_S},
        {"name": "v21", "model": "DS-2CD2143G2-I", "firmware": "V5.6.3",
         "session_id_version": "2.1"},
        {"name": "default", "model": "DS-2CD2143G2-I", "firmware": "V5.6.3"}],
        cloud=False, lab_controller=False)
    for name in ("v2", "v21", "default"):
        activated_client(lab.url(name), login=False).close()
    return lab


def _age_sessions(lab: Any, name: str, seconds: float) -> None:
    """Make every session of a device look `seconds` older (instead of waiting)."""
    device = lab.device(name)
    lab.run(lambda: device._sessions.update(
        {token: seen - seconds for token, seen in device._sessions.items()}))


def test_capabilities_version_2(lab: Any) -> None:
    cap = SpecClient(lab.url("v2")).login_capabilities()
    assert re.fullmatch(r"[0-9a-f]{64}", cap["sessionID"])
    assert re.fullmatch(r"[0-9a-f]{32}", cap["challenge"])
    assert re.fullmatch(r"[0-9a-f]{64}", cap["salt"])
    assert (cap["iterations"], cap["isIrreversible"], cap["sessionIDVersion"]) == \
        ("100", "true", "2")
    assert "salt2" not in cap


def test_capabilities_version_21_add_salt2(lab: Any) -> None:
    cap = SpecClient(lab.url("v21")).login_capabilities()
    assert cap["sessionIDVersion"] == "2.1"
    assert re.fullmatch(r"[0-9a-f]{64}", cap["salt2"]) and cap["salt2"] != cap["salt"]


@pytest.mark.parametrize(("name", "version"), [("v2", "2"), ("v21", "2.1")])
def test_login_answer_and_cookie(lab: Any, name: str, version: str) -> None:
    c = SpecClient(lab.url(name))
    r = c.session_login(PASSWORD)
    assert r.status_code == 200, r.text
    assert root_name(r.text) == "SessionUserCheck"
    assert leaves(r.text) == {"statusValue": "200", "statusString": "OK",
                              "isDefaultPassword": "false", "isRiskPassword": "false",
                              "isActivated": "true", "sessionIDVersion": version}
    cookie = r.headers["set-cookie"]
    assert re.match(r"WebSession_[0-9a-f]+=[0-9a-f]{64}; HttpOnly; Path=/", cookie), cookie
    assert c.http.get("/ISAPI/System/deviceInfo").status_code == 200


def test_version_21_device_refuses_the_version_2_hash(lab: Any) -> None:
    c = SpecClient(lab.url("v21"))
    cap = c.login_capabilities()
    digest = c.session_hash("admin", {**cap, "sessionIDVersion": "2"}, PASSWORD)
    body = (f"<SessionLogin><userName>admin</userName><password>{digest}</password>"
            f"<sessionID>{cap['sessionID']}</sessionID></SessionLogin>")
    r = c.http.post("/ISAPI/Security/sessionLogin", content=body)
    assert r.status_code == 401 and leaves(r.text)["retryLoginTime"] == "6"
    # without a Digest challenge: session login is not a path Digest opens, and a browser
    # given one would ask its user for a password (docs/device-api.md, rule 4)
    assert r.headers.get_list("www-authenticate") == []


def test_heartbeat_keeps_a_session(lab: Any) -> None:
    c = SpecClient(lab.url("v2"))
    assert c.session_login(PASSWORD).status_code == 200
    for _ in range(3):  # three times most of the timeout: alive thanks to each beat
        _age_sessions(lab, "v2", TIMEOUT_S * 0.8)
        r = c.heartbeat()
        assert r.status_code == 200 and leaves(r.text)["statusCode"] == "1"
    assert c.http.get("/ISAPI/System/deviceInfo").status_code == 200


def test_a_request_also_keeps_a_session(lab: Any) -> None:
    c = SpecClient(lab.url("v2"))
    assert c.session_login(PASSWORD).status_code == 200
    for _ in range(3):
        _age_sessions(lab, "v2", TIMEOUT_S * 0.8)
        assert c.http.get("/ISAPI/System/status").status_code == 200


def test_no_heartbeat_expires_the_session(lab: Any) -> None:
    c = SpecClient(lab.url("v2"))
    assert c.session_login(PASSWORD).status_code == 200
    _age_sessions(lab, "v2", TIMEOUT_S + 1)
    r = c.heartbeat()
    assert r.status_code == 401
    assert len(r.headers.get_list("www-authenticate")) == 1
    assert c.http.get("/ISAPI/System/deviceInfo").status_code == 401


def test_default_timeout_is_120_s(lab: Any) -> None:
    c = SpecClient(lab.url("default"))
    assert c.session_login(PASSWORD).status_code == 200
    _age_sessions(lab, "default", 110)
    assert c.heartbeat().status_code == 200
    _age_sessions(lab, "default", 121)
    assert c.heartbeat().status_code == 401


def test_logout_ends_the_session(lab: Any) -> None:
    c = SpecClient(lab.url("v2"))
    assert c.session_login(PASSWORD).status_code == 200
    assert c.logout().status_code == 200
    assert c.http.get("/ISAPI/System/deviceInfo").status_code == 401
    assert c.logout().status_code == 401  # nothing left to end: not logged in


def test_user_check_with_digest(lab: Any) -> None:
    url = lab.url("v2") + "/ISAPI/Security/userCheck"
    r = httpx.get(url, params={"timeStamp": "1733450000000"},
                  auth=httpx.DigestAuth("admin", PASSWORD), timeout=10)
    assert r.status_code == 200, r.text
    assert root_name(r.text) == "userCheck"
    assert leaves(r.text) == {"statusValue": "200", "statusString": "OK",
                              "isDefaultPassword": "false", "isRiskPassword": "false",
                              "isActivated": "true"}


def test_user_check_wrong_password_counts(lab: Any) -> None:
    r = httpx.get(lab.url("v2") + "/ISAPI/Security/userCheck",
                  auth=httpx.DigestAuth("admin", "Wrong-Pass1"), timeout=10)
    assert r.status_code == 401
    fields = leaves(r.text)
    assert (fields["statusValue"], fields["lockStatus"], fields["unlockTime"],
            fields["retryLoginTime"]) == ("401", "unlock", "0", "6")
    assert len(r.headers.get_list("www-authenticate")) == 1


def test_user_check_without_credentials_is_a_plain_challenge(lab: Any) -> None:
    r = httpx.get(lab.url("v2") + "/ISAPI/Security/userCheck", timeout=10)
    assert r.status_code == 401
    assert "retryLoginTime" not in leaves(r.text)
    assert r.headers["www-authenticate"].startswith("Digest ")
    again = httpx.get(lab.url("v2") + "/ISAPI/Security/userCheck",
                      auth=httpx.DigestAuth("admin", "Wrong-Pass1"), timeout=10)
    assert leaves(again.text)["retryLoginTime"] == "6"
