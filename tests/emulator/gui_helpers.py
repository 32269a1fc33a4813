"""What the GUI tests share: a real emulated lab, the phone's part, and a driver per generation.

The lab is the real thing on loopback: `python -m emulator fleet` in its own process (devices,
vendor cloud), and an aiosmtpd sink standing for the lab's mail relay. The phone's part is
what a person does: photograph the QR on screen (element screenshot → zxing-cpp), send its
text to the cloud, read the code from the mail.

The drivers (the tests' own page objects, one per generation) are in gui_drivers.py; the
scenarios below take one.
"""

from __future__ import annotations

import email.policy
import io
import json
import os
import queue
import re
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, Protocol

import httpx
import zxingcpp
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, Playwright, expect

from harness.lab.host import launch_fleet, stop_fleet

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("HIL_CHROMIUM", "/usr/lib/chromium/chromium")
APP_VERSION = "3.5.4"
WAIT_MS = 15_000  # one GUI step: page load plus a few ISAPI calls on a busy machine
MAIL_WAIT_S = 30.0
READY_WAIT_S = 60.0
CODE_RE = re.compile(r"Verification code:\s*([A-Za-z0-9]{8})")


# -- the lab ------------------------------------------------------------------------------------

def free_port() -> int:
    """A loopback port free right now (aiosmtpd's Controller cannot pick one itself)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class MailSink:
    """aiosmtpd handler keeping every mail the lab's relay receives."""

    def __init__(self) -> None:
        self.mails: queue.Queue[EmailMessage] = queue.Queue()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = BytesParser(policy=email.policy.default).parsebytes(
            envelope.original_content or b"")
        assert isinstance(message, EmailMessage)
        self.mails.put(message)
        return "250 OK"

    def next_mail(self, to: str) -> EmailMessage:
        """The next mail addressed to `to` (others are dropped)."""
        while True:
            try:
                mail = self.mails.get(timeout=MAIL_WAIT_S)
            except queue.Empty:
                raise TimeoutError(f"no mail for {to} reached the relay sink in "
                                   f"{MAIL_WAIT_S} s") from None
            if to.lower() in str(mail["To"]).lower():
                return mail


@dataclass
class LabDevice:
    name: str
    http: str
    serial: str
    generation: str
    firmware: str


@dataclass
class GuiFleet:
    """A running emulated fleet (its ready JSON), its cloud and the relay sink."""

    devices: dict[str, LabDevice]
    cloud_http: str
    sink: MailSink

    def url(self, device: str, path: str = "") -> str:
        """The device's base URL (no trailing slash) followed by `path`."""
        return self.devices[device].http + path


def lab_from(info: dict[str, Any], sink: MailSink) -> GuiFleet:
    """A Lab from the ready JSON that `python -m emulator fleet` prints."""
    return GuiFleet(devices={d["name"]: LabDevice(d["name"], d["http"], d["serial"],
                                             d["generation"], d["firmware"])
                        for d in info["devices"]},
               cloud_http=info["cloud"]["http"], sink=sink)


