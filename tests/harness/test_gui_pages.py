"""The GUI page objects and flows against real emulated devices, one per GUI generation.

Each test brings its device to the state it needs (reset button, ISAPI), then drives the
GUI only through `harness.flows`, and checks the result through the device's API or the
GUI itself. One Chromium for the module, a new context per test.
"""

from __future__ import annotations

import time

import pytest
from gui_conftest_helpers import GOOD_DEVICES, GuiLab
from playwright.sync_api import Page

from harness import flows
from harness.catalogue import LOCKOUT_MAX_ATTEMPTS, GuiGeneration, strength_name
from harness.clients.isapi import IllegalLoginLock
from harness.clients.qr import decode_qr
from harness.errors import HarnessError, ProductDefect
from harness.gui import (
    CameraStyleActivation,
    CodeResult,
    GuiTarget,
    LoginResult,
    pages_for,
)
from harness.gui.base import GuiTimeouts, attempts_in, duration_in

PASSWORD = "Abcdef12!x"
NEW_PASSWORD = "Zyx98765#q"
WRONG = "Wrong1234!a"
# Risky, Weak, Medium, Strong by the spec's formula, and one per class combination.
STRENGTH_SAMPLES = ("abc", "abcdefgh", "abcdefg1", "abcdEFGH", "9876!!!!", "Abcdef1!x")


@pytest.fixture(params=GOOD_DEVICES)
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _addr(name: str, what: str) -> str:
    return f"{name}-{what}@example.com"


def test_registry_has_every_generation() -> None:
    for generation in GuiGeneration:
        pages = pages_for(GuiTarget("d", "http://127.0.0.1:1", generation))
        assert pages.generation is generation


def test_gui_messages_are_read_into_numbers() -> None:
    assert attempts_in("Incorrect user name or password. 6 attempt(s) left.") == 6
    assert attempts_in("The passwords do not match.") is None
    assert duration_in("The user is locked. Try again in 29 min 58 s.") == 29 * 60 + 58
    assert duration_in("Try again in 7 s.") == 7
    assert duration_in("Saved.") is None


def test_unknown_generation_is_a_harness_error() -> None:
    target = GuiTarget("d", "http://127.0.0.1:1", "plasma-tv")  # type: ignore[arg-type]
    with pytest.raises(HarnessError, match="plasma-tv"):
        pages_for(target)


def test_missing_selector_names_page_and_element(gui_lab: GuiLab, gui_page: Page) -> None:
    activation = pages_for(gui_lab.target("rec")).activation(gui_page, gui_lab.target("rec"))
    with pytest.raises(HarnessError, match=r"recorder activation page.*'no_such'"):
        activation.el("no_such")


def test_element_that_never_shows_is_a_harness_error(gui_lab: GuiLab, gui_page: Page) -> None:
    # The act itself waits (Playwright's actionability checks): an element the page has
    # but never shows must end in a HarnessError naming page and selector, not a hang.
    gui_lab.inactive("rec")
    target = gui_lab.target("rec")
    pages_for(target).activation(gui_page, target).open()  # default waits: a busy machine
    activation = pages_for(target).activation(gui_page, target, GuiTimeouts(step=0.5))
    with pytest.raises(HarnessError, match=r"could not click .*recorder activation page, "
                       r"done .*absent, hidden or disabled"):
        activation.click("done", "the notice shown once activated")


def test_page_that_does_not_load_is_a_device_error(gui_page: Page) -> None:
    from harness.clients.mail import free_port
    from harness.errors import DeviceError

    target = GuiTarget("gone", f"http://127.0.0.1:{free_port()}", GuiGeneration.RECORDER)
    with pytest.raises(DeviceError, match=r"gone: http://127\.0\.0\.1:\d+/ did not load"):
        flows.login(gui_page, target, PASSWORD)


