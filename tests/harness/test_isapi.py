"""Parsing of device documents taken from DEVICE-SPEC.md and docs/device-api.md."""

from __future__ import annotations

import datetime
import http.server
import re
import socket
import ssl
import threading
import time
from pathlib import Path
from typing import Any, Literal

import pytest
from conftest_clients import SESSION_TIMEOUT_S, EmulatedLab
from misbehaving_servers import self_signed

from harness.clients.isapi import (
    DeviceStatus,
    IllegalLoginLock,
    IsapiClient,
    IsapiError,
    LoginRejected,
    parse_device_info,
    parse_device_status,
    parse_extern_capabilities,
    parse_illegal_login_lock,
    parse_response_status,
    parse_security_cap,
    parse_session_login_cap,
    parse_user_check,
    rebooted_since,
)
from harness.clients.isapi.session import MAX_FAILED_BEATS, Heartbeat
from harness.clients.qr import decode_qr
from harness.errors import DeviceError, HarnessError, InfrastructureError, ProductDefect

HIK = "http://www.hikvision.com/ver20/XMLSchema"
ISAPI_ORG = "http://www.isapi.org/ver20/XMLSchema"
NAMESPACES = pytest.mark.parametrize("ns", [HIK, ISAPI_ORG])

DEVICE_INFO = """<?xml version="1.0" encoding="UTF-8"?>
<DeviceInfo version="2.0" xmlns="{ns}">
<deviceName>Lab NVR</deviceName><deviceID>48a1f0e2</deviceID><model>DS-7608NI-K2</model>
<serialNumber>DS-7608NI-K20820210422CCWR593756043WCVU</serialNumber>
<macAddress>44:19:b6:00:00:01</macAddress><firmwareVersion>V4.30.085</firmwareVersion>
<firmwareReleasedDate>build 220112</firmwareReleasedDate><encoderVersion>V7.3</encoderVersion>
<encoderReleasedDate>build 220112</encoderReleasedDate><bootVersion>V1.3.4</bootVersion>
<hardwareVersion>0x0</hardwareVersion><deviceType>NVR</deviceType>
<telecontrolID>255</telecontrolID></DeviceInfo>"""


@NAMESPACES
def test_device_info_does_not_depend_on_the_namespace(ns: str) -> None:
    info = parse_device_info(DEVICE_INFO.format(ns=ns))
    assert info.model == "DS-7608NI-K2"
    assert info.serial_number.startswith("DS-7608NI-K2")
    assert info.firmware_version == "V4.30.085"
    assert info.firmware_released_date == "build 220112"
    assert info.device_type == "NVR"
    assert info.fields["telecontrolID"] == "255"


def test_device_info_without_namespace_or_optional_fields() -> None:
    text = DEVICE_INFO.replace(' xmlns="{ns}"', "")
    assert parse_device_info(text).device_name == "Lab NVR"
    bare = parse_device_info("<DeviceInfo><model>DS-2CD2143G2-I</model></DeviceInfo>")
    assert (bare.model, bare.serial_number, bare.device_type) == ("DS-2CD2143G2-I", "", "")


@NAMESPACES
def test_device_status_gives_the_boot_instant(ns: str) -> None:
    status = parse_device_status(
        f'<DeviceStatus version="2.0" xmlns="{ns}"><currentDeviceTime>'
        "2026-12-06T10:00:00+08:00</currentDeviceTime><deviceUpTime>3600</deviceUpTime>"
        "<CPUList><CPU><cpuDescription>x</cpuDescription><cpuUtilization>3</cpuUtilization>"
        "</CPU></CPUList></DeviceStatus>"
    )
    assert status.up_time_s == 3600
    assert status.boot_instant == datetime.datetime(
        2026, 12, 6, 1, 0, tzinfo=datetime.UTC
    ).timestamp()
    empty = parse_device_status("<DeviceStatus><currentDeviceTime>garbage</currentDeviceTime>"
                                "</DeviceStatus>")
    assert (empty.current_device_time, empty.up_time_s, empty.boot_instant) == (None, None, None)


def _status(clock: str, up: float) -> DeviceStatus:
    return DeviceStatus(datetime.datetime.fromisoformat(clock), up)


