"""Parsing of device documents taken from DEVICE-SPEC.md and docs/device-api.md."""

from __future__ import annotations

import pytest

from harness.isapi import (
    parse_device_info,
    parse_extern_capabilities,
    parse_response_status,
    parse_user_check,
)

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
    assert parse_user_check("not xml", "u") is None


def test_response_status_xml() -> None:
    error = parse_response_status(
        '<ResponseStatus version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">'
        "<requestURL>/ISAPI/System/activate</requestURL><statusCode>4</statusCode>"
        "<statusString>Invalid Operation</statusString>"
        "<subStatusCode>invalidOperation</subStatusCode></ResponseStatus>",
        method="PUT", url="u", http_status=403,
    )
    assert error is not None
    assert (error.status_code, error.sub_status_code, error.retry_times) == (
        4, "invalidOperation", None)


def test_response_status_json_with_retry_times() -> None:
    error = parse_response_status(
        '{"requestURL": "/ISAPI/Security/emailCertification?format=json", "statusCode": 6,'
        ' "statusString": "Invalid Content", "subStatusCode": "verificationCodeError",'
        ' "errorCode": 1610612737, "errorMsg": "verificationCodeError", "retryTimes": 4}',
        method="PUT", url="u", http_status=400,
    )
    assert error is not None
    assert error.sub_status_code == "verificationCodeError"
    assert error.retry_times == 4 and error.error_code == 6 * 2**28 + 1
    assert "4 attempts left" in str(error)


def test_not_a_response_status() -> None:
    assert parse_response_status("{}", method="GET", url="u", http_status=500) is None
    assert parse_response_status("<html/>", method="GET", url="u", http_status=500) is None
    assert parse_response_status("", method="GET", url="u", http_status=500) is None
