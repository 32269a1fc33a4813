"""Screenshots of each GUI generation's key pages, taken from a real emulated fleet.

    .venv/bin/python docs/screenshots/make.py

Starts `python -m emulator fleet` (one device per generation, with the cloud and a relay
sink on loopback), walks each GUI with headless Chromium and writes
docs/screenshots/<generation>-<page>.png: activation, reset-method dialog (cameras), login,
reserved e-mail settings, forgot password QR page.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tests" / "emulator"))

from gui_drivers import DRIVERS  # noqa: E402  (the helpers live with the GUI tests)
from gui_helpers import (  # noqa: E402
    FIRST_PASSWORD,
    WAIT_MS,
    emulated_lab,
    launch_browser,
    visible,
)

DEVICES = {
    "recorder": ("DS-7608NI-K2", "V4.22.005"),
    "camera-classic": ("DS-2CD2143G2-I", "V5.6.3"),
    "camera-spa": ("DS-2CD2043G2-I", "V5.7.10 build 240120"),
}
EMAIL = "owner@example.com"
OTHER_EMAIL = "qa.owner@example.com"


def shoot(page: Page, generation: str, name: str) -> None:
    path = HERE / f"{generation}-{name}.png"
    page.screenshot(path=str(path))
    print(f"wrote {path.relative_to(HERE.parents[1])}")


def open_reserved_email_settings(page: Page, generation: str) -> None:
    """Open the reserved e-mail settings of a logged-in GUI and fill them in, unsaved.

    By role, label and wording only, as the GUI tests' drivers do."""
    app = page.locator("#app")
    if generation == "recorder":
        app.get_by_role("menuitem", name="Configuration").click()
        app.get_by_role("menuitem", name="User", exact=True).click()
        app.get_by_role("link", name="Edit").first.click()
        dialog = page.get_by_role("dialog", name="Edit User")
        dialog.get_by_placeholder("Old Password").fill(FIRST_PASSWORD)
        dialog.get_by_label("Reserved E-mail Settings").check()
        dialog.locator('.el-form-item:has(> .el-form-item__label:text-is("Reserved E-mail")) '
                       "input").fill(OTHER_EMAIL)
    elif generation == "camera-classic":
        page.get_by_role("link", name="Configuration", exact=True).click()
        page.get_by_role("link", name="User Management", exact=True).click()
        page.get_by_role("button", name="Account Security Settings", exact=True).click()
        visible(page, "#qaDialog2 input[type=password]").fill(FIRST_PASSWORD)
        page.fill("#qaDialog2 input[type=text]", OTHER_EMAIL)
    else:
        app.get_by_role("menuitem", name="Configuration").click()
        app.get_by_role("link", name="Account Security Settings").first.click()
        dialog = page.get_by_role("dialog", name="Account Security Settings")
        dialog.get_by_placeholder("Admin Password").fill(FIRST_PASSWORD)
        dialog.get_by_placeholder("E-mail Address").fill(OTHER_EMAIL)


def walk(page: Page, generation: str, base: str) -> None:
    gui = DRIVERS[generation]
    gui.open_activation(page, base)
    gui.strength(page, FIRST_PASSWORD)
    shoot(page, generation, "activation")
    email = EMAIL if generation == "recorder" else None
    gui.activate(page, FIRST_PASSWORD, FIRST_PASSWORD, email)
    gui.activation_accepted(page)
    if generation != "recorder":  # the cameras ask for a reset method right away
        page.wait_for_timeout(500)  # the dialog's fade-in
        shoot(page, generation, "reset-method")
    gui.after_activation(page, FIRST_PASSWORD, EMAIL)
    gui.login_form_ready(page, base)
    gui.login(page, "Wrong#pass1")
    gui.login_error(page)
    shoot(page, generation, "login")
    gui.login(page, FIRST_PASSWORD)
    gui.wait_logged_in(page)
    open_reserved_email_settings(page, generation)
    shoot(page, generation, "reserved-email")
    gui.login_form_ready(page, base)
    qr = gui.forgot_to_qr(page)
    page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=qr.element_handle(),
                           timeout=WAIT_MS)
    shoot(page, generation, "forgot-qr")


def main() -> None:
    specs = [{"name": g, "model": m, "firmware": f} for g, (m, f) in DEVICES.items()]
    with emulated_lab(specs) as lab, sync_playwright() as playwright:
        browser = launch_browser(playwright)
        try:
            for generation in DEVICES:
                context = browser.new_context(viewport={"width": 1280, "height": 720})
                walk(context.new_page(), generation, lab.url(generation))
                context.close()
        finally:
            browser.close()


if __name__ == "__main__":
    main()