def test_a_reboot_is_an_up_time_going_back_or_a_moved_boot_instant() -> None:
    before = _status("2026-12-06T10:00:00+00:00", 500)
    assert not rebooted_since(before, _status("2026-12-06T10:00:10+00:00", 510))
    assert not rebooted_since(before, _status("2026-12-06T10:00:11+00:00", 510))  # 1 s jitter
    assert rebooted_since(before, _status("2026-12-06T10:00:10+00:00", 3))
    # The device's clock was set back with the reboot: the up time still tells.
    assert rebooted_since(before, _status("2026-12-06T09:00:00+00:00", 2))
    # Without a clock the up time alone tells.
    assert rebooted_since(before, DeviceStatus(None, 20)) is True
    assert rebooted_since(before, DeviceStatus(None, 600)) is False
    assert rebooted_since(DeviceStatus(None, None), _status("2026-12-06T10:00:00+00:00", 9)) \
        is False
    assert rebooted_since(_status("2026-12-06T10:00:00+00:00", 5),
                          _status("2026-12-06T10:01:00+00:00", 6))


@NAMESPACES
def test_security_cap_reads_key_iterations_salt_and_the_email_flag(ns: str) -> None:
    cap = parse_security_cap(
        f'<SecurityCap version="2.0" xmlns="{ns}"><supportUserNums>32</supportUserNums>'
        '<securityVersion opt="1"/><keyIterateNum>100</keyIterateNum>'
        '<RSAKeyLength opt="1024"/><salt>' + "ab" * 32 + "</salt>"
        '<maxIllegalLoginTimes min="3" max="20" def="7"/>'
        "<isSupportSecurityEmail>true</isSupportSecurityEmail></SecurityCap>"
    )
    assert (cap.key_iterate_num, cap.salt, cap.security_email) == (100, "ab" * 32, True)
    assert cap.field_encryption
    anonymous = parse_security_cap("<SecurityCap><supportUserNums>32</supportUserNums>"
                                   "</SecurityCap>")
    assert (anonymous.key_iterate_num, anonymous.salt, anonymous.security_email) == (
        None, None, False)
    assert not anonymous.field_encryption


def test_session_login_cap_versions() -> None:
    two = parse_session_login_cap(
        f'<SessionLoginCap xmlns="{HIK}"><sessionID>{"1" * 64}</sessionID>'
        f"<challenge>{'2' * 32}</challenge><iterations>100</iterations>"
        f"<isIrreversible>true</isIrreversible><salt>{'3' * 64}</salt>"
        "<sessionIDVersion>2</sessionIDVersion></SessionLoginCap>"
    )
    assert (two.version, two.salt2, two.iterations, two.irreversible) == ("2", None, 100, True)
    two_one = parse_session_login_cap(
        f'<SessionLoginCap xmlns="{ISAPI_ORG}"><salt2>{"4" * 64}</salt2>'
        f"<sessionIDVersion>2.1</sessionIDVersion><salt>{'3' * 64}</salt></SessionLoginCap>"
    )
    assert (two_one.version, two_one.salt2) == ("2.1", "4" * 64)
    assert parse_session_login_cap("<SessionLoginCap/>").version == "2"


def test_illegal_login_lock_uses_the_real_names() -> None:
    lock = parse_illegal_login_lock(
        f'<IllegalLoginLock xmlns="{HIK}"><enabled>true</enabled>'
        "<maxIllegalLoginTimes>7</maxIllegalLoginTimes>"
        "<maxIllegalLoginLockTime>30</maxIllegalLoginLockTime></IllegalLoginLock>"
    )
    assert lock == IllegalLoginLock(enabled=True, max_attempts=7, lock_minutes=30)


def test_extern_capabilities() -> None:
    caps = parse_extern_capabilities(
        f'<ExternCapabilities xmlns="{HIK}">'
        "<isSupportWithSecurityEmail>true</isSupportWithSecurityEmail>"
        "<isSupportWithSecurityQuestion>false</isSupportWithSecurityQuestion>"
        "<isSupportWithGUIDFileData>true</isSupportWithGUIDFileData>"
        "</ExternCapabilities>"
    )
    assert caps.security_email and caps.guid_file
    assert not caps.security_question and not caps.hc_app


