"""Parsing of device documents taken from DEVICE-SPEC.md and docs/device-api.md."""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import socket
import ssl
import threading
from pathlib import Path

import pytest
from conftest_clients import EmulatedLab, emulated_lab_fixture  # noqa: F401
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness.errors import DeviceError, HarnessError, InfrastructureError
from harness.isapi import (
    IllegalLoginLock,
    IsapiClient,
    IsapiError,
    LoginRejected,
    parse_device_info,
    parse_extern_capabilities,
    parse_response_status,
    parse_user_check,
)
from harness.qr import decode_qr

DEVICE_INFO = """<?xml version="1.0" encoding="UTF-8"?>
<DeviceInfo version="2.0" xmlns="{ns}">
<deviceName>Lab NVR</deviceName><deviceID>48a1f0e2</deviceID><model>DS-7608NI-K2</model>
<serialNumber>DS-7608NI-K20820210422CCWR593756043WCVU</serialNumber>
<macAddress>44:19:b6:00:00:01</macAddress><firmwareVersion>V4.30.085</firmwareVersion>
<firmwareReleasedDate>build 220112</firmwareReleasedDate><encoderVersion>V7.3</encoderVersion>
<deviceType>NVR</deviceType></DeviceInfo>"""


@pytest.mark.parametrize(
    "ns", ["http://www.hikvision.com/ver20/XMLSchema", "http://www.isapi.org/ver20/XMLSchema"]
)
def test_device_info_does_not_depend_on_the_namespace(ns: str) -> None:
    info = parse_device_info(DEVICE_INFO.format(ns=ns))
    assert info.model == "DS-7608NI-K2"
    assert info.serial_number.startswith("DS-7608NI-K2")
    assert info.firmware_version == "V4.30.085"
    assert info.firmware_released_date == "build 220112"
    assert info.device_type == "NVR"
    assert info.boot_time is None


def test_device_info_without_namespace() -> None:
    text = DEVICE_INFO.replace(' xmlns="{ns}"', "")
    assert parse_device_info(text).device_name == "Lab NVR"


def test_extern_capabilities() -> None:
    caps = parse_extern_capabilities(
        '<ExternCapabilities xmlns="http://www.hikvision.com/ver20/XMLSchema">'
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


# ------------------------------------------------------------- against the emulated lab

PASSWORD = "Qw7!rT9#zPk"
EMAIL = "qa.reset@lab.example.com"


def _client(lab: EmulatedLab, name: str) -> IsapiClient:
    return IsapiClient(lab.http(name), timeout=10.0)


def _activated(lab: EmulatedLab, name: str, email: str | None = None) -> IsapiClient:
    """A client of device `name`, activated with PASSWORD if it was not yet."""
    client = _client(lab, name)
    if not client.wait_until_up(30):
        client.activate(PASSWORD, email=email)
    return client


def test_activate_then_digest_md5_and_sha256(emulated_lab: EmulatedLab) -> None:
    client = _client(emulated_lab, "nvr")
    assert client.wait_until_up(30) is False
    assert client.extern_capabilities().security_email is False  # no address reserved yet
    client.activate(PASSWORD, email=EMAIL)
    assert client.activated() is True
    expected = emulated_lab.device("nvr")
    for algorithm in ("MD5", "SHA-256"):
        with _client(emulated_lab, "nvr") as fresh:
            info = fresh.login_digest(PASSWORD, algorithm=algorithm)  # type: ignore[arg-type]
            assert (info.model, info.serial_number, info.device_type) == (
                expected["model"],
                expected["serial"],
                "NVR",
            )
            assert info.firmware_version == expected["firmware"].split()[0]
            sent = [
                value
                for e in fresh.log
                for name, value in e.request_headers
                if name.lower() == "authorization"
            ]
            assert sent and all(f"algorithm={algorithm})" in v for v in sent)
    assert client.extern_capabilities().security_email is True
    rendered = client.log.render()
    assert PASSWORD not in rendered and "/ISAPI/System/activate" in rendered


def test_activating_an_active_device_is_refused(emulated_lab: EmulatedLab) -> None:
    client = _activated(emulated_lab, "nvr", EMAIL)
    with pytest.raises(IsapiError) as info:
        client.activate("Other#Pass9x")
    assert (info.value.http_status, info.value.status_code, info.value.sub_status_code) == (
        403,
        4,
        "invalidOperation",
    )


def test_session_login_sets_a_cookie_that_authorises(emulated_lab: EmulatedLab) -> None:
    client = _activated(emulated_lab, "nvr", EMAIL)
    session = client.login_session(PASSWORD)
    assert session.cookie_name.startswith("WebSession_")
    assert client.device_info().model == emulated_lab.device("nvr")["model"]
    rendered = client.log.render()
    assert PASSWORD not in rendered and session.session_id not in rendered
    client.logout()
    with pytest.raises((HarnessError, IsapiError, LoginRejected)):
        client.device_info()


def test_calls_without_login_are_a_harness_error(emulated_lab: EmulatedLab) -> None:
    client = _activated(emulated_lab, "nvr", EMAIL)
    with pytest.raises(HarnessError, match="needs login"):
        client.device_info()


def test_reserved_email_is_shown_masked_and_needs_the_admin_password(
    emulated_lab: EmulatedLab,
) -> None:
    client = _activated(emulated_lab, "nvr", EMAIL)
    client.use_digest(PASSWORD)
    client.set_reserved_email("b.owner@example.com", PASSWORD)
    shown = client.reserved_email()
    assert shown is not None and shown != "b.owner@example.com"
    assert shown.endswith("@example.com") and "*" in shown
    with pytest.raises(IsapiError) as info:
        client.set_reserved_email("c@example.com", "Wrong#Pass77")
    assert info.value.sub_status_code == "passwordError"
    assert info.value.retry_times is not None
    with pytest.raises(IsapiError) as bad:
        client.set_reserved_email("not-an-address", PASSWORD)
    assert bad.value.sub_status_code == "badParameters"
    client.set_reserved_email(EMAIL, PASSWORD)
    rendered = client.log.render()
    assert PASSWORD not in rendered and "Wrong#Pass77" not in rendered


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
    client.use_digest(PASSWORD, algorithm="SHA-256")
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
        wrong.login_digest("Wrong#Pass77", algorithm="SHA-256")
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


def test_reboot_comes_back_with_a_new_boot_time(emulated_lab: EmulatedLab) -> None:
    client = _activated(emulated_lab, "ipc-old")
    client.use_digest(PASSWORD)
    before = client.device_info()
    assert before.boot_time
    client.reboot()
    assert client.wait_until_rebooted(before, 30) is True
    assert client.device_info().boot_identity != before.boot_identity


def test_full_factory_reset_returns_to_inactive(emulated_lab: EmulatedLab) -> None:
    client = _activated(emulated_lab, "ipc-old")
    client.use_digest(PASSWORD, algorithm="SHA-256")
    before = client.device_info()
    client.factory_reset("full")
    assert client.wait_until_rebooted(before, 30) is False
    # Activated again with a 16-character password: 16 + 16 bytes need no zero padding.
    sixteen = "Qw7!rT9#zPk2Lm4X"
    client.activate(sixteen)
    assert client.activated() is True
    assert client.login_digest(sixteen).model == emulated_lab.device("ipc-old")["model"]


# ------------------------------------------------------------------ HTTPS with a lab CA


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "device.pem", tmp_path / "device.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


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
    cert, key = _self_signed(tmp_path)
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
