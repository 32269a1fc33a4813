"""Security of the reset (spec §5, §7): illegal-login lockout, and the verification code's
rules: single use, a limit on wrong entries, void after a reboot, an e-mail change or a
new QR. API-level where the GUI adds nothing; the lockout is also checked in the GUI."""

from __future__ import annotations

import allure
import pytest
from playwright.sync_api import Page

from harness.catalogue import CODE_ALPHABET, CODE_MAX_WRONG_ENTRIES
from harness.dut import DeviceUnderTest, expect_login_refused, expect_refusal
from harness.gui.base import LoginResult
from harness.isapi import IsapiClient, LoginRejected

pytestmark = pytest.mark.flow("security")
EXPIRED = ("verificationCodeExpired",)
WRONG_PASSWORD = "Wrong-Pass9"  # not any device's password: the harness generates those


def _wrong_code(code: str) -> str:
    """A well-formed code that differs from `code` in every character."""
    return "".join(CODE_ALPHABET[(CODE_ALPHABET.index(c) + 1) % len(CODE_ALPHABET)]
                   for c in code.upper())


def _mailed_code(dut: DeviceUnderTest, device: IsapiClient, mail_timeout: float) -> str:
    with allure.step("Ask for a reset QR and have the phone app request a code"):
        qr = device.qr_code()
        return dut.request_code(qr.text, timeout=mail_timeout)


@pytest.mark.state("active")
@pytest.mark.leaves("locked")  # this client, until a reboot
def test_lockout_after_configured_wrong_passwords(dut: DeviceUnderTest, page: Page) -> None:
    with dut.isapi() as device:
        with allure.step("Read the illegal-login lock settings"):
            lock = device.illegal_login_lock()
        assert lock.enabled, f"{dut.id}: the illegal-login lock is disabled by default"
    with dut.isapi(login=False) as device:
        for number in range(1, lock.max_attempts + 1):
            with allure.step(f"Wrong password {number} of {lock.max_attempts}"):
                refusal = expect_login_refused(device, WRONG_PASSWORD,
                                               what=f"{dut.id}: wrong password {number}")
            if number < lock.max_attempts:
                with allure.step(f"Not locked yet; {lock.max_attempts - number} attempts left"):
                    # Spec §5: 401 with lockStatus unlock and retryLoginTime = attempts left
                    # until the configured maxIllegalLoginTimes is reached.
                    assert not refusal.locked, (
                        f"{dut.id}: locked after {number} wrong passwords, before the "
                        f"configured {lock.max_attempts}"
                    )
                    assert refusal.attempts_left == lock.max_attempts - number, (
                        f"{dut.id}: after {number} of {lock.max_attempts} wrong passwords "
                        f"the device reports {refusal.attempts_left} attempts left, "
                        f"expected {lock.max_attempts - number}"
                    )
        with allure.step("Now even the right password is refused: the client is locked"):
            try:
                device.login_digest(dut.password)
            except LoginRejected as exc:
                assert exc.locked, f"{dut.id}: right password refused but not as locked"
            else:
                raise AssertionError(
                    f"{dut.id}: not locked after {lock.max_attempts} wrong passwords "
                    f"(the configured maxIllegalLoginTimes)"
                )
    outcome = dut.gui(page).login()
    with allure.step("The GUI shows the lock"):
        assert outcome.result is LoginResult.LOCKED, (
            f"{dut.id}: the GUI login shows {outcome.result} ({outcome.message!r}), "
            "expected the lock and its remaining time"
        )


@pytest.mark.needs(reset_by_email=True)
@pytest.mark.state("email_reserved")
def test_code_is_single_use(dut: DeviceUnderTest, mail_timeout: float) -> None:
    with dut.isapi(login=False) as device:
        code = _mailed_code(dut, device, mail_timeout)
        new_password = dut.new_password()
        with allure.step("Check the code: a check does not use it up"):
            device.check_verification_code(code)
            device.check_verification_code(code)
        with allure.step("Reset the password with the code"), dut.password_change(new_password):
            device.reset_password_by_code(code, new_password)
        with allure.step("The same code again is refused as expired"):
            expect_refusal(lambda: device.check_verification_code(code),
                           what=f"{dut.id}: reuse a code after a reset", sub_status=EXPIRED)
        with allure.step("A second reset with the used code is refused as expired"):
            expect_refusal(lambda: device.reset_password_by_code(code, dut.new_password()),
                           what=f"{dut.id}: reset twice with one code", sub_status=EXPIRED)