def test_user_check_attempts_left_and_lock() -> None:
    wrong = parse_user_check(
        "<userCheck><statusValue>401</statusValue><statusString>Unauthorized</statusString>"
        "<lockStatus>unlock</lockStatus><unlockTime>0</unlockTime>"
        "<retryLoginTime>5</retryLoginTime></userCheck>",
        "http://d/ISAPI/System/deviceInfo",
    )
    assert wrong is not None
    assert (wrong.attempts_left, wrong.locked, wrong.unlock_time_s) == (5, False, 0)
    assert "5 attempts left" in str(wrong)
    locked = parse_user_check(
        '<userCheck xmlns="http://www.isapi.org/ver20/XMLSchema"><statusValue>401</statusValue>'
        "<lockStatus>lock</lockStatus><unlockTime>1790</unlockTime>"
        "<retryLoginTime>0</retryLoginTime></userCheck>",
        "u",
    )
    assert locked is not None and locked.locked and locked.unlock_time_s == 1790
    assert parse_user_check("<ResponseStatus/>", "u") is None
    plain_challenge = "<userCheck><statusValue>401</statusValue></userCheck>"
    assert parse_user_check(plain_challenge, "u") is None
    assert parse_user_check("not xml", "u") is None


def test_response_status_xml() -> None:
    error = parse_response_status(
        '<ResponseStatus version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">'
        "<requestURL>/ISAPI/System/activate</requestURL><statusCode>4</statusCode>"
        "<statusString>Invalid Operation</statusString>"
        "<subStatusCode>invalidOperation</subStatusCode></ResponseStatus>",
        method="PUT",
        url="u",
        http_status=403,
    )
    assert error is not None
    assert (error.status_code, error.sub_status_code, error.retry_times) == (
        4,
        "invalidOperation",
        None,
    )


def test_response_status_json_with_retry_times() -> None:
    error = parse_response_status(
        '{"requestURL": "/ISAPI/Security/emailCertification?format=json", "statusCode": 6,'
        ' "statusString": "Invalid Content", "subStatusCode": "verificationCodeError",'
        ' "errorCode": 1610612737, "errorMsg": "verificationCodeError", "retryTimes": 4}',
        method="PUT",
        url="u",
        http_status=400,
    )
    assert error is not None
    assert error.sub_status_code == "verificationCodeError"
    assert error.retry_times == 4 and error.error_code == 6 * 2**28 + 1
    assert "4 attempts left" in str(error)


def test_not_a_response_status() -> None:
    assert parse_response_status("{}", method="GET", url="u", http_status=500) is None
    assert parse_response_status("<html/>", method="GET", url="u", http_status=500) is None
    assert parse_response_status("", method="GET", url="u", http_status=500) is None


def test_heartbeat_beats_at_once_and_stops_when_told() -> None:
    three = threading.Event()
    calls: list[int] = []

    def beat() -> None:
        calls.append(1)
        if len(calls) == 3:
            three.set()

    heartbeat = Heartbeat(beat, 0.01, name="test").start()
    assert three.wait(30), "three beats never came"
    heartbeat.stop(30)
    assert not heartbeat.alive and heartbeat.beats >= 3 and heartbeat.failures == 0


def test_heartbeat_gives_up_after_six_failed_beats_as_the_gui() -> None:
    def beat() -> None:
        raise LoginRejected(url="u", attempts_left=None, locked=False, unlock_time_s=0)

    heartbeat = Heartbeat(beat, 0.001, name="test").start()
    heartbeat._thread.join(30)  # it ends by itself
    assert not heartbeat.alive
    assert (heartbeat.beats, heartbeat.failures) == (0, MAX_FAILED_BEATS)
    assert heartbeat.last_error and "refused" in heartbeat.last_error


# ------------------------------------------------------------- against the emulated lab

PASSWORD = "Qw7!rT9#zPk"
EMAIL = "qa.reset@lab.example.com"


def _client(lab: EmulatedLab, name: str, **kwargs: Any) -> IsapiClient:
    return IsapiClient(lab.http(name), timeout=10.0, **kwargs)


def _activated(lab: EmulatedLab, name: str, email: str | None = None) -> IsapiClient:
    """A client of device `name`, activated with PASSWORD if it was not yet."""
    client = _client(lab, name)
    if not client.wait_until_up(30):
        client.activate(PASSWORD, email=email)
    return client


