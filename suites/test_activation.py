"""Activation (spec §3, §4): in the GUI with and without a reserved e-mail; Risky passwords
refused by the GUI and by the API; a mismatched confirm refused; the strength bar shows the
level of the GUI's own formula."""

from __future__ import annotations

import allure
import pytest
from playwright.sync_api import Page

from harness.catalogue import password_acceptable, strength_name
from harness.clients.isapi import IsapiClient, IsapiError
from harness.errors import HarnessError, ProductDefect
from harness.flows import expect_refusal
from harness.lab.dut import DeviceUnderTest
from harness.lab.states import masked_matches

pytestmark = pytest.mark.flow("activation")
RISKY = "abcdefgh"  # one character class: level 0, Risky
# Strong by the formula but one character short of, or over, spec §4's 8-16: only the
# length is wrong, so only badParameters is right.
WRONG_LENGTHS = ("Ab1-def", "Abcdefgh-12345678")
# One of each level of the GUI's formula; test data, never any device's password.
STRENGTH_SAMPLES = ("abcdefgh", "abcdefg7", "Abcdefgh", "Abcdefg7", "Abc-defg7")
# Strong by the formula, each breaking one rule recorders add from V4.30 (spec §4): the user
# name or `admin`, `123`, four digits up, four down, four identical characters.
RECORDER_2020_BREAKERS = ("Admin#Pass2024", "Xy#123Passwd", "Pw#4567abcd", "Pw#9876abcd",
                          "Pw#8888abcd")


def _still_inactive(dut: DeviceUnderTest, device: IsapiClient, what: str) -> None:
    with allure.step("The device is still inactive"):
        if device.activated():
            # Keep the state graph right: the harness knows what it just typed.
            raise AssertionError(f"{dut.id}: {what}, and the device is now active")


@pytest.mark.state("inactive")
def test_strength_bar_levels(dut: DeviceUnderTest, page: Page) -> None:
    gui = dut.gui(page)
    shown = {sample: gui.strength_shown(sample) for sample in STRENGTH_SAMPLES}
    expected = {sample: strength_name(sample) for sample in STRENGTH_SAMPLES}
    with allure.step("The strength bar shows the formula's level for every sample"):
        wrong = {s: (shown[s], expected[s]) for s in STRENGTH_SAMPLES if shown[s] != expected[s]}
        assert not wrong, (
            f"{dut.id}: strength bar (shown, expected): "
            + ", ".join(f"{s}: {v}" for s, v in wrong.items())
        )


@pytest.mark.state("inactive")
def test_reset_wizard_leads_to_activation_while_inactive(dut: DeviceUnderTest,
                                                         page: Page) -> None:
    # Spec §2: on an inactive device every page but activation sends the browser to it;
    # the reset wizard's own address (a bookmark) is the one a person would still reach.
    shown = dut.gui(page).reset_wizard_opened_directly()
    with allure.step("The GUI shows the activation form, not the reset wizard"):
        assert shown == "activation", (
            f"{dut.id}: the Forgot Password wizard opened on an inactive device "
            f"({page.url}); it must lead to the activation form"
        )


@pytest.mark.state("inactive")
def test_confirm_mismatch_refused(dut: DeviceUnderTest, page: Page) -> None:
    password = dut.new_password()
    outcome = dut.gui(page).activate(password, confirm=password + "x")
    with dut.isapi(login=False) as device:
        assert not outcome.activated, f"{dut.id}: the GUI activated with a mismatched confirm"
        _still_inactive(dut, device, "a mismatched confirm was sent")


@pytest.mark.state("inactive")
def test_risky_password_refused_in_gui(dut: DeviceUnderTest, page: Page) -> None:
    outcome = dut.gui(page).activate(RISKY)
    with dut.isapi(login=False) as device:
        assert not outcome.activated, f"{dut.id}: the GUI activated with a Risky password"
        _still_inactive(dut, device, "a Risky password was accepted in the GUI")


@pytest.mark.state("inactive")
def test_risky_password_refused_by_api(dut: DeviceUnderTest) -> None:
    if password_acceptable(RISKY, dut.line, dut.entry.firmware_version):
        # The harness's own rule table, not the device: a harness bug, not a finding.
        raise HarnessError(f"test data: {RISKY!r} is meant to be Risky, but "
                           "harness.catalogue.password_acceptable accepts it")
    with dut.isapi(login=False) as device:
        try:
            # RISKY has a valid length (8), so only riskPassword is right (spec §4);
            # badParameters is the answer for a bad length.
            expect_refusal(lambda: device.activate(RISKY),
                           what=f"{dut.id}: activate with a Risky password",
                           sub_status=("riskPassword",))
        finally:
            dut.remember_activation(RISKY, email=None)


