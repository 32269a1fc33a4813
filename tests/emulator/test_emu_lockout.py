"""Spec §5: the illegal-login lock, per client address, settable, cleared by a reboot."""

from __future__ import annotations

import contextlib

import pytest
from specclient import PASSWORD, SpecClient, activated_client, leaves


@pytest.fixture
def lab(fleet_factory):  # type: ignore[no-untyped-def]
    lab = fleet_factory([{"model": "DS-7608NI-K2", "firmware": "V4.21.000"}], cloud=False,
                        lab_controller=False)
    activated_client(lab.url(), login=False).close()
    return lab


def test_seven_wrong_passwords_lock_even_the_right_one(lab) -> None:  # type: ignore[no-untyped-def]
    c = SpecClient(lab.url())
    for left in range(6, 0, -1):
        assert leaves(c.session_login("Wrong-Pass1").text)["retryLoginTime"] == str(left)
    locked = leaves(c.session_login("Wrong-Pass1").text)
    assert locked["lockStatus"] == "lock"
    assert 0 < int(locked["unlockTime"]) <= 30 * 60
    r = c.session_login(PASSWORD)
    assert r.status_code == 401
    assert leaves(r.text)["lockStatus"] == "lock"


def test_lock_is_per_client_address(lab) -> None:  # type: ignore[no-untyped-def]
    device = lab.device()

    # All test clients share 127.0.0.1, so another address fails on the device directly.
    def lock_other() -> None:
        from emulator.errors import LoginRefused

        for _ in range(7):
            with contextlib.suppress(LoginRefused):
                device.login("10.0.0.9", lambda _c: False)

    lab.run(lock_other)
    assert lab.run(lambda: device.lock_status("10.0.0.9"))[0]
    assert SpecClient(lab.url()).session_login(PASSWORD).status_code == 200


def test_right_password_resets_the_count(lab) -> None:  # type: ignore[no-untyped-def]
    c = SpecClient(lab.url())
    for _ in range(5):
        c.session_login("Wrong-Pass1")
    assert c.session_login(PASSWORD).status_code == 200
    assert leaves(c.session_login("Wrong-Pass1").text)["retryLoginTime"] == "6"


def test_lock_settings(lab) -> None:  # type: ignore[no-untyped-def]
    c = SpecClient(lab.url())
    assert c.session_login(PASSWORD).status_code == 200
    got = leaves(c.http.get("/ISAPI/Security/illegalLoginLock").text)
    assert (got["enabled"], got["maxIllegalLoginTimes"],
            got["maxIllegalLoginLockTime"]) == ("true", "7", "30")
    body = ("<IllegalLoginLock><enabled>true</enabled><maxIllegalLoginTimes>3"
            "</maxIllegalLoginTimes><maxIllegalLoginLockTime>1</maxIllegalLoginLockTime>"
            "</IllegalLoginLock>")
    assert c.http.put("/ISAPI/Security/illegalLoginLock", content=body).status_code == 200
    for bad in ("<maxIllegalLoginTimes>2</maxIllegalLoginTimes>",
                "<maxIllegalLoginTimes>21</maxIllegalLoginTimes>",
                "<maxIllegalLoginLockTime>0</maxIllegalLoginLockTime>",
                "<maxIllegalLoginLockTime>121</maxIllegalLoginLockTime>"):
        r = c.http.put("/ISAPI/Security/illegalLoginLock",
                       content=f"<IllegalLoginLock>{bad}</IllegalLoginLock>")
        assert r.status_code == 400 and leaves(r.text)["subStatusCode"] == "badParameters"
    other = SpecClient(lab.url())
    for _ in range(2):
        other.session_login("Wrong-Pass1")
    locked = leaves(other.session_login("Wrong-Pass1").text)
    assert locked["lockStatus"] == "lock" and int(locked["unlockTime"]) <= 60


def test_disabled_lock_never_locks(lab) -> None:  # type: ignore[no-untyped-def]
    c = SpecClient(lab.url())
    assert c.session_login(PASSWORD).status_code == 200
    c.http.put("/ISAPI/Security/illegalLoginLock",
               content="<IllegalLoginLock><enabled>false</enabled></IllegalLoginLock>")
    other = SpecClient(lab.url())
    for _ in range(9):
        other.session_login("Wrong-Pass1")
    assert other.session_login(PASSWORD).status_code == 200


def test_reboot_clears_locks(lab) -> None:  # type: ignore[no-untyped-def]
    c = SpecClient(lab.url())
    for _ in range(7):
        c.session_login("Wrong-Pass1")
    assert c.session_login(PASSWORD).status_code == 401
    device = lab.device()
    lab.call(device.reboot())
    lab.call(device.wait_booted())
    assert SpecClient(lab.url()).session_login(PASSWORD).status_code == 200