def _sent(client: IsapiClient, header: str) -> list[str]:
    return [value for e in client.log for name, value in e.request_headers
            if name.lower() == header]


def _challenges(client: IsapiClient) -> list[list[str]]:
    """The WWW-Authenticate headers of each 401 the client met."""
    return [[v for n, v in e.response_headers if n.lower() == "www-authenticate"]
            for e in client.log if e.status == 401]


def test_activate_then_md5_digest_as_the_device_offers(emulated_lab: EmulatedLab) -> None:
    client = _client(emulated_lab, "nvr")
    assert client.wait_until_up(30) is False
    assert client.extern_capabilities().security_email is False  # no address reserved yet
    client.activate(PASSWORD, email=EMAIL)
    assert client.activated() is True
    assert client.extern_capabilities().security_email is True
    expected = emulated_lab.device("nvr")
    with _client(emulated_lab, "nvr") as fresh:
        info = fresh.login_digest(PASSWORD)
        assert (info.model, info.serial_number, info.device_type) == (
            expected["model"], expected["serial"], "NVR")
        assert info.firmware_version == expected["firmware"].split()[0]
        assert fresh.digest_algorithm == "MD5"
        offers = _challenges(fresh)
        assert offers and all(len(headers) == 1 for headers in offers)
        assert "algorithm" not in offers[0][0].lower()  # MD5 is the unnamed default
        assert _sent(fresh, "authorization") and all(
            "algorithm=MD5" in v for v in _sent(fresh, "authorization"))
    rendered = client.log.render()
    assert PASSWORD not in rendered and "/ISAPI/System/activate" in rendered
    assert "reservedEmail" not in rendered  # activation carries no e-mail element


def test_sha256_digest_where_the_device_offers_it(emulated_lab: EmulatedLab) -> None:
    _activated(emulated_lab, "nvr-lock").close()
    with _client(emulated_lab, "nvr-lock") as client:
        client.login_digest(PASSWORD)
        assert client.digest_algorithm == "SHA-256"
        assert all("algorithm=SHA-256" in v for v in _sent(client, "authorization"))
        assert client.device_status().up_time_s is not None
    with _client(emulated_lab, "nvr-lock") as strict, pytest.raises(ProductDefect,
                                                                    match="offers Digest SHA-256"):
        strict.login_digest(PASSWORD, algorithm="MD5")


def test_activating_an_active_device_is_refused(emulated_lab: EmulatedLab) -> None:
    client = _activated(emulated_lab, "nvr", EMAIL)
    with pytest.raises(IsapiError) as info:
        client.activate("Other#Pass9x")
    assert (info.value.http_status, info.value.status_code, info.value.sub_status_code) == (
        403, 4, "invalidOperation")


def test_user_check_proves_the_password(emulated_lab: EmulatedLab) -> None:
    _activated(emulated_lab, "nvr", EMAIL).close()
    with _client(emulated_lab, "nvr") as right:
        right.use_digest(PASSWORD)
        right.user_check()
    with _client(emulated_lab, "nvr") as wrong, pytest.raises(LoginRejected) as info:
        wrong.use_digest("Wrong#Pass77")
        wrong.user_check()
    assert info.value.attempts_left is not None
    _client(emulated_lab, "nvr").login_digest(PASSWORD)  # clears the wrong-login count


@pytest.mark.parametrize(("name", "version"), [("nvr", "2"), ("ipc", "2.1")])
def test_session_login_of_each_version_authorises(
    emulated_lab: EmulatedLab, name: str, version: str
) -> None:
    client = _activated(emulated_lab, name)
    session = client.login_session(PASSWORD)
    assert session.version == version
    assert session.cookie_name.startswith("WebSession_")
    assert client.device_info().model == emulated_lab.device(name)["model"]
    assert client.heartbeat is not None and client.heartbeat.alive
    rendered = client.log.render()
    assert PASSWORD not in rendered and session.session_id not in rendered
    client.logout()
    assert not client.heartbeat.alive
    with pytest.raises((HarnessError, IsapiError, LoginRejected)):
        client.device_info()
    client.close()