@pytest.mark.needs(recorder=True)
@pytest.mark.state("inactive")
@pytest.mark.leaves("active")
def test_recorder_password_rules_by_firmware(dut: DeviceUnderTest) -> None:
    """Spec §4: recorders from V4.30 refuse each of RECORDER_2020_BREAKERS (riskPassword);
    older recorder firmware accepts them (the first one activates the device)."""
    for sample in RECORDER_2020_BREAKERS:
        if not password_acceptable(sample, "ipc", "V5.6.0"):
            raise HarnessError(f"test data: {sample!r} is meant to break only the recorder "
                               "rules of V4.30, but harness.catalogue refuses it elsewhere")
    strict = not password_acceptable(RECORDER_2020_BREAKERS[0], dut.line,
                                     dut.entry.firmware_version)
    with dut.isapi(login=False) as device:
        if not strict:
            sample = RECORDER_2020_BREAKERS[0]
            with allure.step("Firmware before V4.30 accepts a password with 'admin' in it"):
                try:
                    device.activate(sample)
                except IsapiError as exc:
                    raise ProductDefect(f"{dut.id}: refused {sample!r} ({exc}); only "
                                        "recorder firmware from V4.30 refuses it") from exc
                finally:
                    dut.remember_activation(sample, email=None)
            return
        for sample in RECORDER_2020_BREAKERS:
            with allure.step(f"Activate with {sample!r}: refused as riskPassword"):
                try:
                    expect_refusal(lambda p=sample: device.activate(p),  # type: ignore[misc]
                                   what=f"{dut.id}: activate with {sample!r}",
                                   sub_status=("riskPassword",))
                finally:
                    dut.remember_activation(sample, email=None)
        with allure.step("A password within the rules activates the device"):
            password = dut.new_password()
            device.activate(password)
            dut.remember_activation(password, email=None)


@pytest.mark.state("inactive")
def test_password_length_refused_by_api(dut: DeviceUnderTest) -> None:
    for password in WRONG_LENGTHS:
        if password_acceptable(password, dut.line, dut.entry.firmware_version):
            raise HarnessError(f"test data: {len(password)} characters is meant to be "
                               "outside 8-16, but harness.catalogue accepts it")
    with dut.isapi(login=False) as device:
        for password in WRONG_LENGTHS:
            with allure.step(f"Activate with a {len(password)}-character password"):
                try:
                    expect_refusal(lambda p=password: device.activate(p),  # type: ignore[misc]
                                   what=f"{dut.id}: activate with a {len(password)}-character "
                                        "password", sub_status=("badParameters",))
                finally:
                    dut.remember_activation(password, email=None)
        _still_inactive(dut, device, "a password of the wrong length was sent")


@pytest.mark.state("active")
def test_activate_again_refused(dut: DeviceUnderTest) -> None:
    """Spec §3: an active device refuses activation (403 invalidOperation) and keeps its
    password: anyone on the network could otherwise take it over."""
    other = dut.new_password()
    with dut.isapi(login=False) as device:
        with allure.step("Activate the active device with another password"):
            try:
                expect_refusal(lambda: device.activate(other),
                               what=f"{dut.id}: activate an active device",
                               sub_status=("invalidOperation",))
            except BaseException:
                dut.remember_current_password(dut.password, other)
                raise
        with allure.step("The device's password is unchanged"):
            device.login_digest(dut.password)


@pytest.mark.state("inactive")
@pytest.mark.leaves("active")
def test_activate_in_gui_without_email(dut: DeviceUnderTest, page: Page) -> None:
    outcome = dut.gui(page).activate()
    with dut.isapi(login=False) as device:
        assert outcome.activated, f"{dut.id}: the GUI did not activate: {outcome.message}"
        with allure.step("The device is active and the new password logs in"):
            assert device.activated(), f"{dut.id}: the GUI says activated, the device not"
            device.login_digest(dut.password)


@pytest.mark.needs(reset_by_email=True)
@pytest.mark.state("inactive")
@pytest.mark.leaves("email_reserved")
def test_activate_in_gui_with_email(dut: DeviceUnderTest, page: Page) -> None:
    outcome = dut.gui(page).activate(with_email=True)
    with dut.isapi(login=False) as device:
        assert outcome.activated, f"{dut.id}: the GUI did not activate: {outcome.message}"
        assert outcome.email_reserved, f"{dut.id}: the GUI did not take the e-mail"
        with allure.step("The device reports the reserved address, masked"):
            device.login_digest(dut.password)
            shown = device.reserved_email()
            assert shown and masked_matches(shown, dut.email), (
                f"{dut.id}: reserved address shown {shown!r} after activating with {dut.email}"
            )
