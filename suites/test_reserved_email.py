"""Reserved e-mail on an active device (spec §6): set in the GUI's user management; the
admin password is required, and a wrong one is refused and counted towards the lock."""

from __future__ import annotations

from typing import Literal

import allure
import pytest
from playwright.sync_api import Page

from harness.flows import expect_refusal
from harness.lab.dut import DeviceUnderTest
from harness.lab.states import masked_matches

pytestmark = pytest.mark.flow("reserved-email")
WRONG_PASSWORD = "Wrong-Pass9"  # not any device's password: the harness generates those
MAX_ADDRESS_LENGTH = 32  # spec §6: 1-32 characters


def _address_of_length(length: int, domain: str = "example.com") -> str:
    """A well-formed address of exactly `length` characters."""
    return "r" * (length - len(domain) - 1) + "@" + domain


# Spec §6: each way an address is invalid, each refused with badParameters.
INVALID_ADDRESSES = {
    "33 characters": _address_of_length(MAX_ADDRESS_LENGTH + 1),
    "no @": "reserved.example.com",
    "two @": "reserved@@example.com",
    "a space": "res erved@example.com",
    "no domain": "reserved@",
    "empty": "",
}


def _shows_harness_address(dut: DeviceUnderTest, shown: str | None, after: str) -> None:
    assert shown and masked_matches(shown, dut.email), (
        f"{dut.id}: the reserved address shows {shown!r} after {after}, expected "
        f"{dut.email} masked"
    )


@pytest.mark.needs(reset_by_email=True)
@pytest.mark.state("active")
@pytest.mark.leaves("email_reserved")
def test_reserve_email_in_gui(dut: DeviceUnderTest, page: Page) -> None:
    outcome = dut.gui(page).reserve_email()
    assert outcome.saved, f"{dut.id}: the GUI did not save the reserved e-mail: {outcome.message}"
    with allure.step("The device reports the address, masked"), dut.isapi() as device:
        shown = device.reserved_email()
        assert shown and masked_matches(shown, dut.email), (
            f"{dut.id}: the device shows {shown!r} as reserved address after saving {dut.email}"
        )


@pytest.mark.needs(reset_by_email=True)
@pytest.mark.state("email_reserved")
def test_wrong_admin_password_refused_and_counted(dut: DeviceUnderTest) -> None:
    other = "x" + dut.email
    # Logged in as the GUI is (one session, kept alive by its heartbeat); the PUT itself
    # needs no login and proves itself with the admin password in its body. No Digest:
    # every Digest call is a successful login, which would reset the count of wrong ones.
    with dut.isapi(login=False) as device:
        device.login_session(dut.password)
        refusals = []
        for number in (1, 2):
            with allure.step(f"Save another address with a wrong admin password ({number})"):
                refusals.append(expect_refusal(
                    lambda: device.set_reserved_email(other, WRONG_PASSWORD),
                    what=f"{dut.id}: change the reserved e-mail with a wrong admin password",
                    sub_status=("passwordError",),
                ))
        first, second = (r.retry_times for r in refusals)
        with allure.step("Attempts left decrease"):
            assert first is not None and second is not None and second < first, (
                f"{dut.id}: attempts left after two wrong passwords: {first}, {second}"
            )
        with allure.step("The reserved address is unchanged"):
            shown = device.reserved_email()
            assert shown and masked_matches(shown, dut.email), (
                f"{dut.id}: the reserved address changed to {shown!r} with a wrong password"
            )


@pytest.mark.needs(reset_by_email=True)
@pytest.mark.state("active")
def test_wrong_admin_password_refused_in_gui(dut: DeviceUnderTest, page: Page) -> None:
    gui = dut.gui(page)
    gui.login()
    outcome = gui.reserve_email("x" + dut.email, admin_password=WRONG_PASSWORD)
    with allure.step("The GUI refuses the wrong admin password and shows attempts left"):
        assert not outcome.saved, f"{dut.id}: the GUI saved an address with a wrong password"
        assert outcome.attempts_left is not None, (
            f"{dut.id}: the GUI does not show attempts left ({outcome.message!r})"
        )


@pytest.mark.needs(reset_by_email=True)
@pytest.mark.state("email_reserved")
def test_reserve_email_api_plain_and_encrypted(dut: DeviceUnderTest) -> None:
    """Both forms the real GUI sends (§10): fields plain, and `security=1` encrypted under
    the admin password's key when SecurityCap gives keyIterateNum."""
    with dut.isapi(login=False) as device:
        with allure.step("Read SecurityCap for the field-encryption key"):
            cap = device.security_capabilities()
        forms: list[Literal["plain", "security"]] = ["plain"]
        if cap.field_encryption:
            forms.append("security")
        else:
            allure.dynamic.description("SecurityCap gives no keyIterateNum/salt: the GUI "
                                       "sends the fields plain, so only that form is checked")
        for form in forms:
            with allure.step(f"Reserve the address with the fields {form}"):
                device.set_reserved_email(dut.email, dut.password, form=form)
                shown = device.reserved_email()
                assert shown and masked_matches(shown, dut.email), (
                    f"{dut.id}: after saving {dut.email} ({form} fields) the device shows "
                    f"{shown!r}"
                )
            with allure.step("The address is shown masked, never in full"):
                # Spec §6: the GET needs no login, so an unmasked answer gives anyone on
                # the network the address the reset mail goes to.
                assert shown.lower() != dut.email.lower() and "*" in shown, (
                    f"{dut.id}: GET email/parameter shows the reserved address unmasked "
                    f"({shown!r})"
                )


@pytest.mark.needs(reset_by_email=True)
@pytest.mark.state("email_reserved")
def test_invalid_reserved_email_refused(dut: DeviceUnderTest) -> None:
    """Spec §6 both sides: an address of the longest length is taken; every way of being
    invalid is refused with badParameters and leaves the reserved address as it was."""
    with dut.isapi(login=False) as device:
        for why, address in INVALID_ADDRESSES.items():
            with allure.step(f"An invalid address ({why}) is refused"):
                try:
                    expect_refusal(
                        lambda a=address: device.set_reserved_email(  # type: ignore[misc]
                            a, dut.password),
                        what=f"{dut.id}: reserve an invalid address ({why}: {address!r})",
                        sub_status=("badParameters",))
                except BaseException:
                    dut.reserve_email_by_api(device)  # the harness's address back
                    raise
                _shows_harness_address(dut, device.reserved_email(),
                                       f"an invalid address ({why}) was refused")
        longest = _address_of_length(MAX_ADDRESS_LENGTH)
        with allure.step(f"An address of {MAX_ADDRESS_LENGTH} characters is taken"):
            try:
                device.set_reserved_email(longest, dut.password)
                shown = device.reserved_email()
                assert shown and masked_matches(shown, longest), (
                    f"{dut.id}: after saving a {MAX_ADDRESS_LENGTH}-character address the "
                    f"device shows {shown!r}"
                )
            finally:
                dut.reserve_email_by_api(device)
