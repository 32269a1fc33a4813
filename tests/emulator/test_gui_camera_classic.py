"""The classic IP-camera web GUI (below V5.7.0) against a real emulated camera, cloud and relay."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from gui_helpers import (
    DEVICE,
    DRIVERS,
    GUI_DEFECTS,
    HOST,
    Lab,
    check_below_email_threshold,
    check_gui_defects,
    check_lockout_and_cookies,
    check_strength_and_confirm,
    device_spec,
    lab_from,
    launch_browser,
    relay_sink,
    walk_reset,
)
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Route

GENERATION = "camera-classic"
MODEL, FIRMWARE = "DS-2CD2143G2-I", "V5.6.3"
GUI = DRIVERS[GENERATION]
BELOW_EMAIL_THRESHOLD = "V5.5.0"


@pytest.fixture
def start_lab(fleet_factory: Callable[..., Any]) -> Iterator[Callable[..., Lab]]:
    """Start one emulated device (optionally with defects) in a fleet process, with its cloud."""
    with relay_sink() as (sink, relay_port):
        def start(defects: list[str] | None = None, firmware: str = FIRMWARE) -> Lab:
            running = fleet_factory([device_spec(MODEL, firmware, defects)], subprocess=True,
                                    mail_relay=(HOST, relay_port), lab_controller=False)
            lab = lab_from(running.info, sink)
            assert lab.devices[DEVICE].generation == GENERATION
            return lab
        yield start


@pytest.fixture(scope="module")
def gui_browser(playwright: Playwright) -> Iterator[Browser]:
    browser = launch_browser(playwright)
    yield browser
    browser.close()


def cancel_password_dialogs(context: BrowserContext) -> None:
    """Do what a person does when the browser asks for a password on a device's 401: Cancel.

    The GUI's own calls carry cookies, so a 401 with the device's Digest challenge makes
    Chromium open its password dialog, and headless Chromium waits on it for ever
    (measured). The challenge is taken off ISAPI answers before the browser sees them; the
    status and body, which the GUI reads, are kept.
    """
    def handle(route: Route) -> None:
        answer = route.fetch()
        if answer.status != 401:
            route.fulfill(response=answer)
            return
        headers = {k: v for k, v in answer.headers.items() if k.lower() != "www-authenticate"}
        route.fulfill(response=answer, headers=headers)

    context.route("**/ISAPI/**", handle)


@pytest.fixture
def gui_page(gui_browser: Browser) -> Iterator[Page]:
    context = gui_browser.new_context()
    cancel_password_dialogs(context)
    yield context.new_page()
    context.close()


def test_reset_by_reserved_email_end_to_end(gui_page: Page,
                                            start_lab: Callable[..., Lab]) -> None:
    walk_reset(GUI, gui_page, start_lab(), DEVICE)


def test_strength_bar_confirm_and_risky_password(gui_page: Page,
                                                 start_lab: Callable[..., Lab]) -> None:
    check_strength_and_confirm(GUI, gui_page, start_lab(), DEVICE)


def test_gui_defects_strength_offset_and_unchecked_confirm(
        gui_page: Page, start_lab: Callable[..., Lab]) -> None:
    check_gui_defects(GUI, gui_page, start_lab(GUI_DEFECTS), DEVICE)


def test_lockout_feedback_and_cookieless_login(gui_page: Page, gui_browser: Browser,
                                               start_lab: Callable[..., Lab]) -> None:
    check_lockout_and_cookies(GUI, gui_page, gui_browser, start_lab(), DEVICE)


def test_no_reserved_email_below_firmware_threshold(gui_page: Page,
                                                    start_lab: Callable[..., Lab]) -> None:
    check_below_email_threshold(GUI, gui_page, start_lab(firmware=BELOW_EMAIL_THRESHOLD), DEVICE)
