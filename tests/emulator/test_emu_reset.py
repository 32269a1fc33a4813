"""Spec §6-§7: reserved e-mail, QR, verification code rules and the reset itself.

The code a test keys in is what the vendor cloud would mail: computed from the device's
cloud key and the QR nonce (`specclient.code_for`), so these tests need no mail server.
"""

from __future__ import annotations

import base64
import io
import json
import time

import pytest
import zxingcpp
from PIL import Image
from specclient import EMAIL, PASSWORD, SpecClient, activated_client, code_for, leaves

NEW_PASSWORD = "N3w-Secret!"


@pytest.fixture
def lab(fleet_factory):  # type: ignore[no-untyped-def]
    return fleet_factory([{"name": "cam", "model": "DS-2CD2143G2-I", "firmware": "V5.6.3"},
                          {"name": "old", "model": "DS-2CD2143G2-I", "firmware": "V5.5.82"}],
                         cloud=False, lab_controller=False)


def _ready(lab) -> SpecClient:  # type: ignore[no-untyped-def]
    return activated_client(lab.url("cam"), email=EMAIL)


def _qr(client: SpecClient) -> str:
    r = client.qr()
    assert r.status_code == 200, r.text
    return str(r.json()["QRCode"]["qrText"])


def _code(lab, qr: str) -> str:  # type: ignore[no-untyped-def]
    return code_for(lab.device("cam").cloud_key, qr)


def _check(client: SpecClient, code: str) -> None:
    r = client.check_code(code)
    assert r.status_code == 200, r.text
    assert r.json()["statusCode"] == 1


def test_email_is_masked_and_capability_set(lab) -> None:  # type: ignore[no-untyped-def]
    c = _ready(lab)
    r = c.http.get("/ISAPI/Security/email/parameter", params={"format": "json"})
    assert r.json() == {"SecurityEmail": {"SecurityInformation": [
        {"emailAddress": "o****@example.com"}]}}
    assert leaves(c.http.get("/ISAPI/Security/capabilities").text)[
        "isSupportSecurityEmail"] == "true"
    ext = leaves(SpecClient(lab.url("cam")).http.get(
        "/ISAPI/Security/extern/capabilities").text)
    assert ext["isSupportWithSecurityEmail"] == "true"


def test_email_needs_admin_password_and_counts(lab) -> None:  # type: ignore[no-untyped-def]
    c = activated_client(lab.url("cam"))
    r = c.set_email("Wrong-Pass1", EMAIL)
    assert r.status_code == 401
    assert r.json()["subStatusCode"] == "passwordError"
    assert r.json()["retryTimes"] == 6
    assert c.http.get("/ISAPI/Security/email/parameter", params={"format": "json"}).json() == {
        "SecurityEmail": {"SecurityInformation": []}}


@pytest.mark.parametrize("address", ["not-an-address", "a" * 30 + "@example.com", ""])
def test_bad_address_refused(lab, address: str) -> None:  # type: ignore[no-untyped-def]
    c = activated_client(lab.url("cam"))
    r = c.set_email(PASSWORD, address)
    assert r.status_code == 400
    assert r.json()["subStatusCode"] == "badParameters"


def test_no_qr_without_reserved_address(lab) -> None:  # type: ignore[no-untyped-def]
    c = activated_client(lab.url("cam"))
    r = c.qr()
    assert r.status_code == 403 and r.json()["subStatusCode"] == "notSupport"
    ext = leaves(c.http.get("/ISAPI/Security/extern/capabilities").text)
    assert ext["isSupportWithSecurityEmail"] == "false"


def test_below_threshold_not_supported(lab) -> None:  # type: ignore[no-untyped-def]
    c = activated_client(lab.url("old"))
    r = c.set_email(PASSWORD, EMAIL)
    assert r.status_code == 403 and r.json()["subStatusCode"] == "notSupport"
    assert c.qr().status_code == 403
    ext = leaves(c.http.get("/ISAPI/Security/extern/capabilities").text)
    assert ext["isSupportWithSecurityEmail"] == "false"
    assert ext["isSupportWithHCApp"] == "false"
    assert leaves(c.http.get("/ISAPI/Security/capabilities").text)[
        "isSupportSecurityEmail"] == "false"


