"""An emulated lab and one headless Chromium for the GUI page-object tests.

The emulator runs as its own process (`python -m emulator fleet CONFIG`) on free loopback
ports, reached only through its ports and its one JSON ready line, with the code mails
going to a real SMTP sink (`harness.clients.mail.SmtpSink`). Devices are brought to a state the
way a lab would: the lab controller's reset button for "inactive", ISAPI for the rest.
tests/harness/conftest.py makes the fixtures of these generators.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest_clients import fleet_with_sink
from playwright.sync_api import Browser, Page, Playwright

from harness.catalogue import gui_generation
from harness.clients.cloud import PhoneApp
from harness.clients.isapi import IsapiClient
from harness.clients.mail import MaildirMailbox
from harness.clients.shell import LabController
from harness.gui import GuiTarget

HOST = "127.0.0.1"
STATE_TIMEOUT_S = 30.0
CHROMIUM = os.environ.get("HIL_CHROMIUM", "/usr/lib/chromium/chromium")
LABCTL_ENV = "HIL_GUI_TEST_LABCTL"

# One device per GUI generation, each at a firmware with the reserved-e-mail reset, and a
# recorder whose GUI plays the two GUI defects (confirm not checked, strength bar too high).
DEVICES: dict[str, tuple[str, str, list[str]]] = {
    "rec": ("DS-7608NI-K2", "V4.21.000", []),
    "cls": ("DS-2CD2143G2-I", "V5.6.3", []),
    "spa": ("DS-2CD2043G2-I", "V5.7.10 build 240120", []),
    "cls-old": ("DS-2CD3725G0-IZS", "V5.5.82", []),  # below the reserved-e-mail threshold
    "rec-bad": ("DS-7616NI-I2", "V4.22.005", ["gui_confirm_mismatch", "strength_bar_wrong"]),
}
GOOD_DEVICES = ("rec", "cls", "spa")


@dataclass
class GuiLab:
    """The running fleet: targets, mailbox, phone app, and a way to set device states."""

    ready: dict[str, Any]
    mailbox: MaildirMailbox
    labctl_password: str
    passwords: dict[str, str | None] = field(default_factory=dict)

    def device(self, name: str) -> dict[str, Any]:
        for device in self.ready["devices"]:
            if device["name"] == name:
                return dict(device)
        raise KeyError(name)

    def target(self, name: str) -> GuiTarget:
        """The GUI target; the generation is QA's expectation from the catalogue."""
        model, firmware, _ = DEVICES[name]
        return GuiTarget(name, str(self.device(name)["http"]), gui_generation(model, firmware))

    def isapi(self, name: str) -> IsapiClient:
        return IsapiClient(str(self.device(name)["http"]), timeout=10.0)

    def phone_app(self) -> PhoneApp:
        return PhoneApp(str(self.ready["cloud"]["http"]))

    def inactive(self, name: str) -> None:
        """Hold the reset button (lab controller): the device comes back inactive."""
        controller = self.ready["lab_controller"]
        with LabController(str(controller.get("host", HOST)), int(controller["ssh_port"]),
                           "lab", self.labctl_password) as lab:
            lab.reset_button(name, timeout=STATE_TIMEOUT_S)
        deadline = time.monotonic() + STATE_TIMEOUT_S
        with self.isapi(name) as client:
            while client.wait_until_up(STATE_TIMEOUT_S):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} still active {STATE_TIMEOUT_S:g} s after reset")
                time.sleep(0.2)
        self.passwords[name] = None

    def active(self, name: str, password: str, email: str | None = None) -> None:
        """Inactive first, then activated over ISAPI (and the e-mail reserved)."""
        self.inactive(name)
        with self.isapi(name) as client:
            client.activate(password, email=email)
        self.passwords[name] = password


def start_gui_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GuiLab]:
    """The fleet of `DEVICES`, its cloud and lab controller, mailing into an SMTP sink."""
    devices = [{"name": name, "model": model, "firmware": firmware, "defects": defects}
               for name, (model, firmware, defects) in DEVICES.items()]
    with fleet_with_sink(tmp_path_factory.mktemp("guifleet"), devices,
                         LABCTL_ENV) as (ready, sink, password):
        yield GuiLab(ready=ready, mailbox=sink.mailbox(), labctl_password=password)


def start_gui_browser(playwright: Playwright) -> Iterator[Browser]:
    """One headless Debian Chromium for the module.

    Uses pytest-playwright's session `playwright`: a second sync_playwright() in the same
    process fails ("Sync API inside the asyncio loop") once another test module has started it.
    """
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
    try:
        yield browser
    finally:
        browser.close()


def open_gui_page(gui_browser: Browser) -> Iterator[Page]:
    """A fresh browser context (cookies, storage) and page per test."""
    context = gui_browser.new_context(accept_downloads=True)
    try:
        yield context.new_page()
    finally:
        context.close()
