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


def _gui_flags(lab: Any) -> dict[str, str]:
    return {name: httpx.get(lab.url(name) + "/SDK/guiConfig.js", timeout=10).text
            for name in ("clean", "bad")}


def test_gui_reset_page_before_activation(pair: Callable[..., Any]) -> None:
    flags = _gui_flags(pair("gui_reset_page_before_activation"))
    assert {n: '"guardInactive": true' in t for n, t in flags.items()} == {"clean": True,
                                                                          "bad": False}


def test_gui_cookies_unchecked(pair: Callable[..., Any]) -> None:
    flags = _gui_flags(pair("gui_cookies_unchecked"))
    assert {n: '"checkCookies": true' in t for n, t in flags.items()} == {"clean": True,
                                                                         "bad": False}


def test_recorder_2020_rules_missing(pair: Callable[..., Any]) -> None:
    # Only recorder firmware from V4.30 applies the rules (spec §4).
    lab = pair("recorder_2020_rules_missing", model="DS-7608NI-K2", firmware="V4.30.005")
    codes = {name: SpecClient(lab.url(name)).activate("Admin#Pass2024").status_code
             for name in ("clean", "bad")}
    assert codes == {"clean": 400, "bad": 200}


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


# ---- defects of issue 13: each rule refused every way, spec defaults, after-states ----------

NVR_AT_THRESHOLD = {"model": "DS-7608NI-K2", "firmware": "V4.21.000"}


def _reboot(lab: Any, name: str) -> None:
    lab.call(lab.device(name).reboot())
    lab.call(lab.device(name).wait_booted())


def _both(lab: Any, check: Callable[[str], object]) -> dict[str, object]:
    return {name: check(name) for name in ("clean", "bad")}


def test_feature_lost_at_threshold(pair: Callable[..., Any]) -> None:
    lab = pair("feature_lost_at_threshold", **NVR_AT_THRESHOLD)
    assert _both(lab, lambda n: activated_client(lab.url(n)).set_email(
        PASSWORD, EMAIL).status_code) == {"clean": 200, "bad": 403}


def test_lock_defaults_wrong(pair: Callable[..., Any]) -> None:
    lab = pair("lock_defaults_wrong")
    assert _both(lab, lambda n: (lab.device(n).state.lock_max_attempts,
                                 lab.device(n).state.lock_minutes)) == {
        "clean": (7, 30), "bad": (5, 10)}


def _lock(c: SpecClient) -> None:
    for _ in range(7):
        c.session_login("Wrong-Pass1")


def test_lock_survives_reboot(pair: Callable[..., Any]) -> None:
    lab = pair("lock_survives_reboot")

    def after_reboot(name: str) -> int:
        c = activated_client(lab.url(name), login=False)
        _lock(c)
        _reboot(lab, name)
        return int(SpecClient(lab.url(name)).session_login(PASSWORD).status_code)

    assert _both(lab, after_reboot) == {"clean": 200, "bad": 401}


def test_lock_settings_unchecked(pair: Callable[..., Any]) -> None:
    lab = pair("lock_settings_unchecked")

    def set_two(name: str) -> int:
        activated_client(lab.url(name), login=False)
        try:
            lab.device(name).set_illegal_login_lock(True, 2, 30)
        except Exception:
            return 400
        return 200

    assert _both(lab, set_two) == {"clean": 400, "bad": 200}


def test_password_length_unchecked(pair: Callable[..., Any]) -> None:
    lab = pair("password_length_unchecked")
    assert _both(lab, lambda n: SpecClient(lab.url(n)).activate("Abcdefgh-1234567xy")
                 .status_code) == {"clean": 400, "bad": 200}


def test_reactivation_allowed(pair: Callable[..., Any]) -> None:
    lab = pair("reactivation_allowed")
    assert _both(lab, lambda n: activated_client(lab.url(n)).activate(NEW_PASSWORD)
                 .status_code) == {"clean": 403, "bad": 200}


def test_reserved_email_format_unchecked(pair: Callable[..., Any]) -> None:
    lab = pair("reserved_email_format_unchecked")
    assert _both(lab, lambda n: activated_client(lab.url(n)).set_email(
        PASSWORD, "a b@example").status_code) == {"clean": 400, "bad": 200}


def test_reserved_email_length_unchecked(pair: Callable[..., Any]) -> None:
    lab = pair("reserved_email_length_unchecked")
    long = "a" * 30 + "@example.com"
    assert _both(lab, lambda n: activated_client(lab.url(n)).set_email(
        PASSWORD, long).status_code) == {"clean": 400, "bad": 200}


def test_email_shown_unmasked(pair: Callable[..., Any]) -> None:
    lab = pair("email_shown_unmasked")

    def shown(name: str) -> str:
        c = activated_client(lab.url(name), email=EMAIL)
        info = c.http.get("/ISAPI/Security/email/parameter", params={"format": "json"}).json()
        return str(info["SecurityEmail"]["SecurityInformation"][0]["emailAddress"])

    assert _both(lab, shown) == {"clean": "o****@example.com", "bad": EMAIL}


