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

from gui_helpers import (  # noqa: E402  (the helpers live with the GUI tests)
    DRIVERS,
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
DIALOG = {"camera-classic": "#resetMethod", "camera-spa": "#reset-method-dialog"}
EMAIL_SETTINGS = {"recorder": "#userEditDialog", "camera-classic": "#accountSecurity",
                  "camera-spa": "#account-security-dialog"}


def shoot(page: Page, generation: str, name: str) -> None:
    path = HERE / f"{generation}-{name}.png"
    page.screenshot(path=str(path))
    print(f"wrote {path.relative_to(HERE.parents[1])}")


def walk(page: Page, generation: str, base: str) -> None:
    gui = DRIVERS[generation]
    gui.open_activation(page, base)
    if generation == "recorder":
        page.check("#reservedEmailEnable")
        page.fill("#reservedEmail", EMAIL)
    gui.strength(page, FIRST_PASSWORD)
    page.keyboard.press("Tab")
    page.keyboard.type(FIRST_PASSWORD)
    shoot(page, generation, "activation")
    gui.activate(page, FIRST_PASSWORD, FIRST_PASSWORD, EMAIL if generation == "recorder" else None)
    if generation in DIALOG:
        visible(page, DIALOG[generation])
        field = "#securityEmail" if generation == "camera-classic" else "#rm-email"
        page.fill(field, EMAIL)
        shoot(page, generation, "reset-method")
        page.fill(field, "")  # after_activation first checks that an empty dialog is refused
    gui.after_activation(page, FIRST_PASSWORD, EMAIL)
    gui.login_form_ready(page, base)
    gui.login(page, "Wrong#pass1")
    gui.login_error(page)
    shoot(page, generation, "login")
    gui.login(page, FIRST_PASSWORD)
    gui.wait_logged_in(page)
    # Open the reserved e-mail settings and photograph them filled in, before saving.
    gui.set_reserved_email(page, FIRST_PASSWORD, "qa.owner@example.com")
    if generation == "recorder":
        page.click("#editUser_admin")
    elif generation == "camera-classic":
        page.click("#btnAccountSecurity")
    else:
        page.click("#account-security-admin")
    visible(page, EMAIL_SETTINGS[generation])
    fields = {"recorder": ("#oldPassword", "#editReservedEmail"),
              "camera-classic": ("#asAdminPassword", "#asEmail"),
              "camera-spa": ("#as-admin-password", "#as-email")}[generation]
    if generation == "recorder":
        page.check("#editReservedEmailEnable")
    page.fill(fields[0], FIRST_PASSWORD)
    page.fill(fields[1], "qa.owner@example.com")
    shoot(page, generation, "reserved-email")
    page.keyboard.press("Escape")
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