def test_qr_text_image_and_sealed_address(lab) -> None:  # type: ignore[no-untyped-def]
    c = _ready(lab)
    body = c.qr().json()["QRCode"]
    assert body["validSeconds"] == 172800
    text = body["qrText"]
    raw = text[len("HIKRESET1:"):]
    payload = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    assert payload["sn"] == lab.entry("cam")["serial"]
    assert EMAIL not in text and EMAIL not in json.dumps(payload)
    prefix = "data:image/png;base64,"
    assert body["qrImage"].startswith(prefix)
    image = Image.open(io.BytesIO(base64.b64decode(body["qrImage"][len(prefix):])))
    # QR only: with every format on, zxing sometimes also reads a 1D code in the modules.
    decoded = zxingcpp.read_barcodes(image, formats=zxingcpp.barcode_formats_from_str("QRCode"))
    assert [d.text for d in decoded] == [text]


def test_full_reset_flow(lab) -> None:  # type: ignore[no-untyped-def]
    c = _ready(lab)
    stranger = SpecClient(lab.url("cam"))
    code = _code(lab, _qr(stranger))
    _check(stranger, code.lower())  # compared without case
    r = stranger.reset_with_code(code, NEW_PASSWORD)
    assert r.status_code == 200, r.text
    # sessions closed, old password dead, new one works, address kept
    assert c.http.get("/ISAPI/System/deviceInfo").status_code == 401
    assert SpecClient(lab.url("cam")).session_login(PASSWORD).status_code == 401
    fresh = SpecClient(lab.url("cam"))
    assert fresh.session_login(NEW_PASSWORD).status_code == 200
    assert fresh.http.get("/ISAPI/Security/email/parameter", params={"format": "json"}).json()[
        "SecurityEmail"]["SecurityInformation"] == [{"emailAddress": "o****@example.com"}]


def test_reset_clears_lock_counters(lab) -> None:  # type: ignore[no-untyped-def]
    _ready(lab)
    other = SpecClient(lab.url("cam"))
    for _ in range(3):
        assert other.session_login("Wrong-Pass1").status_code == 401
    assert other.reset_with_code(_code(lab, _qr(other)), NEW_PASSWORD).status_code == 200
    r = other.session_login("Wrong-Pass1")
    assert leaves(r.text)["retryLoginTime"] == "6"


def test_new_password_rules_apply(lab) -> None:  # type: ignore[no-untyped-def]
    c = _ready(lab)
    code = _code(lab, _qr(c))
    r = c.reset_with_code(code, "password")
    assert r.status_code == 400 and r.json()["subStatusCode"] == "riskPassword"
    r = c.reset_with_code(code, "Ab1!")
    assert r.status_code == 400 and r.json()["subStatusCode"] == "badParameters"
    # a refused password leaves the code unused
    assert c.reset_with_code(code, NEW_PASSWORD).status_code == 200


def test_code_single_use(lab) -> None:  # type: ignore[no-untyped-def]
    c = _ready(lab)
    code = _code(lab, _qr(c))
    assert c.reset_with_code(code, NEW_PASSWORD).status_code == 200
    r = c.check_code(code)
    assert r.status_code == 400 and r.json()["subStatusCode"] == "verificationCodeExpired"
    r = c.reset_with_code(code, "Other-Pass9", form="plain")
    assert r.status_code == 400 and r.json()["subStatusCode"] == "verificationCodeExpired"


def test_wrong_code_then_void_after_five(lab) -> None:  # type: ignore[no-untyped-def]
    c = _ready(lab)
    code = _code(lab, _qr(c))
    wrong = "22222222" if code != "22222222" else "33333333"
    for left in (4, 3, 2, 1, 0):
        r = c.check_code(wrong)
        assert r.status_code == 400
        assert r.json()["subStatusCode"] == "verificationCodeError"
        assert r.json()["retryTimes"] == left
    r = c.check_code(code)
    assert r.json()["subStatusCode"] == "verificationCodeExpired"


def test_new_qr_voids_previous_code(lab) -> None:  # type: ignore[no-untyped-def]
    c = _ready(lab)
    first = _qr(c)
    second = _qr(c)
    assert first != second
    # docs/device-api.md: a void code answers verificationCodeExpired, and is not a wrong
    # entry, so it leaves the wrong-entry counter alone.
    r = c.check_code(_code(lab, first))
    assert r.status_code == 400 and r.json()["subStatusCode"] == "verificationCodeExpired"
    wrong = next(w for w in ("22222222", "33333333", "44444444")
                 if w not in (_code(lab, first), _code(lab, second)))
    assert c.check_code(wrong).json()["retryTimes"] == 4
    _check(c, _code(lab, second))


