"""Security of the reset (spec §5, §7): illegal-login lockout, and the verification code's
rules: single use, a limit on wrong entries, void after a reboot, an e-mail change or a
new QR. API-level where the GUI adds nothing; the lockout is also checked in the GUI."""

from __future__ import annotations

from collections.abc import Callable

import allure
import pytest
from playwright.sync_api import BrowserContext, Page

from harness.catalogue import (
    CODE_ALPHABET,
    CODE_LENGTH,
    CODE_MAX_WRONG_ENTRIES,
    LOCKOUT_ATTEMPTS_RANGE,
    LOCKOUT_MINUTES_RANGE,
)
from harness.clients.isapi import IsapiClient, LoginRejected
from harness.clients.isapi.documents import IllegalLoginLock
from harness.errors import HarnessError, ProductDefect
from harness.flows import expect_login_refused, expect_refusal, masked_matches
from harness.gui.base import LoginResult
from harness.gui.contexts import report_cookies_off
from harness.lab.dut import DeviceUnderTest
from harness.lab.states import BOOT_MARGIN_S, settled_boot_identity

pytestmark = pytest.mark.flow("security")
EXPIRED = ("verificationCodeExpired",)
WRONG_PASSWORD = "Wrong-Pass9"  # not any device's password: the harness generates those
RISKY = "abcdefgh"  # one character class: level 0, Risky
WRONG = ("verificationCodeError",)
# A malformed code (wrong length, outside the alphabet) may also be refused as malformed.
MALFORMED = ("verificationCodeError", "badParameters")


def _wrong_code(code: str) -> str:
    """A well-formed code that differs from `code` in every character."""
    return "".join(CODE_ALPHABET[(CODE_ALPHABET.index(c) + 1) % len(CODE_ALPHABET)]
                   for c in code.upper())


def _mailed_code(dut: DeviceUnderTest, device: IsapiClient, mail_timeout: float) -> str:
    with allure.step("Ask for a reset QR and have the phone app request a code"):
        qr = device.qr_code()
        return dut.request_code(qr, timeout=mail_timeout)


@pytest.mark.state("active")
@pytest.mark.reboots(1)  # a power cycle must clear the lock (spec §5)
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
    with allure.step("Power cycle the device: a reboot clears the lock"):
        with dut.lab_controller() as controller:
            controller.power(dut.name, "cycle")
        with dut.isapi(login=False) as device:
            device.wait_until_up(BOOT_MARGIN_S + float(getattr(dut.entry, "boot_seconds", 0)))
    with allure.step("The right password logs in again"), dut.isapi(login=False) as device:
        try:
            device.login_digest(dut.password)
        except LoginRejected as exc:
            raise ProductDefect(
                f"{dut.id}: the right password is refused after a power cycle "
                f"({'still locked' if exc.locked else 'not as locked'}): spec §5 says a "
                "reboot clears locks"
            ) from exc


@pytest.mark.state("active")
def test_login_refused_without_cookies(dut: DeviceUnderTest,
                                       new_context: Callable[..., BrowserContext]) -> None:
    # Spec §2: without cookies the GUI shows cookieError instead of logging in. A context of
    # the test's own: the device's shared one must never report cookies off.
    context = new_context()
    report_cookies_off(context)
    outcome = dut.gui(context.new_page()).login()
    with allure.step("The GUI refused the login itself (cookieError)"):
        assert outcome.result is LoginResult.NO_COOKIES, (
            f"{dut.id}: a browser without cookies got {outcome.result.value} "
            f"({outcome.message or 'no message'}); the GUI must refuse it with cookieError"
        )