def test_strength_bar_levels_match_the_catalogue(
    gui_lab: GuiLab, gui_page: Page, name: str
) -> None:
    gui_lab.inactive(name)
    target = gui_lab.target(name)
    shown = {pw: flows.strength_shown(gui_page, target, pw) for pw in STRENGTH_SAMPLES}
    assert shown == {pw: strength_name(pw) for pw in STRENGTH_SAMPLES}
    assert set(shown.values()) == {"Risky", "Weak", "Medium", "Strong"}


def test_activate_without_email(gui_lab: GuiLab, gui_page: Page, name: str) -> None:
    gui_lab.inactive(name)
    target = gui_lab.target(name)
    outcome = flows.activate(gui_page, target, PASSWORD)
    assert outcome.activated, outcome.message
    assert not outcome.email_reserved
    activation = pages_for(target).activation(gui_page, target)
    if isinstance(activation, CameraStyleActivation):
        # Cameras ask for a reset method at once and refuse to go on without one.
        assert outcome.reset_method_pending
        assert "at least one" in activation.refuse_without_method()
    else:
        assert "Activated" in outcome.message
    with gui_lab.isapi(name) as client:
        assert client.activated()
        assert not client.extern_capabilities().security_email


def test_activate_with_email(gui_lab: GuiLab, gui_page: Page, name: str) -> None:
    gui_lab.inactive(name)
    target = gui_lab.target(name)
    email = _addr(name, "act")
    outcome = flows.activate(gui_page, target, PASSWORD, email=email)
    assert outcome.activated and outcome.email_reserved, outcome.message
    assert not outcome.reset_method_pending
    with gui_lab.isapi(name) as client:
        assert client.extern_capabilities().security_email
        client.use_digest(PASSWORD)
        shown = client.reserved_email() or ""
    assert shown.endswith("@example.com") and shown[0] == email[0]


def test_mismatched_confirm_is_refused_before_sending(
    gui_lab: GuiLab, gui_page: Page, name: str
) -> None:
    gui_lab.inactive(name)
    outcome = flows.activate(gui_page, gui_lab.target(name), PASSWORD, confirm=PASSWORD + "x")
    assert not outcome.activated
    assert "match" in outcome.message
    with gui_lab.isapi(name) as client:
        assert not client.activated()


def test_defective_gui_is_caught(gui_lab: GuiLab, gui_page: Page) -> None:
    """A GUI that skips the confirm check and overstates strength fails the flows."""
    gui_lab.inactive("rec-bad")
    target = gui_lab.target("rec-bad")
    assert flows.strength_shown(gui_page, target, "abcdefgh") != strength_name("abcdefgh")
    with pytest.raises(ProductDefect, match="accepted a mismatched confirm password"):
        flows.activate(gui_page, target, PASSWORD, confirm=PASSWORD + "x")


def test_camera_below_threshold_offers_no_reserved_email(
    gui_lab: GuiLab, gui_page: Page
) -> None:
    gui_lab.inactive("cls-old")
    target = gui_lab.target("cls-old")
    outcome = flows.activate(gui_page, target, PASSWORD)
    assert outcome.activated and not outcome.reset_method_pending, outcome
    flows.logout(gui_page, target)
    wizard = flows.open_forgot_password(gui_page, target)
    assert "reserved_email" not in wizard.methods()
    with pytest.raises(ProductDefect, match="does not offer the reserved e-mail"):
        wizard.choose_reserved_email()


def test_lock_shows_remaining_time(gui_lab: GuiLab, gui_page: Page, name: str) -> None:
    gui_lab.active(name, PASSWORD)
    with gui_lab.isapi(name) as client:
        client.use_digest(PASSWORD)
        client.set_illegal_login_lock(IllegalLoginLock(enabled=True, max_attempts=3,
                                                       lock_minutes=2))
    target = gui_lab.target(name)
    answers = [flows.login(gui_page, target, WRONG) for _ in range(3)]
    assert [a.attempts_left for a in answers[:2]] == [2, 1], answers
    locked = flows.login(gui_page, target, PASSWORD)
    assert locked.result is LoginResult.LOCKED, locked
    assert locked.lock_remaining_s is not None and 0 < locked.lock_remaining_s <= 120


