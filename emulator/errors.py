"""Failures a device answers with; the HTTP layer renders them as ResponseStatus or userCheck."""

from __future__ import annotations

STATUS_STRINGS = {
    1: "OK", 2: "Device Busy", 3: "Device Error", 4: "Invalid Operation",
    5: "Invalid XML Format", 6: "Invalid XML Content", 7: "Reboot Required",
}

# Detail numbers for errorCode = statusCode * 2**28 + detail ([dec]).
SUB_DETAIL = {
    "ok": 0, "notSupport": 1, "lowPrivilege": 2, "invalidOperation": 3, "notActivated": 4,
    "passwordError": 5, "badXmlFormat": 1, "badParameters": 2, "riskPassword": 3,
    "verificationCodeError": 4, "verificationCodeExpired": 5,
    "badXmlContent": 7,
}


class DeviceError(Exception):
    """An ISAPI error answer: HTTP status, statusCode, subStatusCode, optional retryTimes."""

    def __init__(self, http_status: int, status_code: int, sub: str,
                 retry_times: int | None = None) -> None:
        super().__init__(f"{http_status} {status_code} {sub}")
        self.http_status = http_status
        self.status_code = status_code
        self.sub = sub
        self.retry_times = retry_times


class LoginRefused(Exception):
    """Wrong password or locked address: answered as a 401 userCheck document."""

    def __init__(self, locked: bool, unlock_seconds: int, retry_left: int) -> None:
        super().__init__("locked" if locked else "wrong password")
        self.locked = locked
        self.unlock_seconds = unlock_seconds
        self.retry_left = retry_left


def not_support() -> DeviceError:
    return DeviceError(403, 4, "notSupport")


def bad_parameters() -> DeviceError:
    return DeviceError(400, 6, "badParameters")


def bad_xml() -> DeviceError:
    return DeviceError(400, 5, "badXmlFormat")