def test_email_change_voids_code(lab) -> None:  # type: ignore[no-untyped-def]
    c = _ready(lab)
    code = _code(lab, _qr(c))
    assert c.set_email(PASSWORD, "new@example.com").status_code == 200
    assert c.check_code(code).json()["subStatusCode"] == "verificationCodeExpired"


def test_reboot_voids_code(lab) -> None:  # type: ignore[no-untyped-def]
    c = _ready(lab)
    code = _code(lab, _qr(c))
    device = lab.device("cam")
    lab.call(device.reboot())
    lab.call(device.wait_booted())
    fresh = SpecClient(lab.url("cam"))
    assert fresh.check_code(code).json()["subStatusCode"] == "verificationCodeExpired"


def test_code_expires(lab) -> None:  # type: ignore[no-untyped-def]
    c = _ready(lab)
    code = _code(lab, _qr(c))
    device = lab.device("cam")
    # 48 h are simulated by moving the QR's issue time back.
    lab.run(lambda: setattr(device.state.codes[0], "issued_at", time.time() - 48 * 3600 - 1))
    assert c.check_code(code).json()["subStatusCode"] == "verificationCodeExpired"


def test_check_does_not_use_the_code_up(lab) -> None:  # type: ignore[no-untyped-def]
    c = _ready(lab)
    code = _code(lab, _qr(c))
    for _ in range(3):
        _check(c, code)
    assert c.reset_with_code(code, NEW_PASSWORD).status_code == 200


def test_set_uses_the_code_up(lab) -> None:  # type: ignore[no-untyped-def]
    c = _ready(lab)
    code = _code(lab, _qr(c))
    assert c.reset_with_code(code, NEW_PASSWORD, form="plain").status_code == 200
    r = c.reset_with_code(code, "Other-Pass9", form="plain")
    assert r.status_code == 400 and r.json()["subStatusCode"] == "verificationCodeExpired"
    assert SpecClient(lab.url("cam")).session_login(NEW_PASSWORD).status_code == 200


def test_wrong_code_counts_when_setting_too(lab) -> None:  # type: ignore[no-untyped-def]
    c = _ready(lab)
    code = _code(lab, _qr(c))
    wrong = "22222222" if code != "22222222" else "33333333"
    r = c.reset_with_code(wrong, NEW_PASSWORD, form="plain")
    assert r.status_code == 400
    assert (r.json()["subStatusCode"], r.json()["retryTimes"]) == ("verificationCodeError", 4)
    assert c.check_code(wrong).json()["retryTimes"] == 3
    # the password was not set
    assert SpecClient(lab.url("cam")).session_login(NEW_PASSWORD).status_code == 401


@pytest.mark.parametrize("form", ["plain", "secure", "challenge"])
def test_reset_password_forms(lab, form: str) -> None:  # type: ignore[no-untyped-def]
    c = _ready(lab)
    code = _code(lab, _qr(c))
    assert c.reset_with_code(code, NEW_PASSWORD, form=form).status_code == 200
    assert SpecClient(lab.url("cam")).session_login(NEW_PASSWORD).status_code == 200


def test_a_long_reset_password_is_taken_as_the_challenge_form(lab) -> None:  # type: ignore[no-untyped-def]
    c = _ready(lab)
    code = _code(lab, _qr(c))
    r = c.reset_with_code(code, "Abcdefgh-1234567", form="plain")  # 16: a plain password
    assert r.status_code == 200, r.text
    code = _code(lab, _qr(c))
    r = c.reset_with_code(code, "Abcdefgh-12345678", form="plain")  # 17: not a challenge form
    assert r.status_code == 400 and r.json()["subStatusCode"] == "badParameters"


def test_no_reset_token_anywhere(lab) -> None:  # type: ignore[no-untyped-def]
    c = _ready(lab)
    code = _code(lab, _qr(c))
    r = c.check_code(code)
    assert "resetToken" not in r.text
    old = c.certify({"verificationCode": code})  # the old body is not understood
    assert old.status_code == 400 and old.json()["subStatusCode"] == "badParameters"
