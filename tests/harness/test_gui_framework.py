"""The GUI framework against small pages served here (real Chromium, 127.0.0.1): the
generation recognised from where `/` lands, text placeholders in selectors, strength and
attempts read from the GUI's texts, the answer waited for on the ISAPI response; and the
GUI object's credential bookkeeping.

The pages are written for these tests in the shape DEVICE-SPEC §2 gives real firmware
(script redirects, a booting app, untagged buttons, messages as text, a lock modal); they
do not depend on the emulator.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar, cast

import pytest
from playwright.sync_api import Page

from harness.catalogue import GuiGeneration
from harness.clients.isapi import LoginRejected
from harness.errors import DeviceError, HarnessError, ProductDefect
from harness.gui import GuiTarget, LoginResult, UnrecognisedGui, recognise
from harness.gui.base import GuiPage, GuiTimeouts, ResetOutcome, duration_in
from harness.gui.pages import LoginPage, RecorderStyleActivation
from harness.inventory.load import parse_inventory
from harness.lab.devicegui import DeviceForgotPassword, DeviceGui
from harness.lab.dut import DeviceUnderTest
from harness.lab.session import LabSession

FAST = GuiTimeouts(page_load=5, step=5, download=5)
RIGHT = "Right-Pass1"
ANSWER_DELAY_S = 0.3  # the device thinks: an old message is still on screen meanwhile

Route = Callable[[str, bytes], tuple[int, str, bytes]]


def html(body: str) -> Route:
    return lambda _method, _body: (200, "text/html", body.encode())


# --- pages in the shape of real firmware ----------------------------------------------------

ROOT_REDIRECT = html('<script>window.location.href="/doc/page/login.asp?_"+Date.now();</script>')
# The classic app boots after the page loads: its login fields appear a moment later.
CLASSIC_LOGIN = html(
    '<title>login</title><div id="view"></div><script>setTimeout(function () {'
    ' document.getElementById("view").innerHTML = \'<input id="username">'
    '<input id="password" type="password">\'; }, 50);</script>'
)
# An inactive classic camera boots to the activation popup alone.
CLASSIC_INACTIVE = html(
    '<title>login</title><div id="view"></div><script>setTimeout(function () {'
    ' document.getElementById("view").innerHTML = \'<div id="active">'
    '<input id="activePassword" type="password"></div>\'; }, 50);</script>'
)
SPA_REDIRECT = html('<script>window.location.replace("/doc/index.html#/portal/login");</script>')
SPA_LOGIN = html("""
<div id="portal" hidden>
  <form class="login" onsubmit="return false">
    <div class="el-form-item"><input placeholder="User Name"></div>
    <div class="el-form-item"><input type="password" placeholder="Password"></div>
    <div class="el-form-item__error" hidden></div>
    <button type="button">Login</button>
  </form>
</div>
<div id="main" hidden><a href="#">Logout</a></div>
<div class="el-message-box" role="dialog" hidden><p></p><button>OK</button></div>
<script>
fetch("/SDK/activateStatus").then(() => { document.getElementById("portal").hidden = false; });
const error = document.querySelector(".el-form-item__error");
const box = document.querySelector(".el-message-box");
document.querySelector("form button").onclick = async () => {
  const password = document.querySelector("input[type=password]").value;
  const r = await fetch("/ISAPI/Security/sessionLogin?timeStamp=" + Date.now(),
                        {method: "POST", body: password});
  const answer = await r.json();
  if (r.status === 200) {
    document.getElementById("portal").hidden = true;
    document.getElementById("main").hidden = false;
  } else if (answer.locked) {
    box.querySelector("p").textContent = "The user is locked. Try again in 30 minutes.";
    box.hidden = false;
  } else {
    error.textContent = "Incorrect user name or password. " + answer.left + " attempt(s) left.";
    error.hidden = false;
  }
};
</script>
""")
# The login box is drawn as the app boots; the activation form replaces it once the
# device said it is inactive (a page read before that answer looks like an active one).
SPA_ACTIVATION = html("""
<div id="portal">
  <form class="login"><input placeholder="User Name"></form>
  <form class="activate" onsubmit="return false" hidden>
    <input type="password" placeholder="Password">
    <input type="password" placeholder="Confirm Password">
    <span class="error"></span>
    <button type="button">OK</button>
  </form>
