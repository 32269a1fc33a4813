"""The single-page IP-camera web GUI (V5.7.0 on) against a real emulated camera, cloud and relay."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from gui_helpers import (
    DEVICE,
    DRIVERS,
    GUI_DEFECTS,
    HOST,
    GuiFleet,
    SpaGui,
    check_gui_defects,
    check_lockout_and_cookies,
    check_strength_and_confirm,
    device_spec,
    lab_from,
    launch_browser,
    relay_sink,
    walk_reset,
)
from playwright.sync_api import Browser, Page, Playwright

GENERATION = "camera-spa"
MODEL, FIRMWARE = "DS-2CD2043G2-I", "V5.7.10 build 240120"
GUI = DRIVERS[GENERATION]
PORTAL = SpaGui()  # the driver's real-shape checks (both single-page generations)


@pytest.fixture
def start_lab(fleet_factory: Callable[..., Any]) -> Iterator[Callable[..., GuiFleet]]:
    """Start one emulated device (optionally with defects) in a fleet process, with its cloud."""
    with relay_sink() as (sink, relay_port):
        def start(defects: list[str] | None = None, firmware: str = FIRMWARE) -> GuiFleet:
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


@pytest.fixture
def gui_page(gui_browser: Browser) -> Iterator[Page]:
    context = gui_browser.new_context()
    yield context.new_page()
    context.close()


def test_reset_by_reserved_email_end_to_end(gui_page: Page,
                                            start_lab: Callable[..., GuiFleet]) -> None:
    walk_reset(GUI, gui_page, start_lab(), DEVICE)


def test_strength_bar_confirm_and_risky_password(gui_page: Page,
                                                 start_lab: Callable[..., GuiFleet]) -> None:
    check_strength_and_confirm(GUI, gui_page, start_lab(), DEVICE)


def test_gui_defects_strength_offset_and_unchecked_confirm(
        gui_page: Page, start_lab: Callable[..., GuiFleet]) -> None:
    check_gui_defects(GUI, gui_page, start_lab(GUI_DEFECTS), DEVICE)


def test_lockout_feedback_and_cookieless_login(gui_page: Page, gui_browser: Browser,
                                               start_lab: Callable[..., GuiFleet]) -> None:
    check_lockout_and_cookies(GUI, gui_page, gui_browser, start_lab(), DEVICE)


def test_real_gui_shape(gui_page: Page, start_lab: Callable[..., GuiFleet]) -> None:
    """`/` → login.asp → #/portal/login; no data-* hooks, no ids on login inputs or buttons;
    a heartbeat once logged in; no X-Requested-With; XML as form-urlencoded text, JSON as
    JSON, security=1 on email/parameter once logged in."""
    lab = start_lab()
    PORTAL.check_real_shape(gui_page, lab.url(DEVICE), "Start#2024a", "shape.owner@example.com")


def test_heartbeat_every_30_s_and_login_after_six_failures(
        gui_page: Page, start_lab: Callable[..., GuiFleet]) -> None:
    PORTAL.check_heartbeat_rhythm(gui_page, start_lab().url(DEVICE), "Start#2024a")


def test_served_pages_carry_no_state_hooks(start_lab: Callable[..., GuiFleet]) -> None:
    """The files the device serves for this GUI hold no data-* attribute or id'd button."""
    PORTAL.check_served_files(start_lab().url(DEVICE))