@contextmanager
def relay_sink() -> Iterator[tuple[MailSink, int]]:
    """A real SMTP server on loopback standing for the lab's mail relay: (sink, port)."""
    sink = MailSink()
    port = free_port()
    controller = Controller(sink, hostname=HOST, port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


@contextmanager
def emulated_lab(devices: list[dict[str, Any]]) -> Iterator[GuiFleet]:
    """Outside pytest (docs/screenshots/make.py): a fleet process, its cloud and a relay sink."""
    with relay_sink() as (sink, relay_port), \
            tempfile.TemporaryDirectory(prefix="gui-lab-") as tmp:
        config = {"host": HOST, "state_dir": str(Path(tmp) / "state"),
                  "mail_relay": {"host": HOST, "port": relay_port},
                  "cloud": {"min_app_version": APP_VERSION}, "lab_controller": None,
                  "devices": devices}
        config_path = Path(tmp) / "fleet.json"
        config_path.write_text(json.dumps(config), encoding="utf-8")
        process, info = launch_fleet(config_path, Path(tmp) / "fleet.log", cwd=REPO,
                                     timeout=READY_WAIT_S)
        try:
            yield lab_from(info, sink)
        finally:
            stop_fleet(process, timeout=10)


def launch_browser(playwright: Playwright) -> Browser:
    """Headless Debian Chromium (Playwright cannot download its own here)."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium, "
                           "or set HIL_CHROMIUM")
    return playwright.chromium.launch(executable_path=CHROMIUM)


# -- the phone's part --------------------------------------------------------------------------

def scan_qr(qr: Locator) -> str:
    """Photograph the QR element on screen and decode it, as the phone app does."""
    expect(qr).to_be_visible(timeout=WAIT_MS)
    qr.page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=qr.element_handle(),
                              timeout=WAIT_MS)
    picture = Image.open(io.BytesIO(qr.screenshot()))
    found = zxingcpp.read_barcodes(picture)
    texts = [r.text for r in found if r.text]
    if not texts:
        raise AssertionError("no QR code could be decoded from the QR element's screenshot")
    return texts[0]


def request_code(lab: GuiFleet, qr_text: str) -> None:
    """The phone app's call to the vendor cloud: it answers at once and mails the code later."""
    answer = httpx.post(f"{lab.cloud_http}/api/v1/device-password-reset", json={"qr": qr_text},
                        headers={"X-App-Version": APP_VERSION}, timeout=10.0)
    assert answer.status_code == 202, f"cloud refused the QR: {answer.status_code} {answer.text}"


def read_code(lab: GuiFleet, address: str) -> str:
    """The verification code from the next mail to `address`."""
    mail = lab.sink.next_mail(address)
    body = mail.get_body(preferencelist=("plain", "html"))
    text = body.get_content() if body is not None else ""
    match = CODE_RE.search(text)
    assert match, "the code mail holds no 'Verification code: XXXXXXXX' line"
    return match.group(1)


# -- drivers per generation --------------------------------------------------------------------

class GuiDriver(Protocol):
    """The steps a test needs; each generation does them with its own DOM."""

    activation_path: str
    protected_path: str

    def open_activation(self, page: Page, base: str) -> None: ...
    def strength(self, page: Page, password: str) -> str: ...
    def activate(self, page: Page, password: str, confirm: str, email: str | None) -> None: ...
    def activation_error(self, page: Page) -> Locator: ...
    def after_activation(self, page: Page, password: str, email: str) -> None: ...
    def activation_accepted(self, page: Page) -> None: ...
    def no_email_option_before_activation(self, page: Page) -> None: ...
    def after_activation_without_email(self, page: Page) -> None: ...
    def offered_reset_methods(self, page: Page) -> list[str]: ...
    def login_form_ready(self, page: Page, base: str) -> None: ...
    def login(self, page: Page, password: str) -> None: ...
    def login_error(self, page: Page) -> Locator: ...
    def wait_logged_in(self, page: Page) -> None: ...
    def set_reserved_email(self, page: Page, admin_password: str, email: str) -> None: ...
    def logout(self, page: Page) -> None: ...
    def forgot_to_qr(self, page: Page) -> Locator: ...
    def export_link(self, page: Page) -> Locator: ...
    def enter_code(self, page: Page, code: str) -> None: ...
    def enter_wrong_code(self, page: Page, code: str) -> Locator: ...
    def new_password(self, page: Page, password: str) -> None: ...
    def notice(self, page: Page) -> Locator: ...
    def on_activation(self, page: Page) -> None: ...


def visible(page: Page, selector: str) -> Locator:
    loc = page.locator(selector)
    expect(loc).to_be_visible(timeout=WAIT_MS)
    return loc


# Strength words the single-page GUIs show, as the level the scenarios compare.
# -- scenarios every generation runs ------------------------------------------------------------

# Spec §4's formula, worked by hand: (password, level the bar must show).
STRENGTH_CASES = [("abc", "0"), ("abcdefgh", "0"), ("abcdefg1", "1"), ("Abcdefgh", "2"),
                  ("Abcdef1!", "3")]
FIRST_PASSWORD = "Start#2024a"
OTHER_PASSWORD = "Start#2024b"
NEW_PASSWORD = "Reset#2025z"
LOCK_ATTEMPTS = 7  # spec §5 default before the address is locked


DEVICE = "gui"


def device_spec(model: str, firmware: str, defects: list[str] | None = None) -> dict[str, Any]:
    """The fleet-config entry of the one device a GUI test uses."""
    return {"name": DEVICE, "model": model, "firmware": firmware, "defects": defects or []}


def walk_reset(gui: GuiDriver, page: Page, lab: GuiFleet, device: str) -> None:
    """Activation → reserved e-mail → forgot password → QR → mailed code → new password → login."""
    base = lab.url(device)
    first_mail, reserved = "first.owner@example.com", "qa.owner@example.com"
    gui.open_activation(page, base)
    gui.activate(page, FIRST_PASSWORD, FIRST_PASSWORD, first_mail)
    gui.after_activation(page, FIRST_PASSWORD, first_mail)
    gui.login(page, FIRST_PASSWORD)
    gui.wait_logged_in(page)
    gui.set_reserved_email(page, FIRST_PASSWORD, reserved)
    gui.logout(page)

    qr = gui.forgot_to_qr(page)
    export = gui.export_link(page)
    expect(export, "Export offers the QR as a PNG").to_have_attribute(
        "href", re.compile(r"^data:image/png;base64,"), timeout=WAIT_MS)
    expect(export).to_have_attribute("download", re.compile(r"\.png$"))
    qr_text = scan_qr(qr)
    assert qr_text.startswith("HIKRESET1:"), qr_text[:20]
    request_code(lab, qr_text)
    code = read_code(lab, reserved)  # the address changed in user management gets the code
    wrong = "ABCDEFGH" if code.upper() != "ABCDEFGH" else "HGFEDCBA"
    expect(gui.enter_wrong_code(page, wrong)).to_contain_text(
        "Incorrect verification code.", timeout=WAIT_MS)
    gui.enter_code(page, code)
    gui.new_password(page, NEW_PASSWORD)
    expect(gui.notice(page)).to_contain_text("password has been reset", timeout=WAIT_MS)

    gui.login(page, FIRST_PASSWORD)
    expect(gui.login_error(page)).to_contain_text("attempt(s) left", timeout=WAIT_MS)
    gui.login(page, NEW_PASSWORD)
    gui.wait_logged_in(page)


def check_strength_and_confirm(gui: GuiDriver, page: Page, lab: GuiFleet, device: str) -> None:
    """Live strength levels; a mismatched confirm and a risky password are refused."""
    gui.open_activation(page, lab.url(device))
    for password, level in STRENGTH_CASES:
        assert gui.strength(page, password) == level, f"strength of {password!r}"
    gui.activate(page, FIRST_PASSWORD, OTHER_PASSWORD, None)
    expect(gui.activation_error(page)).to_have_text("The passwords do not match.",
                                                    timeout=WAIT_MS)
    gui.activate(page, "abcdefgh", "abcdefgh", None)  # level 0: the device answers riskPassword
    expect(gui.activation_error(page)).to_contain_text("Risky password", timeout=WAIT_MS)
    # Nothing was activated: every other page still leads to activation.
    page.goto(lab.url(device, gui.protected_path), timeout=WAIT_MS)
    gui.on_activation(page)


GUI_DEFECTS = ["gui_confirm_mismatch", "strength_bar_wrong"]


def check_gui_defects(gui: GuiDriver, page: Page, lab: GuiFleet, device: str) -> None:
    """A build with GUI_DEFECTS: the bar reads one level high, a mismatched confirm is sent."""
    gui.open_activation(page, lab.url(device))
    for password, level in STRENGTH_CASES:
        shown = str(min(3, int(level) + 1))
        assert gui.strength(page, password) == shown, f"defective strength of {password!r}"
    gui.activate(page, FIRST_PASSWORD, OTHER_PASSWORD, None)
    gui.activation_accepted(page)


def check_lockout_and_cookies(gui: GuiDriver, page: Page, browser: Browser, lab: GuiFleet,
                              device: str) -> None:
    """Wrong passwords show the attempts left; a browser without cookies is refused."""
    base = lab.url(device)
    gui.open_activation(page, base)
    gui.activate(page, FIRST_PASSWORD, FIRST_PASSWORD, "lock.owner@example.com")
    gui.after_activation(page, FIRST_PASSWORD, "lock.owner@example.com")
    gui.login_form_ready(page, base)
    gui.login(page, OTHER_PASSWORD)
    error = gui.login_error(page)
    expect(error).to_have_text("Incorrect user name or password. 6 attempt(s) left.",
                               timeout=WAIT_MS)
    gui.login(page, OTHER_PASSWORD)
    expect(error).to_have_text("Incorrect user name or password. 5 attempt(s) left.",
                               timeout=WAIT_MS)

    context = browser.new_context()
    try:
        context.add_init_script(
            "Object.defineProperty(Navigator.prototype, 'cookieEnabled', {get: () => false});")
        no_cookies = context.new_page()
        gui.login_form_ready(no_cookies, base)
        gui.login(no_cookies, FIRST_PASSWORD)
        expect(gui.login_error(no_cookies)).to_contain_text("Cookies are disabled",
                                                            timeout=WAIT_MS)
    finally:
        context.close()
    # The GUI refused before calling the device: no attempt spent, the right password logs in.
    gui.login(page, FIRST_PASSWORD)
    gui.wait_logged_in(page)
    gui.logout(page)
    for _ in range(LOCK_ATTEMPTS):
        gui.login(page, OTHER_PASSWORD)
        expect(error).to_be_visible(timeout=WAIT_MS)
        if "locked" in error.inner_text():  # the GUI's words, no state attribute
            break
    expect(error).to_contain_text("The user is locked. Try again in", timeout=WAIT_MS)


def check_below_email_threshold(gui: GuiDriver, page: Page, lab: GuiFleet, device: str) -> None:
    """Firmware below its line's threshold offers no reserved e-mail anywhere in the GUI."""
    gui.open_activation(page, lab.url(device))
    gui.no_email_option_before_activation(page)
    gui.activate(page, FIRST_PASSWORD, FIRST_PASSWORD, None)
    gui.after_activation_without_email(page)
    methods = gui.offered_reset_methods(page)
    assert "email" not in methods, methods