def test_heartbeat_keeps_a_session_alive(emulated_lab: EmulatedLab) -> None:
    _activated(emulated_lab, "ipc-beat").close()
    idle = 3 * SESSION_TIMEOUT_S
    with _client(emulated_lab, "ipc-beat", heartbeat_interval_s=SESSION_TIMEOUT_S / 4) as kept:
        kept.login_session(PASSWORD)
        time.sleep(idle)  # no request of ours: only the heartbeat speaks
        assert kept.heartbeat is not None and kept.heartbeat.beats >= 2, kept.heartbeat.last_error
        assert kept.device_info().model == emulated_lab.device("ipc-beat")["model"]
    beats = [e for e in kept.log if e.url.endswith("/ISAPI/Security/sessionHeartbeat")]
    assert beats and all(e.method == "PUT" and e.status == 200 for e in beats)
    assert any(e.url.endswith("/ISAPI/Security/sessionLogout") for e in kept.log)
    # The control: without beats the same idle time ends the session, so the above is the
    # heartbeat's doing (the first beat comes at once; the next one never).
    with _client(emulated_lab, "ipc-beat", heartbeat_interval_s=3600) as idle_client:
        idle_client.login_session(PASSWORD)
        time.sleep(idle)
        with pytest.raises((IsapiError, LoginRejected)):
            idle_client.device_info()


def test_calls_without_login_are_a_harness_error(emulated_lab: EmulatedLab) -> None:
    client = _activated(emulated_lab, "nvr", EMAIL)
    with pytest.raises(HarnessError, match="needs login"):
        client.device_info()


def test_security_capabilities_give_the_field_key_inputs(emulated_lab: EmulatedLab) -> None:
    client = _activated(emulated_lab, "nvr", EMAIL)
    cap = client.security_capabilities()
    assert cap.key_iterate_num and cap.key_iterate_num > 0
    assert cap.salt and len(cap.salt) == 64
    assert cap.security_email is True
    assert client.security_capabilities(user=None).salt is None  # only for a named user
    assert _client(emulated_lab, "ipc-old").security_email_supported() is False


@pytest.mark.parametrize("form", ["plain", "security"])
def test_reserving_an_email_needs_the_admin_password_not_a_login(
    emulated_lab: EmulatedLab, form: Literal["plain", "security"]
) -> None:
    _activated(emulated_lab, "nvr", EMAIL).close()
    client = _client(emulated_lab, "nvr")  # no login: the body proves itself
    client.set_reserved_email("b.owner@example.com", PASSWORD, form=form)
    shown = client.reserved_email()
    assert shown is not None and shown != "b.owner@example.com"
    assert shown.startswith("b") and shown.endswith("@example.com") and "*" in shown
    put = [e for e in client.log if e.method == "PUT"][-1]
    if form == "security":
        assert re.search(r"/email/parameter\?format=json\?security=1&iv=[0-9a-f]{32}$", put.url)
        assert "b.owner@example.com" not in put.request_body
    else:
        assert put.url.endswith("/email/parameter?format=json")
    with pytest.raises(IsapiError) as info:
        client.set_reserved_email("c@example.com", "Wrong#Pass77", form=form)
    assert (info.value.http_status, info.value.sub_status_code) == (401, "passwordError")
    assert info.value.retry_times is not None
    with pytest.raises(IsapiError) as bad:
        client.set_reserved_email("not-an-address", PASSWORD, form=form)
    assert bad.value.sub_status_code == "badParameters"
    client.set_reserved_email(EMAIL, PASSWORD)
    assert not any(n.lower() == "authorization" for e in client.log for n, _ in e.request_headers)
    rendered = client.log.render()
    assert PASSWORD not in rendered and "Wrong#Pass77" not in rendered
    client.close()


def test_qr_code_text_and_picture_agree(emulated_lab: EmulatedLab) -> None:
    client = _activated(emulated_lab, "nvr", EMAIL)
    qr = client.qr_code()
    assert qr.text.startswith("HIKRESET1:")
    assert qr.image_png is not None and decode_qr(qr.image_png) == qr.text
    assert client.qr_code().text != qr.text  # each request makes a new QR


