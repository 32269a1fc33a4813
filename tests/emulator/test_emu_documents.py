"""docs/device-api.md: the no-login list, the standard endpoints, the real element names
of deviceInfo, SecurityCap and IllegalLoginLock, `Server: App-webs/`, one namespace."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

import httpx
import pytest
from specclient import EMAIL, PASSWORD, SpecClient, activated_client, leaves, namespace, root_name

NS_HIK = "http://www.hikvision.com/ver20/XMLSchema"
NS_ISAPI = "http://www.isapi.org/ver20/XMLSchema"
DEVICE_INFO = {"deviceName", "deviceID", "deviceDescription", "deviceLocation", "model",
               "serialNumber", "macAddress", "firmwareVersion", "firmwareReleasedDate",
               "encoderVersion", "encoderReleasedDate", "bootVersion", "bootReleasedDate",
               "hardwareVersion", "deviceType", "telecontrolID"}
SECURITY_CAP = ["supportUserNums", "issupIllegalLoginLock", "securityVersion", "keyIterateNum",
                "isSupportUserCheck", "RSAKeyLength", "isIrreversible", "salt",
                "maxIllegalLoginTimes", "maxIllegalLoginLockTime", "isSupportSecurityEmail"]


@pytest.fixture
def lab(fleet_factory: Any) -> Any:
    return fleet_factory([
        {"name": "cam", "model": "DS-2CD2143G2-I", "firmware": "V5.6.3"},
        {"name": "spa", "model": "DS-2CD2043G2-I", "firmware": "V5.7.10 build 240120"},
        {"name": "nvr", "model": "DS-7608NI-K2", "firmware": "V4.21.000"},
        {"name": "dvr", "model": "DS-7204HQHI-K1", "firmware": "V4.2.00"}],
        cloud=False, lab_controller=False)


def _children(text: str) -> list[str]:
    return [el.tag.rsplit("}", 1)[-1] for el in ET.fromstring(text)]


@pytest.mark.parametrize(("name", "device_name"), [
    ("cam", "IP CAMERA"), ("nvr", "Network Video Recorder"), ("dvr", "Embedded Net DVR")])
def test_device_info_has_exactly_the_docs_elements(lab: Any, name: str,
                                                   device_name: str) -> None:
    c = activated_client(lab.url(name))
    text = c.http.get("/ISAPI/System/deviceInfo").text
    assert set(_children(text)) == DEVICE_INFO and len(_children(text)) == len(DEVICE_INFO)
    fields = leaves(text)
    assert fields["deviceName"] == device_name
    assert re.fullmatch(r"[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}", fields["deviceID"])
    assert fields["serialNumber"] == lab.entry(name)["serial"]
    assert re.fullmatch(r"build \d{6}", fields["firmwareReleasedDate"])


def test_security_cap_has_the_real_names_only(lab: Any) -> None:
    r = httpx.get(lab.url("nvr") + "/ISAPI/Security/capabilities",
                  params={"username": "admin"}, timeout=10)
    assert r.status_code == 200
    assert _children(r.text) == SECURITY_CAP
    root = ET.fromstring(r.text)
    attrs = {el.tag.rsplit("}", 1)[-1]: el.attrib for el in root}
    assert attrs["maxIllegalLoginTimes"] == {"min": "3", "max": "20", "def": "7"}
    assert attrs["maxIllegalLoginLockTime"] == {"min": "1", "max": "120", "def": "30"}
    assert attrs["RSAKeyLength"] == {"opt": "1024"}


def test_illegal_login_lock_names(lab: Any) -> None:
    c = activated_client(lab.url("nvr"))
    text = c.http.get("/ISAPI/Security/illegalLoginLock").text
    assert _children(text) == ["enabled", "maxIllegalLoginTimes", "maxIllegalLoginLockTime"]
    body = ("<IllegalLoginLock><enabled>true</enabled><maxIllegalLoginTimes>5"
            "</maxIllegalLoginTimes><maxIllegalLoginLockTime>10</maxIllegalLoginLockTime>"
            "</IllegalLoginLock>")
    assert c.http.put("/ISAPI/Security/illegalLoginLock", content=body).status_code == 200
    assert leaves(c.http.get("/ISAPI/Security/illegalLoginLock").text)[
        "maxIllegalLoginLockTime"] == "10"


def test_status_time_and_uptime(lab: Any) -> None:
    c = activated_client(lab.url("cam"))
    status = leaves(c.http.get("/ISAPI/System/status").text)
    datetime.fromisoformat(status["currentDeviceTime"])
    assert re.search(r"[+-]\d\d:\d\d$", status["currentDeviceTime"])
    assert int(status["deviceUpTime"]) >= 0
    assert 0 <= int(status["cpuUtilization"]) <= 100
    assert float(status["memoryUsage"]) > 0 and float(status["memoryAvailable"]) > 0
    time_doc = c.http.get("/ISAPI/System/time").text
    assert root_name(time_doc) == "Time"
    fields = leaves(time_doc)
    assert fields["timeMode"] == "NTP" and fields["timeZone"] == "CST+0:00:00"
    datetime.fromisoformat(fields["localTime"])


def test_uptime_goes_back_after_a_reboot(lab: Any) -> None:
    c = activated_client(lab.url("nvr"))
    device = lab.device("nvr")
    lab.run(lambda: setattr(device, "_boot_monotonic", device._boot_monotonic - 600))
    before = int(leaves(c.http.get("/ISAPI/System/status").text)["deviceUpTime"])
    assert before >= 600
    lab.call(device.reboot())
    lab.call(device.wait_booted())
    fresh = SpecClient(lab.url("nvr"))
    assert fresh.session_login(PASSWORD).status_code == 200
    assert int(leaves(fresh.http.get("/ISAPI/System/status").text)["deviceUpTime"]) < before


def test_capabilities_interfaces_users(lab: Any) -> None:
    c = activated_client(lab.url("nvr"))
    cap = c.http.get("/ISAPI/System/capabilities").text
    assert root_name(cap) == "DeviceCap"
    assert leaves(cap)["isSupportUserCheck"] == "true"
    assert leaves(cap)["isSupportSecurityEmail"] == "true"
    interfaces = ET.fromstring(c.http.get("/ISAPI/System/Network/interfaces").text)
    assert interfaces.tag.endswith("NetworkInterfaceList")
    first = interfaces[0]

    def at(path: str) -> str | None:
        return first.findtext("/".join("{*}" + part for part in path.split("/")))

    assert at("id") == "1" and at("IPAddress/ipVersion") == "v4"
    assert at("IPAddress/ipAddress") == "127.0.0.1" and at("IPAddress/subnetMask")
    assert at("IPAddress/addressingType") and at("IPAddress/DefaultGateway/ipAddress")
    assert at("Link/MACAddress") == lab.device("nvr").state.mac
    users = c.http.get("/ISAPI/Security/users").text
    assert root_name(users) == "UserList"
    assert leaves(users) == {"id": "1", "userName": "admin", "userLevel": "Administrator"}


def test_video_inputs_camera_one_channel_recorder_none(lab: Any) -> None:
    cam = activated_client(lab.url("cam")).http.get("/ISAPI/System/Video/inputs/channels")
    assert root_name(cam.text) == "VideoInputChannelList"
    channels = ET.fromstring(cam.text)
    assert len(channels) == 1
    assert leaves(cam.text) == {"id": "1", "inputPort": "1", "name": "Camera 01",
                                "videoInputEnabled": "true"}
    nvr = activated_client(lab.url("nvr")).http.get("/ISAPI/System/Video/inputs/channels")
    assert nvr.status_code == 200 and len(ET.fromstring(nvr.text)) == 0


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/SDK/activateStatus"), ("GET", "/SDK/language"),
    ("GET", "/ISAPI/System/DeviceLanguage"), ("GET", "/ISAPI/Security/capabilities"),
    ("GET", "/ISAPI/Security/extern/capabilities"),
    ("GET", "/ISAPI/Security/sessionLogin/capabilities?username=admin"),
    ("GET", "/ISAPI/Security/email/parameter?format=json"),
    ("GET", "/ISAPI/Security/email/parameter/capabilities?format=json"),
])
def test_no_login_paths_answer_without_credentials(lab: Any, method: str, path: str) -> None:
    activated_client(lab.url("nvr"), login=False)
    r = httpx.request(method, lab.url("nvr") + path, timeout=10)
    assert r.status_code == 200, r.text
    assert "www-authenticate" not in r.headers


def test_language_documents(lab: Any) -> None:
    assert leaves(httpx.get(lab.url("cam") + "/SDK/language", timeout=10).text) == {
        "type": "English"}
    text = httpx.get(lab.url("cam") + "/ISAPI/System/DeviceLanguage", timeout=10).text
    assert root_name(text) == "DeviceLanguage" and leaves(text) == {"language": "English"}


def test_email_parameter_without_login(lab: Any) -> None:
    c = activated_client(lab.url("nvr"), login=False)
    cap = c.http.get("/ISAPI/Security/email/parameter/capabilities",
                     params={"format": "json"}).json()
    assert cap == {"SecurityEmailCap": {"emailAddress": {"@min": 1, "@max": 32},
                                        "isSupportSecurity": True}}
    assert c.set_email(PASSWORD, EMAIL).status_code == 200
    assert httpx.get(lab.url("nvr") + "/ISAPI/Security/email/parameter?format=json",
                     timeout=10).json()["SecurityEmail"]["SecurityInformation"] == [
        {"emailAddress": "o****@example.com"}]


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/ISAPI/Security/questionConfiguration"),
    ("PUT", "/ISAPI/Security/questionConfiguration"),
    ("PUT", "/ISAPI/Security/questionCertification")])
def test_security_questions_not_supported_without_login(lab: Any, method: str,
                                                        path: str) -> None:
    r = httpx.request(method, lab.url("cam") + path, timeout=10)
    assert r.status_code == 403 and leaves(r.text)["subStatusCode"] == "notSupport"


@pytest.mark.parametrize("path", ["/SDK/activateStatus", "/ISAPI/System/deviceInfo",
                                  "/no/such/page", "/doc/no-such-file.html", "/"])
def test_server_header_on_every_answer(lab: Any, path: str) -> None:
    r = httpx.get(lab.url("nvr") + path, timeout=10)
    assert r.headers["server"] == "App-webs/", (r.status_code, r.headers)


def test_server_header_on_gui_files(lab: Any) -> None:
    r = httpx.get(lab.url("nvr") + "/common/hik.js", timeout=10)
    assert r.status_code == 200 and r.headers["server"] == "App-webs/"


@pytest.mark.parametrize(("name", "ns"), [("spa", NS_ISAPI), ("cam", NS_HIK), ("nvr", NS_HIK)])
def test_one_namespace_per_device(lab: Any, name: str, ns: str) -> None:
    url = lab.url(name)
    answers = [httpx.get(url + "/SDK/activateStatus", timeout=10).text,
               httpx.get(url + "/ISAPI/System/deviceInfo", timeout=10).text]  # 401 userCheck
    c = activated_client(url)
    answers += [c.http.get(p).text for p in (
        "/ISAPI/System/deviceInfo", "/ISAPI/System/status", "/ISAPI/Security/capabilities",
        "/ISAPI/Security/sessionLogin/capabilities", "/ISAPI/No/Such/Path")]
    answers.append(c.http.put("/ISAPI/Security/sessionHeartbeat").text)  # ResponseStatus
    answers.append(c.session_login("Wrong-Pass1").text)  # the lock's userCheck
    assert {namespace(a) for a in answers} == {ns}
