"""Remaining [src]/[dec] points of DEVICE-SPEC.md and docs/device-api.md, one test each."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from specclient import EMAIL, PASSWORD, SpecClient, activated_client, leaves, root_name


@pytest.fixture
def lab(fleet_factory):  # type: ignore[no-untyped-def]
    return fleet_factory([
        {"name": "cam", "model": "DS-2CD2143G2-I", "firmware": "V5.6.3"},
        {"name": "nvr430", "model": "DS-7608NI-K2", "firmware": "V4.30.005"},
        {"name": "nvr421", "model": "DS-7608NI-K2", "firmware": "V4.21.000"},
        {"name": "dvr", "model": "DS-7208HUHI-F2/N", "firmware": "V3.4.89"}],
        cloud=False, lab_controller=False)


def test_serial_shapes(lab) -> None:  # type: ignore[no-untyped-def]
    assert re.fullmatch(r"DS-2CD2143G2-I\d{8}AAWR\w{9}", lab.entry("cam")["serial"])
    assert re.fullmatch(r"DS-7608NI-K208\d{8}CCWR\d{9}WCVU", lab.entry("nvr421")["serial"])


def test_activation_then_reserved_email(lab) -> None:  # type: ignore[no-untyped-def]
    """The recorder reserves its address after activation, through email/parameter, with
    the new password and without a login; an e-mail element at activation is ignored."""
    c = SpecClient(lab.url("nvr421"))
    assert c.activate_with(c.encrypt_password(c.challenge(), PASSWORD),
                           extra=f"<reservedEmail>{EMAIL}</reservedEmail>").status_code == 200
    assert c.http.get("/ISAPI/Security/email/parameter", params={"format": "json"}).json()[
        "SecurityEmail"]["SecurityInformation"] == []
    assert c.set_email(PASSWORD, EMAIL).status_code == 200
    assert c.http.get("/ISAPI/Security/email/parameter", params={"format": "json"}).json()[
        "SecurityEmail"]["SecurityInformation"] == [{"emailAddress": "o****@example.com"}]


@pytest.mark.parametrize("password", ["Xadmin-99z", "Pass123word", "Ab-45678xy", "Abbbb-9xyz"])
def test_recorder_2020_rules_from_v4_30(lab, password: str) -> None:  # type: ignore[no-untyped-def]
    r = SpecClient(lab.url("nvr430")).activate(password)
    assert r.status_code == 400 and leaves(r.text)["subStatusCode"] == "riskPassword"
    assert SpecClient(lab.url("nvr421")).activate(password).status_code == 200


def test_session_id_single_use_and_expiring(lab) -> None:  # type: ignore[no-untyped-def]
    activated_client(lab.url("cam"), login=False)
    c = SpecClient(lab.url("cam"))
    cap = leaves(c.http.get("/ISAPI/Security/sessionLogin/capabilities",
                            params={"username": "admin"}).text)
    assert re.fullmatch(r"[0-9a-f]{64}", cap["sessionID"])
    assert re.fullmatch(r"[0-9a-f]{32}", cap["challenge"])
    assert re.fullmatch(r"[0-9a-f]{64}", cap["salt"])
    assert cap["iterations"] == "100" and cap["isIrreversible"] == "true"
    digest = c.session_hash("admin", cap, PASSWORD)
    body = (f"<SessionLogin><userName>admin</userName><password>{digest}</password>"
            f"<sessionID>{cap['sessionID']}</sessionID></SessionLogin>")
    assert c.http.post("/ISAPI/Security/sessionLogin", content=body).status_code == 200
    assert c.http.post("/ISAPI/Security/sessionLogin", content=body).status_code == 401
    device = lab.device("cam")
    cap = leaves(c.http.get("/ISAPI/Security/sessionLogin/capabilities").text)
    lab.run(lambda: device._session_ids.update(
        {cap["sessionID"]: (cap["challenge"], time.monotonic() - 1)}))
    digest = c.session_hash("admin", cap, PASSWORD)
    body = (f"<SessionLogin><userName>admin</userName><password>{digest}</password>"
            f"<sessionID>{cap['sessionID']}</sessionID></SessionLogin>")
    assert c.http.post("/ISAPI/Security/sessionLogin", content=body).status_code == 401


def test_challenge_expires(lab) -> None:  # type: ignore[no-untyped-def]
    c = SpecClient(lab.url("cam"))
    challenge = c.challenge()
    device = lab.device("cam")
    lab.run(lambda: device._challenges.update({challenge: time.monotonic() - 1}))
    secret = c.encrypt_password(challenge, PASSWORD)
    r = c.http.put("/ISAPI/System/activate",
                   content=f"<ActivateInfo><password>{secret}</password></ActivateInfo>")
    assert r.status_code == 400
    assert not c.activated()


def test_session_login_on_inactive_device(lab) -> None:  # type: ignore[no-untyped-def]
    r = SpecClient(lab.url("cam")).session_login(PASSWORD)
    assert r.status_code == 401 and leaves(r.text)["subStatusCode"] == "notActivated"


def test_json_error_document(lab) -> None:  # type: ignore[no-untyped-def]
    r = SpecClient(lab.url("cam")).check_code("ABCDEFGH")
    body = r.json()
    assert r.status_code == 400
    assert body["statusCode"] == 6 and body["subStatusCode"] == "verificationCodeExpired"
    assert body["statusString"] == "Invalid XML Content"
    assert body["errorCode"] // 2**28 == 6 and body["errorMsg"] == "verificationCodeExpired"
    assert body["requestURL"] == "/ISAPI/Security/emailCertification"


def test_malformed_body(lab) -> None:  # type: ignore[no-untyped-def]
    r = httpx.put(lab.url("cam") + "/ISAPI/System/activate", content="<ActivateInfo>",
                  timeout=10)
    assert r.status_code == 400
    assert root_name(r.text) == "ResponseStatus"
    fields = leaves(r.text)
    assert (fields["statusCode"], fields["subStatusCode"]) == ("5", "badXmlFormat")


def test_extern_capabilities_other_methods(lab) -> None:  # type: ignore[no-untyped-def]
    cam = leaves(httpx.get(lab.url("cam") + "/ISAPI/Security/extern/capabilities",
                           timeout=10).text)
    nvr = leaves(httpx.get(lab.url("nvr421") + "/ISAPI/Security/extern/capabilities",
                           timeout=10).text)
    assert cam["isSupportWithSecurityQuestion"] == "true"
    assert nvr["isSupportWithGUIDFileData"] == "true"
    assert cam["isSupportWithSecurityEmail"] == nvr["isSupportWithSecurityEmail"] == "false"


def test_model_with_slash_works(lab) -> None:  # type: ignore[no-untyped-def]
    assert "/" not in lab.entry("dvr")["serial"]
    c = activated_client(lab.url("dvr"), email=EMAIL)
    assert c.qr().status_code == 200


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/ISAPI/Security/users"), ("GET", "/ISAPI/System/status"),
    ("PUT", "/ISAPI/Security/email/parameter?format=json"),
    ("GET", "/ISAPI/Security/illegalLoginLock"), ("PUT", "/ISAPI/System/reboot"),
    ("PUT", "/ISAPI/System/factoryReset?mode=full"), ("GET", "/ISAPI/System/Network/ssh"),
])
def test_inactive_device_answers_not_activated(lab, method: str, path: str) -> None:  # type: ignore[no-untyped-def]
    r = httpx.request(method, lab.url("cam") + path, timeout=10)
    assert r.status_code == 401
    body = r.json() if "format=json" in path else leaves(r.text)
    assert body["subStatusCode"] == "notActivated"


def test_hard_info_for_the_shell(lab) -> None:  # type: ignore[no-untyped-def]
    info = lab.device("nvr421").hard_info()
    assert {"model", "serial", "firmware", "build", "mac", "boot_time", "boot_id"} <= set(info)
    assert info["serial"] == lab.entry("nvr421")["serial"]
    assert re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", info["mac"])