def test_below_the_threshold_there_is_no_email_reset(emulated_lab: EmulatedLab) -> None:
    client = _activated(emulated_lab, "ipc-old")
    assert client.extern_capabilities().security_email is False
    with pytest.raises(IsapiError) as info:
        client.qr_code()
    assert (info.value.http_status, info.value.sub_status_code) == (403, "notSupport")


def test_wrong_passwords_count_down_then_lock(emulated_lab: EmulatedLab) -> None:
    client = _activated(emulated_lab, "nvr-lock")
    client.use_digest(PASSWORD)
    client.set_illegal_login_lock(IllegalLoginLock(enabled=True, max_attempts=3, lock_minutes=5))
    assert client.illegal_login_lock() == IllegalLoginLock(True, 3, 5)
    client.close()
    seen: list[int | None] = []
    for login in ("digest", "session"):
        with _client(emulated_lab, "nvr-lock") as wrong, pytest.raises(LoginRejected) as info:
            if login == "digest":
                wrong.login_digest("Wrong#Pass77")
            else:
                wrong.login_session("Wrong#Pass77")
        assert not info.value.locked
        seen.append(info.value.attempts_left)
    assert seen == [2, 1]
    with _client(emulated_lab, "nvr-lock") as wrong, pytest.raises(LoginRejected) as info:
        wrong.login_digest("Wrong#Pass77")
    assert info.value.locked and info.value.unlock_time_s > 0
    with _client(emulated_lab, "nvr-lock") as right, pytest.raises(LoginRejected) as info:
        right.login_digest(PASSWORD)  # locked: even the right password is refused
    assert info.value.locked


def test_a_closed_port_is_a_one_line_device_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = IsapiClient(f"http://127.0.0.1:{port}", timeout=2.0)
    with pytest.raises(DeviceError, match=f"127.0.0.1:{port}.*refused") as info:
        client.activated()
    assert "\n" not in str(info.value)
    with pytest.raises(DeviceError, match="did not come up within 1 s"):
        client.wait_until_up(1.0)
    assert client.log.render().count("no answer") >= 2


def test_illegal_login_lock_limits_are_checked(emulated_lab: EmulatedLab) -> None:
    client = _activated(emulated_lab, "ipc-old")
    client.use_digest(PASSWORD)
    with pytest.raises(IsapiError) as info:
        client.set_illegal_login_lock(IllegalLoginLock(True, 2, 30))
    assert (info.value.http_status, info.value.sub_status_code) == (400, "badParameters")


def test_reboot_is_seen_in_the_device_status(emulated_lab: EmulatedLab) -> None:
    client = _activated(emulated_lab, "ipc-old")
    client.use_digest(PASSWORD)
    before = client.boot_identity()
    assert before.up_time_s is not None and before.current_device_time is not None
    client.reboot()
    assert client.wait_until_rebooted(before, 30) is True
    assert rebooted_since(before, client.boot_identity())


def test_full_factory_reset_returns_to_inactive(emulated_lab: EmulatedLab) -> None:
    client = _activated(emulated_lab, "ipc-old")
    client.use_digest(PASSWORD)
    before = client.boot_identity()
    client.factory_reset("full")
    assert client.wait_until_rebooted(before, 30) is False
    # Activated again with a 16-character password: 16 + 16 bytes need no zero padding.
    sixteen = "Qw7!rT9#zPk2Lm4X"
    client.activate(sixteen)
    assert client.activated() is True
    assert client.login_digest(sixteen).model == emulated_lab.device("ipc-old")["model"]

# ------------------------------------------------------------------ HTTPS with a lab CA


class _ActivateStatus(http.server.BaseHTTPRequestHandler):
    """A real HTTPS server that answers like a device's /SDK/activateStatus."""

    def do_GET(self) -> None:
        body = b"<ActivateStatus><Activated>true</Activated></ActivateStatus>"
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_https_with_the_lab_ca_file(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, "device")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ActivateStatus)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"https://127.0.0.1:{server.server_address[1]}"
    try:
        with IsapiClient(url, verify=cert, timeout=5) as pinned:
            assert pinned.activated() is True
        with (
            IsapiClient(url, verify=True, timeout=5) as system_cas,
            pytest.raises(InfrastructureError, match="TLS verification failed"),
        ):
            system_cas.activated()
    finally:
        server.shutdown()
        server.server_close()