@pytest.mark.state("active")
def test_lock_settings_range(dut: DeviceUnderTest) -> None:
    """Spec §5 both sides: the ends of 3-20 attempts and 1-120 minutes are taken, each
    way out of them refused with badParameters and the settings left as they were."""
    lo_times, hi_times = LOCKOUT_ATTEMPTS_RANGE
    lo_minutes, hi_minutes = LOCKOUT_MINUTES_RANGE
    with dut.isapi() as device:
        original = device.illegal_login_lock()
        try:
            for times, minutes in ((lo_times, lo_minutes), (hi_times, hi_minutes)):
                with allure.step(f"{times} attempts and {minutes} minutes are taken"):
                    wanted = IllegalLoginLock(original.enabled, times, minutes)
                    device.set_illegal_login_lock(wanted)
                    assert device.illegal_login_lock() == wanted, (
                        f"{dut.id}: illegalLoginLock reads {device.illegal_login_lock()} "
                        f"after setting {wanted}"
                    )
            device.set_illegal_login_lock(original)
            for times, minutes in ((lo_times - 1, original.lock_minutes),
                                   (hi_times + 1, original.lock_minutes),
                                   (original.max_attempts, lo_minutes - 1),
                                   (original.max_attempts, hi_minutes + 1)):
                with allure.step(f"{times} attempts and {minutes} minutes are refused"):
                    expect_refusal(
                        lambda t=times, m=minutes: device.set_illegal_login_lock(  # type: ignore[misc]
                            IllegalLoginLock(original.enabled, t, m)),
                        what=f"{dut.id}: illegalLoginLock {times} attempts, {minutes} minutes",
                        sub_status=("badParameters",))
                    assert device.illegal_login_lock() == original, (
                        f"{dut.id}: a refused setting changed illegalLoginLock to "
                        f"{device.illegal_login_lock()}"
                    )
        finally:
            device.set_illegal_login_lock(original)


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
            before = settled_boot_identity(device)
            device.reboot()
            device.wait_until_rebooted(before, timeout=60 + float(
                getattr(dut.entry, "boot_seconds", 0)))
        with allure.step("The code from before the reboot is void"):
            expect_refusal(lambda: device.check_verification_code(code),
                           what=f"{dut.id}: a code from before a reboot", sub_status=EXPIRED)
        with allure.step("The reboot kept the password and the reserved address"):
            device.login_digest(dut.password)
            shown = device.reserved_email()
            assert shown and masked_matches(shown, dut.email), (
                f"{dut.id}: after a reboot the reserved address shows {shown!r}, expected "
                f"{dut.email} masked (it is kept on flash)"
            )


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
            code = dut.request_code(first, timeout=mail_timeout)
        with allure.step("A new QR differs from the first"):
            second = device.qr_code()
            assert second.text != first.text, f"{dut.id}: a new QR request gave the same QR"
        with allure.step("The first QR's code is refused as expired"):
            # Spec §7 / docs/device-api.md: a code voided by a new QR is void, not wrong.
            expect_refusal(lambda: device.check_verification_code(code),
                           what=f"{dut.id}: a code of a replaced QR", sub_status=EXPIRED)


def _changed_last(code: str) -> str:
    """`code` with its last character replaced by another of the alphabet."""
    return code[:-1] + _wrong_code(code[-1])


@pytest.mark.needs(reset_by_email=True)
@pytest.mark.state("email_reserved")
def test_code_format_rules(dut: DeviceUnderTest, mail_timeout: float) -> None:
    """Spec §7 every way: the code is taken in lower case; one wrong character, one
    missing or extra, and characters outside the alphabet are refused; the right code
    still works after them (fewer than the wrong-entry limit)."""
    with dut.isapi(login=False) as device:
        code = _mailed_code(dut, device, mail_timeout).upper()
        with allure.step("The code keyed in lower case is accepted"):
            device.check_verification_code(code.lower())
        wrong = {
            "its last character changed": (_changed_last(code), WRONG),
            f"{CODE_LENGTH - 1} characters": (code[:-1], MALFORMED),
            f"{CODE_LENGTH + 1} characters": (code + code[0], MALFORMED),
            "characters outside the alphabet": ("0O1I" + code[4:], MALFORMED),
        }
        if len(wrong) >= CODE_MAX_WRONG_ENTRIES:
            raise HarnessError("test data: as many wrong codes as the limit would void it")
        for why, (entered, answers) in wrong.items():
            with allure.step(f"A code with {why} is refused"):
                expect_refusal(lambda e=entered: device.check_verification_code(e),  # type: ignore[misc]
                               what=f"{dut.id}: a code with {why}", sub_status=answers)
        with allure.step("The right code is still accepted"):
            device.check_verification_code(code)


@pytest.mark.needs(reset_by_email=True)
@pytest.mark.state("email_reserved")
def test_reset_refuses_risky_password(dut: DeviceUnderTest, mail_timeout: float) -> None:
    """Spec §4 on the reset path: a Risky new password is refused (riskPassword), the
    code stays usable and the old password keeps working."""
    old = dut.password
    with dut.isapi(login=False) as device:
        code = _mailed_code(dut, device, mail_timeout)
        with allure.step("Reset with a Risky password: refused"):
            try:
                expect_refusal(lambda: device.reset_password_by_code(code, RISKY),
                               what=f"{dut.id}: reset by code to a Risky password",
                               sub_status=("riskPassword",))
            except BaseException:
                dut.remember_current_password(old, RISKY)
                raise
        with allure.step("The code is still valid, the old password still logs in"):
            device.check_verification_code(code)
            device.login_digest(old)