</div>
<script>
fetch("/SDK/activateStatus").then(r => r.text()).then(() => {
  document.querySelector("form.login").hidden = true;
  document.querySelector("form.activate").hidden = false;
});
</script>
""")
# The strength text follows the input a moment later, as a GUI that redraws after the
# input event does: a reading taken at once would be the previous password's.
STRENGTH = html("""
<input id="activePassword" type="password">
<div class="userstrength"><span class="bars"></span><span class="text"></span></div>
<script>
const input = document.getElementById("activePassword");
const text = document.querySelector(".userstrength .text");
input.addEventListener("input", () => setTimeout(() => {
  const n = input.value.length;
  text.textContent = n === 0 ? "" : n < 4 ? "Risky password." : n < 6 ? "Weak"
                   : n < 8 ? "Medium" : "Strong";
}, 80));
</script>
""")
NO_GUI = html("<title>HIKEMU</title><h1>Welcome to the device</h1>")


@dataclass
class Site:
    """What the local server serves: path (no query) → route; the login counter."""

    routes: dict[str, Route] = field(default_factory=dict)
    wrong_logins: int = 0
    max_attempts: int = 3
    base_url: str = ""

    def activate_status(self, _method: str, _body: bytes) -> tuple[int, str, bytes]:
        time.sleep(ANSWER_DELAY_S)
        return 200, "application/xml", b"<ActivateStatus><Activated>false</Activated>" \
                                      b"</ActivateStatus>"

    def session_login(self, _method: str, body: bytes) -> tuple[int, str, bytes]:
        time.sleep(ANSWER_DELAY_S)
        if body.decode() == RIGHT and self.wrong_logins < self.max_attempts:
            return 200, "application/json", b'{"statusValue": 200}'
        self.wrong_logins += 1
        left = max(self.max_attempts - self.wrong_logins, 0)
        answer = {"statusValue": 401, "left": left, "locked": left == 0}
        return 401, "application/json", json.dumps(answer).encode()


@pytest.fixture(scope="module")
def server() -> Iterator[Site]:
    site = Site()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            route = site.routes.get(self.path.split("?")[0])
            status, kind, content = (404, "text/plain", b"not found") if route is None \
                else route(self.command, body)
            # A refused login's 401 carries no Digest challenge (docs/device-api.md, rule 4).
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, *_args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def site(server: Site) -> Site:
    server.routes.clear()
    server.wrong_logins = 0
    return server


def _target(site: Site, generation: GuiGeneration, expected: bool = False) -> GuiTarget:
    return GuiTarget("dev", site.base_url, generation, reserved_email_expected=expected)


def _serve_classic(site: Site) -> None:
    site.routes.update({"/": ROOT_REDIRECT, "/doc/page/login.asp": CLASSIC_LOGIN})


def _serve_spa(site: Site, index: Route = SPA_LOGIN) -> None:
    site.routes.update({"/": ROOT_REDIRECT, "/doc/page/login.asp": SPA_REDIRECT,
                        "/doc/index.html": index,
                        "/ISAPI/Security/sessionLogin": site.session_login,
                        "/SDK/activateStatus": site.activate_status})


# --- recognition ------------------------------------------------------------------------------


@pytest.mark.parametrize("login_asp", [CLASSIC_LOGIN, CLASSIC_INACTIVE],
                         ids=["active", "inactive"])
def test_classic_camera_recognised_from_its_landing(
    site: Site, gui_page: Page, login_asp: Route
) -> None:
    _serve_classic(site)
    site.routes["/doc/page/login.asp"] = login_asp
    target = _target(site, GuiGeneration.CAMERA_CLASSIC)
    assert recognise(gui_page, target, FAST) is GuiGeneration.CAMERA_CLASSIC
    assert "/doc/page/login.asp?_" in gui_page.url


@pytest.mark.parametrize("generation", [GuiGeneration.RECORDER, GuiGeneration.CAMERA_SPA])
def test_spa_generations_recognised_through_login_asp(
    site: Site, gui_page: Page, generation: GuiGeneration
) -> None:
    _serve_spa(site)
    assert recognise(gui_page, _target(site, generation), FAST) is generation
    assert gui_page.url.endswith("/doc/index.html#/portal/login")


def test_another_known_generation_than_expected_is_a_product_defect(
    site: Site, gui_page: Page
) -> None:
    _serve_classic(site)
    with pytest.raises(ProductDefect, match=r"serves the camera-classic GUI.*expects the recorder"):
        recognise(gui_page, _target(site, GuiGeneration.RECORDER), FAST)


def test_unrecognised_page_is_a_harness_error_with_what_was_seen(
    site: Site, gui_page: Page
) -> None:
    site.routes["/"] = NO_GUI
    with pytest.raises(UnrecognisedGui) as caught:
        recognise(gui_page, _target(site, GuiGeneration.RECORDER), FAST)
    error = caught.value
    assert isinstance(error, HarnessError) and not isinstance(error, DeviceError)
    assert str(error).startswith(f"unrecognised GUI at {site.base_url}/: ")
    assert "'HIKEMU'" in str(error) and "Welcome to the device" in str(error)
    assert error.screenshot.startswith(b"\x89PNG")


def test_app_shell_off_the_entry_page_is_unrecognised(site: Site, gui_page: Page) -> None:
    site.routes["/"] = html('<div id="portal">portal</div>')  # no redirect to index.html
    with pytest.raises(UnrecognisedGui, match="no known GUI's entry page"):
        recognise(gui_page, _target(site, GuiGeneration.CAMERA_SPA), FAST)


# --- text placeholders ------------------------------------------------------------------------


class _SpaTexts:
    texts: ClassVar[Mapping[str, str]] = {
        "userName": "User Name", "password": "Password", "login": "Login", "logout": "Logout",
        "confirm": "Confirm Password", "ok": "OK", "reservedEmail": "Reserved E-mail Settings",
        "email": "E-mail Address",
    }


class SpaLogin(_SpaTexts, LoginPage):
    selectors: ClassVar[Mapping[str, str]] = {
        "form": "#portal form.login",
        "username": '#portal [placeholder="{text:userName}"]',
        "password": '#portal [placeholder="{text:password}"]',
        "submit": '#portal >> role=button[name="{text:login}"]',
        "error": ".el-form-item__error",
        "lock_alert": "role=dialog",
        "logged_in": "#main >> text={text:logout}",
        "logout": "#main >> text={text:logout}",
        "activation": "#portal form.activate",
        "notice": ".notice",
        "forgot": "text=Forgot Password",
    }


def test_placeholders_filled_from_the_text_table(site: Site) -> None:
    login = SpaLogin(cast(Page, None), _target(site, GuiGeneration.RECORDER))
    assert login.sel("submit") == '#portal >> role=button[name="Login"]'
    assert login.sel("logged_in") == "#main >> text=Logout"
    assert login.sel("error") == ".el-form-item__error"  # no placeholder: as written


def test_missing_text_names_page_selector_and_key(site: Site) -> None:
    class Broken(LoginPage):
        selectors: ClassVar[Mapping[str, str]] = {"submit": 'role=button[name="{text:logIn}"]'}
        texts: ClassVar[Mapping[str, str]] = {"login": "Login"}

    with pytest.raises(HarnessError) as caught:
        Broken(cast(Page, None), _target(site, GuiGeneration.RECORDER)).sel("submit")
    message = str(caught.value)
    assert "recorder login page" in message and "'submit'" in message and "'logIn'" in message


# --- strength, attempts and lock read from texts ------------------------------------------------


class Meter(GuiPage):
    selectors: ClassVar[Mapping[str, str]] = {
        "password": "#activePassword", "strength_label": ".userstrength .text",
    }


def test_strength_read_from_the_label_text_of_this_password(site: Site, gui_page: Page) -> None:
    site.routes["/strength.html"] = STRENGTH
    gui_page.goto(site.base_url + "/strength.html")
    meter = Meter(gui_page, _target(site, GuiGeneration.CAMERA_CLASSIC), FAST)
    # Each sample differs from the one before, so a stale reading would show.
    samples = {"abcdefghij": "Strong", "abc": "Risky", "abcde": "Weak", "abcdefg": "Medium"}
    shown = {pw: meter.read_strength("password", pw, "strength_label") for pw in samples}
    assert shown == samples


def test_login_attempts_and_lock_read_from_texts(site: Site, gui_page: Page) -> None:
    _serve_spa(site)
    login = SpaLogin(gui_page, _target(site, GuiGeneration.RECORDER), FAST)
    first = login.login("Wrong-Pass1")
    # The first message is still on screen while the device thinks about the second
    # attempt: only the wait for its answer reads 1 and not 2.
    second = login.login("Wrong-Pass2")
    locked = login.login("Wrong-Pass3")
    assert (first.result, first.attempts_left) == (LoginResult.REJECTED, 2)
    assert (second.result, second.attempts_left) == (LoginResult.REJECTED, 1)
    assert locked.result is LoginResult.LOCKED
    assert locked.lock_remaining_s == 30 * 60


def test_login_ok_seen_on_the_logged_in_page(site: Site, gui_page: Page) -> None:
    _serve_spa(site)
    login = SpaLogin(gui_page, _target(site, GuiGeneration.RECORDER), FAST)
    assert login.login(RIGHT).ok
    assert login.is_logged_in()


def test_refusal_wording_without_a_lock_dialog(site: Site) -> None:
    login = SpaLogin(cast(Page, None), _target(site, GuiGeneration.RECORDER))
    locked = login.read_refusal("The user is locked.")
    assert locked.result is LoginResult.LOCKED
    assert login.read_refusal("Incorrect user name or password.").result is LoginResult.ERROR
    assert login.read_refusal("Incorrect password. 4 attempt(s) left.").attempts_left == 4


# --- a control the catalogue expects ------------------------------------------------------------


class SpaActivation(_SpaTexts, RecorderStyleActivation):
    selectors: ClassVar[Mapping[str, str]] = {
        "form": "#portal form.activate",
        "password": '#portal form.activate [placeholder="{text:password}"]',
        "confirm": '#portal form.activate [placeholder="{text:confirm}"]',
        "submit": '#portal form.activate >> role=button[name="{text:ok}"]',
        "error": "#portal .error",
        "login_form": "#portal form.login",
        "email_enable": 'role=checkbox[name="{text:reservedEmail}"]',
        "email": '[placeholder="{text:email}"]',
        "done": ".notice", "notice": ".notice",
    }


def test_activation_form_read_after_the_gui_asked_whether_active(
    site: Site, gui_page: Page
) -> None:
    _serve_spa(site, SPA_ACTIVATION)
    activation = SpaActivation(gui_page, _target(site, GuiGeneration.RECORDER), FAST)
    activation.open()  # not "already active" from the login box drawn first
    assert activation.el("form").first.is_visible()


def test_missing_reserved_email_option_is_a_product_defect(site: Site, gui_page: Page) -> None:
    _serve_spa(site, SPA_ACTIVATION)
    activation = SpaActivation(gui_page, _target(site, GuiGeneration.RECORDER, True), FAST)
    activation.open()
    with pytest.raises(ProductDefect, match=r"no reserved-e-mail option.*email_enable"):
        activation.submit(RIGHT, email="dev@hil.test")


def test_missing_option_where_not_expected_is_the_harness_s(site: Site, gui_page: Page) -> None:
    _serve_spa(site, SPA_ACTIVATION)
    quick = GuiTimeouts(page_load=5, step=1, download=1)
    activation = SpaActivation(gui_page, _target(site, GuiGeneration.RECORDER, False), quick)
    activation.open()
    with pytest.raises(HarnessError, match="email_enable"):
        activation.submit(RIGHT, email="dev@hil.test")


# --- the GUI object's bookkeeping ---------------------------------------------------------------

INVENTORY = """
devices:
  - {name: cam, kind: emulated, model: DS-2CD2043G2-I, firmware: V5.7.10}
