"""The single-page IP-camera web GUI (V5.7.0 on) against a real emulated camera, cloud and relay."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gui_helpers import (
    DRIVERS,
    Lab,
    check_confirm_defect,
    check_lockout_and_cookies,
    check_strength_and_confirm,
    devices_for,
    emulated_lab,
    launch_browser,
    walk_reset,
)
from playwright.sync_api import Browser, Page, Playwright

GUI = DRIVERS["camera-spa"]


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with emulated_lab(devices_for("DS-2CD2043G2-I", "V5.7.10 build 240120")) as running:
        assert {d.generation for d in running.devices.values()} == {"camera-spa"}
        yield running


@pytest.fixture(scope="module")
def gui_browser(playwright: Playwright) -> Iterator[Browser]:
    browser = launch_browser(playwright)
    yield browser
    browser.close()


@pytest.fixture
def gui_page(gui_browser: Browser) -> Iterator[Page]:
    context = gui_browser.new_context()
    yield context.new_page()
    context.close()


def test_reset_by_reserved_email_end_to_end(gui_page: Page, lab: Lab) -> None:
    walk_reset(GUI, gui_page, lab, "walk")


def test_strength_bar_confirm_and_risky_password(gui_page: Page, lab: Lab) -> None:
    check_strength_and_confirm(GUI, gui_page, lab, "checks")


def test_confirm_mismatch_sent_with_gui_defect(gui_page: Page, lab: Lab) -> None:
    check_confirm_defect(GUI, gui_page, lab, "confirm-defect")


def test_lockout_feedback_and_cookieless_login(gui_page: Page, gui_browser: Browser,
                                               lab: Lab) -> None:
    check_lockout_and_cookies(GUI, gui_page, gui_browser, lab, "lockout")