def test_login_wrong_password_shows_attempts_left(
    gui_lab: GuiLab, gui_page: Page, name: str
) -> None:
    gui_lab.active(name, PASSWORD)
    target = gui_lab.target(name)
    wrong = flows.login(gui_page, target, WRONG)
    assert wrong.result is LoginResult.REJECTED, wrong
    assert wrong.attempts_left == LOCKOUT_MAX_ATTEMPTS - 1
    again = flows.login(gui_page, target, WRONG)
    assert again.attempts_left == LOCKOUT_MAX_ATTEMPTS - 2, again
    assert flows.login(gui_page, target, PASSWORD).ok
    flows.logout(gui_page, target)
    assert pages_for(target).login(gui_page, target).el("form").first.is_visible()


def test_reserve_email_in_user_management(gui_lab: GuiLab, gui_page: Page, name: str) -> None:
    gui_lab.active(name, PASSWORD)
    target = gui_lab.target(name)
    assert flows.login(gui_page, target, PASSWORD).ok
    refused = flows.reserve_email(gui_page, target, _addr(name, "um"), WRONG)
    assert not refused.saved
    assert refused.attempts_left is not None, refused
    saved = flows.reserve_email(gui_page, target, _addr(name, "um"), PASSWORD)
    assert saved.saved, saved.message
    flows.logout(gui_page, target)
    # From a logged-out page the flow logs in by itself.
    again = flows.reserve_email(gui_page, target, _addr(name, "um2"), PASSWORD)
    assert again.saved, again.message
    with gui_lab.isapi(name) as client:
        assert client.extern_capabilities().security_email


def test_whole_reset_flow(gui_lab: GuiLab, gui_page: Page, name: str) -> None:
    email = _addr(name, "reset")
    gui_lab.active(name, PASSWORD, email=email)
    target = gui_lab.target(name)
    since = time.time() - 1
    wizard = flows.open_forgot_password(gui_page, target)
    wizard.choose_reserved_email()
    wizard.accept_privacy_notice()
    gui_lab.phone_app().request_code(flows.scan_qr(gui_lab.phone_app(), wizard.qr_png()))
    code = flows.read_code(gui_lab.mailbox, email, since, 30)
    assert wizard.enter_code(code).accepted
    assert wizard.set_new_password(NEW_PASSWORD).done
    assert "reset" in pages_for(target).login(gui_page, target).notice()
    assert flows.login(gui_page, target, PASSWORD).result is LoginResult.REJECTED
    assert flows.login(gui_page, target, NEW_PASSWORD).ok


def test_wrong_code_shows_attempts_left(gui_lab: GuiLab, gui_page: Page, name: str) -> None:
    gui_lab.active(name, PASSWORD, email=_addr(name, "code"))
    wizard = flows.open_forgot_password(gui_page, gui_lab.target(name))
    assert "reserved_email" in wizard.methods()
    wizard.choose_reserved_email()
    wizard.accept_privacy_notice()
    answer = wizard.enter_code("ABCD2345")
    assert answer.result is CodeResult.REJECTED, answer
    assert answer.attempts_left is not None


def test_export_png_decodes_to_the_screenshot_text(
    gui_lab: GuiLab, gui_page: Page, name: str
) -> None:
    gui_lab.active(name, PASSWORD, email=_addr(name, "qr"))
    wizard = flows.open_forgot_password(gui_page, gui_lab.target(name))
    wizard.choose_reserved_email()
    wizard.accept_privacy_notice()
    on_screen = flows.scan_qr(gui_lab.phone_app(), wizard.qr_png())
    assert on_screen.startswith("HIKRESET1:")
    assert decode_qr(wizard.export_png()) == on_screen
