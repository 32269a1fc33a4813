"""Each named defect: the same calls on a clean device and on a defective one differ."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from specclient import EMAIL, PASSWORD, SpecClient, activated_client, code_for, leaves

CAMERA = {"model": "DS-2CD2143G2-I", "firmware": "V5.6.3"}
NEW_PASSWORD = "N3w-Secret!"


@pytest.fixture
def pair(fleet_factory: Callable[..., Any]) -> Callable[..., Any]:
    """Start a clean and a defective device of the same kind: pair("defect", **spec)."""

    def start(defect: str, **spec: Any) -> Any:
        device = {**CAMERA, **spec}
        return fleet_factory([{"name": "clean", **device},
                              {"name": "bad", **device, "defects": [defect]}],
                             cloud=False, lab_controller=False)

    return start


def _code(lab: Any, name: str, qr: str) -> str:
    return code_for(lab.device(name).cloud_key, qr)


def _qr(c: SpecClient) -> str:
    r = c.qr()
    assert r.status_code == 200, r.text
    return str(r.json()["QRCode"]["qrText"])


def _sub(r: httpx.Response) -> str:
    return str(r.json().get("subStatusCode", "ok")) if r.status_code != 200 else "ok"


def test_gate_off_by_one(pair: Callable[..., Any]) -> None:
    lab = pair("gate_off_by_one", firmware="V5.5.82")
    answers = {}
    for name in ("clean", "bad"):
        c = activated_client(lab.url(name))
        answers[name] = leaves(c.http.get("/ISAPI/Security/extern/capabilities").text)[
            "isSupportWithHCApp"], c.set_email(PASSWORD, EMAIL).status_code
    assert answers == {"clean": ("false", 403), "bad": ("true", 200)}


def test_gate_off_by_one_for_recorders(pair: Callable[..., Any]) -> None:
    lab = pair("gate_off_by_one", model="DS-7608NI-K2", firmware="V4.20.000")
    assert activated_client(lab.url("clean")).set_email(PASSWORD, EMAIL).status_code == 403
    assert activated_client(lab.url("bad")).set_email(PASSWORD, EMAIL).status_code == 200


def _reset_once(lab: Any, name: str) -> tuple[SpecClient, str]:
    c = activated_client(lab.url(name), email=EMAIL)
    code = _code(lab, name, _qr(c))
    assert c.reset_with_code(code, NEW_PASSWORD).status_code == 200
    return c, code


def test_code_reusable(pair: Callable[..., Any]) -> None:
    lab = pair("code_reusable")
    results = {name: _sub(SpecClient(lab.url(name)).check_code(_reset_once(lab, name)[1]))
               for name in ("clean", "bad")}
    assert results == {"clean": "verificationCodeExpired", "bad": "ok"}


def test_code_survives_reboot(pair: Callable[..., Any]) -> None:
    lab = pair("code_survives_reboot")
    results = {}
    for name in ("clean", "bad"):
        c = activated_client(lab.url(name), email=EMAIL)
        code = _code(lab, name, _qr(c))
        lab.call(lab.device(name).reboot())
        lab.call(lab.device(name).wait_booted())
        results[name] = _sub(SpecClient(lab.url(name)).check_code(code))
    assert results == {"clean": "verificationCodeExpired", "bad": "ok"}


def test_code_survives_email_change(pair: Callable[..., Any]) -> None:
    lab = pair("code_survives_email_change")
    results = {}
    for name in ("clean", "bad"):
        c = activated_client(lab.url(name), email=EMAIL)
        code = _code(lab, name, _qr(c))
        assert c.set_email(PASSWORD, "other@example.com").status_code == 200
        results[name] = _sub(c.check_code(code))
    assert results == {"clean": "verificationCodeExpired", "bad": "ok"}


def test_code_survives_new_qr(pair: Callable[..., Any]) -> None:
    lab = pair("code_survives_new_qr")
    results = {}
    for name in ("clean", "bad"):
        c = activated_client(lab.url(name), email=EMAIL)
        first = _qr(c)
        second = _qr(c)
        assert first != second
        results[name] = _sub(c.check_code(_code(lab, name, first)))
    assert results == {"clean": "verificationCodeExpired", "bad": "ok"}


def test_qr_not_regenerated(pair: Callable[..., Any]) -> None:
    lab = pair("qr_not_regenerated")
    same = {}
    for name in ("clean", "bad"):
        c = activated_client(lab.url(name), email=EMAIL)
        same[name] = _qr(c) == _qr(c)
    assert same == {"clean": False, "bad": True}


def test_risky_password_accepted(pair: Callable[..., Any]) -> None:
    lab = pair("risky_password_accepted")
    codes = {name: SpecClient(lab.url(name)).activate("abcdefgh").status_code
             for name in ("clean", "bad")}
    assert codes == {"clean": 400, "bad": 200}
    # the login answer owns up to it
    answer = SpecClient(lab.url("bad")).session_login("abcdefgh")
    assert leaves(answer.text)["isRiskPassword"] == "true"


def test_lockout_never_engages(pair: Callable[..., Any]) -> None:
    lab = pair("lockout_never_engages")
    results = {}
    for name in ("clean", "bad"):
        activated_client(lab.url(name), login=False)
        c = SpecClient(lab.url(name))
        for _ in range(7):
            c.session_login("Wrong-Pass1")
        results[name] = c.session_login(PASSWORD).status_code
    assert results == {"clean": 401, "bad": 200}


def test_gui_confirm_mismatch(pair: Callable[..., Any]) -> None:
    lab = pair("gui_confirm_mismatch")
    flags = {name: '"checkConfirm": true' in httpx.get(lab.url(name) + "/SDK/guiConfig.js",
                                                      timeout=10).text
             for name in ("clean", "bad")}
    assert flags == {"clean": True, "bad": False}


def test_strength_bar_wrong(pair: Callable[..., Any]) -> None:
    lab = pair("strength_bar_wrong")
    flags = {name: '"strengthOffset": 1' in httpx.get(lab.url(name) + "/SDK/guiConfig.js",
                                                     timeout=10).text
             for name in ("clean", "bad")}
    assert flags == {"clean": False, "bad": True}


def test_old_password_valid_after_reset(pair: Callable[..., Any]) -> None:
    lab = pair("old_password_valid_after_reset")
    results = {}
    for name in ("clean", "bad"):
        _reset_once(lab, name)
        results[name] = SpecClient(lab.url(name)).session_login(PASSWORD).status_code
    assert results == {"clean": 401, "bad": 200}


def test_code_mail_never_sent(pair: Callable[..., Any]) -> None:
    from cryptography.exceptions import InvalidTag

    from emulator.cloudcrypto import open_address, parse_qr_text

    lab = pair("code_mail_never_sent")
    readable = {}
    for name in ("clean", "bad"):
        c = activated_client(lab.url(name), email=EMAIL)
        payload = parse_qr_text(_qr(c))
        # What the cloud does with the QR: open the address with the device's cloud key.
        readable[name] = None
        with contextlib.suppress(InvalidTag):
            readable[name] = open_address(lab.device(name).cloud_key, payload.sealed_mail)
    assert readable == {"clean": EMAIL, "bad": None}


def test_wrong_code_limit_missing(pair: Callable[..., Any]) -> None:
    lab = pair("wrong_code_limit_missing")
    results = {}
    for name in ("clean", "bad"):
        c = activated_client(lab.url(name), email=EMAIL)
        code = _code(lab, name, _qr(c))
        wrong = "22222222" if code != "22222222" else "33333333"
        for _ in range(6):
            assert c.check_code(wrong).status_code == 400
        results[name] = _sub(c.check_code(code))
    assert results == {"clean": "verificationCodeExpired", "bad": "ok"}


def test_email_change_without_password(pair: Callable[..., Any]) -> None:
    lab = pair("email_change_without_password")
    codes = {name: activated_client(lab.url(name)).set_email("Wrong-Pass1", EMAIL).status_code
             for name in ("clean", "bad")}
    assert codes == {"clean": 401, "bad": 200}


def test_every_builtin_defect_has_a_test() -> None:
    from emulator.defects import REGISTRY

    tested = {name.removeprefix("test_").removesuffix("_for_recorders")
              for name in globals() if name.startswith("test_")}
    assert set(REGISTRY) <= tested, set(REGISTRY) - tested


def test_user_defect_module(fleet_factory: Callable[..., Any], tmp_path: Any) -> None:
    module = tmp_path / "my_defects.py"
    module.write_text(
        "from emulator.defects import defect\n\n"
        "@defect('lock_after_three', 'locks after three wrong passwords')\n"
        "def lock_after_three(policy):\n"
        "    policy.lock_max_attempts = 3\n"
        "    policy.lock_engages = True\n")
    lab = fleet_factory([{**CAMERA, "defects": ["lock_after_three"]}], cloud=False,
                        lab_controller=False, defect_modules=[str(module)])
    from emulator.defects import REGISTRY

    assert "lock_after_three" in REGISTRY
    assert lab.device().policy.lock_max_attempts == 3