mailbox: {kind: smtp-sink}
cloud: {kind: emulated, min_app_version: 3.5.4}
leases: {kind: file, directory: LEASES}
"""


class FakeDevice:
    """The ISAPI client the bookkeeping asks: which password logs in, whether active."""

    def __init__(self, holds: str | None, active: bool = True) -> None:
        self.holds, self.active, self.asked = holds, active, 0
        self._password = ""

    def __enter__(self) -> FakeDevice:
        return self

    def __exit__(self, *_exc: object) -> None:
        pass

    def use_digest(self, password: str) -> None:
        self._password = password

    def device_info(self) -> None:
        self.asked += 1
        if self._password != self.holds:
            raise LoginRejected(url="/ISAPI/System/deviceInfo", attempts_left=5, locked=False,
                                unlock_time_s=0)

    def activated(self) -> bool:
        self.asked += 1
        return self.active


@pytest.fixture(name="kept")
def kept_fixture(tmp_path: Path) -> DeviceUnderTest:
    """A device whose credentials the harness keeps (`dut` is the suites' fixture)."""
    inventory = parse_inventory(INVENTORY.replace("LEASES", str(tmp_path / "leases")))
    lab = LabSession(inventory=inventory, workdir=tmp_path, endpoints=None)
    device = DeviceUnderTest(entry=inventory.device("cam"), lab=lab,
                             base_url="http://127.0.0.1:9", ssh_port=22, verify=True,
                             serial=None, secrets=lab.secrets)
    device.remember_password("Old-Pass12")
    return device


def _wizard(kept: DeviceUnderTest, answer: Callable[[], ResetOutcome]) -> DeviceForgotPassword:
    page = SimpleNamespace(target=kept.gui_target(),
                           set_new_password=lambda _password, _confirm: answer())
    return DeviceForgotPassword(cast(Any, page), DeviceGui(kept, cast(Page, None)))


def _use(monkeypatch: pytest.MonkeyPatch, kept: DeviceUnderTest, device: FakeDevice) -> None:
    monkeypatch.setattr(kept, "isapi", lambda login=True: device)


def test_remembered_password_follows_a_reset(
    kept: DeviceUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = FakeDevice(holds="New-Pass34")
    _use(monkeypatch, kept, device)
    assert _wizard(kept, lambda: ResetOutcome(done=True)).set_new_password("New-Pass34").done
    assert kept.password == "New-Pass34"
    assert device.asked == 0  # the device said yes: nothing to ask


@pytest.mark.parametrize(("holds", "remembered"), [("Old-Pass12", "Old-Pass12"),
                                                   ("New-Pass34", "New-Pass34")])
def test_a_failed_reset_step_asks_the_device(
    kept: DeviceUnderTest, monkeypatch: pytest.MonkeyPatch, holds: str, remembered: str
) -> None:
    device = FakeDevice(holds=holds)
    _use(monkeypatch, kept, device)

    def broken() -> ResetOutcome:
        raise DeviceError("the page stopped answering")

    with pytest.raises(DeviceError):
        _wizard(kept, broken).set_new_password("New-Pass34")
    assert device.asked == 1
    assert kept.password == remembered


def test_a_refused_new_password_asks_the_device(
    kept: DeviceUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = FakeDevice(holds="Old-Pass12")
    _use(monkeypatch, kept, device)
    outcome = _wizard(kept, lambda: ResetOutcome(done=False, message="Risky password.")) \
        .set_new_password("New-Pass34")
    assert not outcome.done and outcome.message == "Risky password."
    assert device.asked == 1 and kept.password == "Old-Pass12"


def test_a_failed_activation_asks_whether_the_device_is_active(
    kept: DeviceUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept.remember_password(None)
    _use(monkeypatch, kept, FakeDevice(holds=None, active=True))

    def broken(*_args: object, **_kwargs: object) -> None:
        raise DeviceError("no answer to activation")

    monkeypatch.setattr("harness.lab.devicegui.flows.activate", broken)
    with pytest.raises(DeviceError):
        DeviceGui(kept, cast(Page, None)).activate("Typed-Pass56", with_email=True)
    assert kept.known().password == "Typed-Pass56"
    assert kept.known().email is None  # the address was not confirmed taken


@pytest.mark.parametrize(("message", "seconds"), [
    ("The user is locked. Try again in 30 minute(s).", 1800),  # the classic camera's userLock
    ("Try again in 45 second(s).", 45),
    ("Try again in 29 min 58 s.", 29 * 60 + 58),
    ("Incorrect user name or password. 3 attempt(s) left.", None),
])
def test_lock_time_read_from_the_wording(message: str, seconds: int | None) -> None:
    assert duration_in(message) == seconds