def _code_answer(lab: Any, name: str, change: Callable[[str], str]) -> str:
    c = activated_client(lab.url(name), email=EMAIL)
    return _sub(c.check_code(change(_code(lab, name, _qr(c)))))


def test_code_case_sensitive(pair: Callable[..., Any]) -> None:
    lab = pair("code_case_sensitive")
    assert _both(lab, lambda n: _code_answer(lab, n, str.lower)) == {
        "clean": "ok", "bad": "verificationCodeError"}


def test_code_prefix_compared(pair: Callable[..., Any]) -> None:
    lab = pair("code_prefix_compared")

    def last_changed(code: str) -> str:
        return code[:-1] + ("2" if code[-1] != "2" else "3")

    assert _both(lab, lambda n: _code_answer(lab, n, last_changed)) == {
        "clean": "verificationCodeError", "bad": "ok"}


def test_code_validity_short(pair: Callable[..., Any]) -> None:
    lab = pair("code_validity_short")
    assert _both(lab, lambda n: activated_client(lab.url(n), email=EMAIL).qr().json()[
        "QRCode"]["validSeconds"]) == {"clean": 172800, "bad": 3600}


def test_reset_skips_password_rules(pair: Callable[..., Any]) -> None:
    lab = pair("reset_skips_password_rules")

    def reset_risky(name: str) -> int:
        c = activated_client(lab.url(name), email=EMAIL)
        return int(c.reset_with_code(_code(lab, name, _qr(c)), "abcdefgh").status_code)

    assert _both(lab, reset_risky) == {"clean": 400, "bad": 200}


def test_session_survives_password_reset(pair: Callable[..., Any]) -> None:
    lab = pair("session_survives_password_reset")

    def heartbeat_after(name: str) -> int:
        c, _ = _reset_once(lab, name)  # c logged in before the reset
        return int(c.heartbeat().status_code)

    assert _both(lab, heartbeat_after) == {"clean": 401, "bad": 200}


def test_lock_count_survives_reset(pair: Callable[..., Any]) -> None:
    lab = pair("lock_count_survives_reset")

    def left_after(name: str) -> str:
        c = activated_client(lab.url(name), email=EMAIL, login=False)
        for _ in range(3):
            c.session_login("Wrong-Pass1")
        c.reset_with_code(_code(lab, name, _qr(c)), NEW_PASSWORD)
        return leaves(c.session_login("Wrong-Pass1").text)["retryLoginTime"]

    assert _both(lab, left_after) == {"clean": "6", "bad": "3"}


def test_email_dropped_after_reset(pair: Callable[..., Any]) -> None:
    lab = pair("email_dropped_after_reset")
    assert _both(lab, lambda n: (_reset_once(lab, n), lab.device(n).state.email)[1]) == {
        "clean": EMAIL, "bad": None}


def test_email_lost_on_reboot(pair: Callable[..., Any]) -> None:
    lab = pair("email_lost_on_reboot")

    def after_reboot(name: str) -> str | None:
        activated_client(lab.url(name), email=EMAIL)
        _reboot(lab, name)
        return lab.device(name).state.email  # type: ignore[no-any-return]

    assert _both(lab, after_reboot) == {"clean": EMAIL, "bad": None}


def _after_reset(lab: Any, name: str, mode: str) -> str | None:
    activated_client(lab.url(name), email=EMAIL)
    lab.call(lab.device(name).factory_reset(mode))
    lab.call(lab.device(name).wait_booted())
    return lab.device(name).state.email  # type: ignore[no-any-return]


def test_full_reset_keeps_email(pair: Callable[..., Any]) -> None:
    lab = pair("full_reset_keeps_email")
    assert _both(lab, lambda n: _after_reset(lab, n, "full")) == {"clean": None, "bad": EMAIL}


def test_basic_reset_drops_email(pair: Callable[..., Any]) -> None:
    lab = pair("basic_reset_drops_email")
    assert _both(lab, lambda n: _after_reset(lab, n, "basic")) == {"clean": EMAIL, "bad": None}


def test_crash_on_email_save(pair: Callable[..., Any]) -> None:
    lab = pair("crash_on_email_save")

    def answer_and_reboots(name: str) -> tuple[str, int, str | None]:
        c = activated_client(lab.url(name))
        try:
            answer = str(c.set_email(PASSWORD, EMAIL).status_code)
        except httpx.TransportError:
            answer = "no answer"
        lab.call(lab.device(name).wait_booted())
        device = lab.device(name)
        return answer, int(device.counters()["reboots"]), device.state.email

    assert _both(lab, answer_and_reboots) == {"clean": ("200", 0, EMAIL),
                                              "bad": ("no answer", 1, EMAIL)}
