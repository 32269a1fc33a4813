"""A logged-out browser on a protected GUI page goes to the login page (no browser auth dialog).

The GUI's script sends no marker header (DEVICE-SPEC §10): the device answers every client's
401 with its Digest challenge, and the GUI must handle that itself. A credentialed request
meeting a challenge would make Chromium wait on its own password dialog, so the GUI sends
its no-login calls without credentials and sends a tab that holds no session to login.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from gui_helpers import WAIT_MS, launch_browser
from playwright.sync_api import Browser, Dialog, Playwright, Response, expect
from specclient import PASSWORD, TIMEOUT, activated_client

XHR = {"X-Requested-With": "XMLHttpRequest"}  # what the emulated GUI used to send

# generation: (model, firmware, protected pages, the login page's URL pattern)
GENERATIONS: dict[str, tuple[str, str, list[str], str]] = {
    "recorder": ("DS-7608NI-K2", "V4.22.005",
                 ["/doc/index.html#/config/user", "/doc/index.html#/preview"],
                 r"/doc/index\.html#/portal/login$"),
    "camera-classic": ("DS-2CD2143G2-I", "V5.6.3",
                       ["/doc/page/preview.asp", "/doc/page/config.asp"],
                       r"/doc/page/login\.asp(\?.*)?$"),
    "camera-spa": ("DS-2CD2043G2-I", "V5.7.10 build 240120",
                   ["/doc/index.html#/config/user", "/doc/index.html#/preview"],
                   r"/doc/index\.html#/portal/login$"),
}


def active_device(fleet_factory: Callable[..., Any], model: str, firmware: str) -> str:
    """Base URL of one freshly activated device (activated over ISAPI, then logged out)."""
    lab = fleet_factory([{"model": model, "firmware": firmware}], cloud=False,
                        lab_controller=False)
    activated_client(lab.url(), login=False).close()
    return str(lab.url())


@pytest.fixture(scope="module")
def gui_browser(playwright: Playwright) -> Iterator[Browser]:
    browser = launch_browser(playwright)
    yield browser
    browser.close()


def test_every_401_has_the_digest_challenge(fleet_factory: Callable[..., Any]) -> None:
    """No client is told apart: with or without `X-Requested-With`, one Digest challenge."""
    model, firmware, _, _ = GENERATIONS["recorder"]
    base = active_device(fleet_factory, model, firmware)
    with httpx.Client(base_url=base, timeout=TIMEOUT) as client:
        marked = client.get("/ISAPI/System/deviceInfo", headers=XHR)
        plain = client.get("/ISAPI/System/deviceInfo")
    for answer in (marked, plain):
        assert answer.status_code == 401
        challenges = answer.headers.get_list("WWW-Authenticate")
        assert len(challenges) == 1 and challenges[0].startswith("Digest "), challenges


@pytest.mark.parametrize("generation", ["recorder", "camera-spa"])
def test_refused_login_has_no_challenge_and_shows_at_once(
        generation: str, gui_browser: Browser, fleet_factory: Callable[..., Any]) -> None:
    """A wrong password's 401 (sent with the page's cookies, as the real GUI sends it)
    carries no Digest challenge, so the browser asks nothing and the GUI shows the refusal
    with its attempts left (docs/device-api.md, rule 4)."""
    model, firmware, _, _ = GENERATIONS[generation]
    base = active_device(fleet_factory, model, firmware)
    context = gui_browser.new_context()
    try:
        page = context.new_page()
        dialogs: list[str] = []
        refusals: list[Response] = []

        def on_dialog(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        def on_response(response: Response) -> None:
            if "/ISAPI/Security/sessionLogin?" in response.url:
                refusals.append(response)

        page.on("dialog", on_dialog)
        page.on("response", on_response)
        page.goto(base + "/doc/index.html#/portal/login", timeout=WAIT_MS)
        page.locator("#portal .login-input input[type=password]").fill(PASSWORD + "x")
        page.locator("#portal .login-btn").click()
        expect(page.locator("#portal .el-alert--error")).to_contain_text(
            "Incorrect user name or password.", timeout=5_000)  # well before the 15 s abort
        assert [r.status for r in refusals] == [401], [r.url for r in refusals]
        assert "www-authenticate" not in refusals[0].headers
        assert not dialogs, dialogs
    finally:
        context.close()


@pytest.mark.parametrize("generation", list(GENERATIONS))
def test_logged_out_protected_page_goes_to_login(generation: str, gui_browser: Browser,
                                                 fleet_factory: Callable[..., Any]) -> None:
    """Each protected page opened without a session ends on the generation's login page."""
    model, firmware, pages, login_pattern = GENERATIONS[generation]
    base = active_device(fleet_factory, model, firmware)
    for path in pages:
        context = gui_browser.new_context()
        try:
            page = context.new_page()
            page.goto(base + path, timeout=WAIT_MS)
            # Bounded: the browser auth dialog this guards against would block for ever.
            page.wait_for_url(re.compile(login_pattern), timeout=WAIT_MS)
        finally:
            context.close()


@pytest.mark.parametrize("version", ["2", "2.1"])
def test_gui_logs_in_with_either_session_id_version(version: str, gui_browser: Browser,
                                                     fleet_factory: Callable[..., Any]) -> None:
    """The GUI's script hashes by the sessionIDVersion the device names (2.1 adds salt2)."""
    model, firmware, _, _ = GENERATIONS["recorder"]
    lab = fleet_factory([{"model": model, "firmware": firmware,
                          "session_id_version": version}], cloud=False, lab_controller=False)
    activated_client(lab.url(), login=False).close()
    context = gui_browser.new_context()
    try:
        page = context.new_page()
        page.goto(lab.url() + "/doc/index.html#/portal/login", timeout=WAIT_MS)
        page.locator("#portal .login-input input[type=password]").fill(PASSWORD)
        page.click("#portal .login-btn")
        page.wait_for_url(re.compile(r"/doc/index\.html#/preview$"), timeout=WAIT_MS)
    finally:
        context.close()