@pytest.mark.needs(reset_by_email=True)
@pytest.mark.state("email_reserved")
def test_wrong_code_limit(dut: DeviceUnderTest, mail_timeout: float) -> None:
    with dut.isapi(login=False) as device:
        code = _mailed_code(dut, device, mail_timeout)
        wrong = _wrong_code(code)
        left: list[int] = []
        for number in range(1, CODE_MAX_WRONG_ENTRIES + 1):
            with allure.step(f"Wrong code {number} of {CODE_MAX_WRONG_ENTRIES}"):
                # Spec §7: a wrong code answers verificationCodeError with attempts left.
                # Only the entry that reaches the limit may already call the code void.
                last = number == CODE_MAX_WRONG_ENTRIES
                refusal = expect_refusal(
                    lambda: device.check_verification_code(wrong),
                    what=f"{dut.id}: wrong code {number} of {CODE_MAX_WRONG_ENTRIES}",
                    sub_status=("verificationCodeError", *EXPIRED) if last
                    else ("verificationCodeError",),
                )
            if refusal.sub_status_code != "verificationCodeError":
                continue
            with allure.step("The attempts left count down"):
                assert refusal.retry_times is not None, (
                    f"{dut.id}: wrong code {number} refused without the attempts left"
                )
                assert not left or refusal.retry_times < left[-1], (
                    f"{dut.id}: attempts left do not count down: {[*left, refusal.retry_times]}"
                )
                left.append(refusal.retry_times)
        with allure.step("After the limit even the right code is void"):
            expect_refusal(lambda: device.check_verification_code(code),
                           what=f"{dut.id}: right code after {CODE_MAX_WRONG_ENTRIES} wrong "
                                f"entries (attempts left shown: {left})",
                           sub_status=EXPIRED)


@pytest.mark.needs(reset_by_email=True)
@pytest.mark.state("email_reserved")
@pytest.mark.reboots(1)
def test_code_void_after_reboot(dut: DeviceUnderTest, mail_timeout: float) -> None:
    with dut.isapi() as device:
        code = _mailed_code(dut, device, mail_timeout)
        with allure.step("Reboot the device"):
            before = device.boot_identity()
            device.reboot()
            device.wait_until_rebooted(before, timeout=60 + float(
                getattr(dut.entry, "boot_seconds", 0)))
        with allure.step("The code from before the reboot is void"):
            expect_refusal(lambda: device.check_verification_code(code),
                           what=f"{dut.id}: a code from before a reboot", sub_status=EXPIRED)


@pytest.mark.needs(reset_by_email=True)
@pytest.mark.state("email_reserved")
def test_code_void_after_email_change(dut: DeviceUnderTest, mail_timeout: float) -> None:
    # Same length as the harness's address, which may already be at the 32-character
    # limit of spec §6: a longer one would be refused as badParameters.
    local, _, domain = dut.email.partition("@")
    other = ("y" if local.startswith("x") else "x") + local[1:] + "@" + domain
    with dut.isapi() as device:
        code = _mailed_code(dut, device, mail_timeout)
        with allure.step("Change the reserved e-mail"):
            dut.reserve_email_by_api(device, other)
        with allure.step("The code from before the change is void"):
            expect_refusal(lambda: device.check_verification_code(code),
                           what=f"{dut.id}: a code from before an e-mail change",
                           sub_status=EXPIRED)
        with allure.step("Reserve the harness's address again"):
            dut.reserve_email_by_api(device)


@pytest.mark.needs(reset_by_email=True)
@pytest.mark.state("email_reserved")
def test_code_void_after_new_qr(dut: DeviceUnderTest, mail_timeout: float) -> None:
    with dut.isapi(login=False) as device:
        with allure.step("Ask for a reset QR and have the phone app request a code"):
            first = device.qr_code()
            code = dut.request_code(first.text, timeout=mail_timeout)
        with allure.step("A new QR differs from the first"):
            second = device.qr_code()
            assert second.text != first.text, f"{dut.id}: a new QR request gave the same QR"
        with allure.step("The first QR's code is refused as expired"):
            # Spec §7 / docs/device-api.md: a code voided by a new QR is void, not wrong.
            expect_refusal(lambda: device.check_verification_code(code),
                           what=f"{dut.id}: a code of a replaced QR", sub_status=EXPIRED)
