"""The three web-GUI generations against a real emulated device, cloud and relay: the classic
IP-camera GUI (below V5.7.0), the single-page camera GUI (V5.7.0 on) and the recorder GUI
(DVR/NVR, GUI 4.0 pages). Every generation walks the same scenarios (gui_helpers); a check only
one or two generations have is marked for them with `@on(...)`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from gui_drivers import DRIVERS, RecorderGui
from gui_helpers import (
    DEVICE,
    FIRST_PASSWORD,
    GUI_DEFECTS,
    HOST,
    WAIT_MS,
    GuiDriver,
    GuiFleet,
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
from playwright.sync_api import (
    Browser,
    Page,
    Playwright,
    Request,
    expect,
)

from emulator.web import generation_root
from harness.gui.camera_classic import TEXTS


@dataclass(frozen=True)
class Generation:
    """One GUI generation as the tests start it: the model and firmware that serve it."""

    name: str
    model: str
    firmware: str
    below_email_threshold: str | None = None  # a firmware without the reserved e-mail

    @property
    def gui(self) -> GuiDriver:
        return DRIVERS[self.name]

    @property
    def portal(self) -> RecorderGui:
        """The real-shape checks of the single-page drivers (recorder and camera-spa)."""
        assert isinstance(self.gui, RecorderGui), f"{self.name} has no single-page portal"
        return self.gui


GENERATIONS = {g.name: g for g in (
    Generation("camera-classic", "DS-2CD2143G2-I", "V5.6.3", below_email_threshold="V5.5.0"),
    Generation("camera-spa", "DS-2CD2043G2-I", "V5.7.10 build 240120"),
    Generation("recorder", "DS-7608NI-K2", "V4.22.005", below_email_threshold="V4.20.000"),
)}
CLASSIC = "camera-classic"
SINGLE_PAGE = ("camera-spa", "recorder")
WITH_EMAIL_THRESHOLD = tuple(n for n, g in GENERATIONS.items() if g.below_email_threshold)


def on(*names: str) -> pytest.MarkDecorator:
    """Run a test on these generations only (the default is all three)."""
    return pytest.mark.parametrize("generation", names, indirect=True)


@pytest.fixture(params=sorted(GENERATIONS))
def generation(request: pytest.FixtureRequest) -> Generation:
    return GENERATIONS[request.param]


@pytest.fixture
def start_lab(fleet_factory: Callable[..., Any],
              generation: Generation) -> Iterator[Callable[..., GuiFleet]]:
    """Start one emulated device (optionally with defects) in a fleet process, with its cloud."""
    with relay_sink() as (sink, relay_port):
        def start(defects: list[str] | None = None, firmware: str | None = None) -> GuiFleet:
            spec = device_spec(generation.model, firmware or generation.firmware, defects)
            running = fleet_factory([spec], subprocess=True, mail_relay=(HOST, relay_port),
                                    lab_controller=False)
            lab = lab_from(running.info, sink)
            assert lab.devices[DEVICE].generation == generation.name
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


# -- what every generation does ------------------------------------------------------------------

def test_reset_by_reserved_email_end_to_end(gui_page: Page, generation: Generation,
                                            start_lab: Callable[..., GuiFleet]) -> None:
    walk_reset(generation.gui, gui_page, start_lab(), DEVICE)


def test_strength_bar_confirm_and_risky_password(gui_page: Page, generation: Generation,
                                                 start_lab: Callable[..., GuiFleet]) -> None:
    check_strength_and_confirm(generation.gui, gui_page, start_lab(), DEVICE)


def test_gui_defects_strength_offset_and_unchecked_confirm(
        gui_page: Page, generation: Generation, start_lab: Callable[..., GuiFleet]) -> None:
    check_gui_defects(generation.gui, gui_page, start_lab(GUI_DEFECTS), DEVICE)


def test_lockout_feedback_and_cookieless_login(gui_page: Page, gui_browser: Browser,
                                               generation: Generation,
                                               start_lab: Callable[..., GuiFleet]) -> None:
    check_lockout_and_cookies(generation.gui, gui_page, gui_browser, start_lab(), DEVICE)


@on(*WITH_EMAIL_THRESHOLD)
def test_no_reserved_email_below_firmware_threshold(gui_page: Page, generation: Generation,
                                                    start_lab: Callable[..., GuiFleet]) -> None:
    lab = start_lab(firmware=generation.below_email_threshold)
    check_below_email_threshold(generation.gui, gui_page, lab, DEVICE)


# -- the single-page generations ------------------------------------------------------------------

@on(*SINGLE_PAGE)
def test_real_gui_shape(gui_page: Page, generation: Generation,
                        start_lab: Callable[..., GuiFleet]) -> None:
    """`/` → login.asp → #/portal/login; no data-* hooks, no ids on login inputs or buttons;
    a heartbeat once logged in; no X-Requested-With; XML as form-urlencoded text, JSON as
    JSON, security=1 on email/parameter once logged in."""
    lab = start_lab()
    generation.portal.check_real_shape(gui_page, lab.url(DEVICE), FIRST_PASSWORD,
                                       "shape.owner@example.com")


@on(*SINGLE_PAGE)
def test_heartbeat_every_30_s_and_login_after_six_failures(
        gui_page: Page, generation: Generation, start_lab: Callable[..., GuiFleet]) -> None:
    generation.portal.check_heartbeat_rhythm(gui_page, start_lab().url(DEVICE), FIRST_PASSWORD)


@on(*SINGLE_PAGE)
def test_served_pages_carry_no_state_hooks(generation: Generation,
                                           start_lab: Callable[..., GuiFleet]) -> None:
    """The files the device serves for this GUI hold no data-* attribute or id'd button."""
    generation.portal.check_served_files(start_lab().url(DEVICE))


# -- the classic camera GUI: the shape of real firmware ------------------------------------------

GUI = DRIVERS[CLASSIC]
GUI_ROOT = generation_root(CLASSIC)

COMMON_JSON = GUI_ROOT / "i18n" / "en" / "Common.json"
DATA_ATTRIBUTES_JS = """() => [...document.querySelectorAll('*')].flatMap(
    el => [...el.attributes].map(a => a.name).filter(n => n.startsWith('data-'))
        .map(n => el.tagName + '[' + n + ']'))"""
BUTTON_IDS_JS = """() => [...document.querySelectorAll('button, [role=button], input[type=button]')]
    .filter(el => el.id).map(el => el.id + ' ' + el.textContent.trim())"""


def assert_real_shaped(page: Page, where: str) -> None:
    """No data-* hook anywhere in the page as drawn, no id on any button."""
    assert page.evaluate(DATA_ATTRIBUTES_JS) == [], f"data-* attributes on {where}"
    assert page.evaluate(BUTTON_IDS_JS) == [], f"buttons with ids on {where}"


@on(CLASSIC)
def test_root_lands_on_login_asp_and_served_files_have_no_data_hooks(
        gui_page: Page, start_lab: Callable[..., GuiFleet]) -> None:
    lab = start_lab()
    answer = httpx.get(lab.url(DEVICE, "/"), timeout=10.0)
    assert answer.status_code == 200, "real firmware answers / with a page, not a 30x"
    assert 'window.location.href="/doc/page/login.asp?_"' in answer.text.replace(" ", "")
    gui_page.goto(lab.url(DEVICE, "/"), timeout=WAIT_MS)
    gui_page.wait_for_url(re.compile(r"/doc/page/login\.asp\?_\d+$"), timeout=WAIT_MS)
    expect(gui_page.locator("#username")).to_be_visible(timeout=WAIT_MS)
    expect(gui_page.locator("#password")).to_be_visible()
    served = sorted(p for p in GUI_ROOT.rglob("*") if p.is_file())
    assert {p.name for p in served} >= {"login.asp", "pwdReset.asp", "config.asp", "preview.asp",
                                        "Common.json"}
    for path in served:
        rel = path.relative_to(GUI_ROOT).as_posix()
        text = httpx.get(lab.url(DEVICE, "/doc/" + rel), timeout=10.0).text
        assert "data-" not in text and "dataset" not in text, f"/doc/{rel} has a data-* hook"
        assert "X-Requested-With" not in text.replace("no X-Requested-With", ""), rel
    for old in ("page/login.html", "page/resetPwd.html", "page/config.html"):
        assert httpx.get(lab.url(DEVICE, "/doc/" + old), timeout=10.0).status_code == 404


@on(CLASSIC)
def test_every_page_as_drawn_has_no_data_hooks_and_untagged_buttons(
        gui_page: Page, start_lab: Callable[..., GuiFleet]) -> None:
    """Activation popup, reset-method popup and its alert, Account Security Settings, each
    step of pwdReset.asp: no data-* attribute, no id on a button, OK/Cancel found by text."""
    lab = start_lab()
    base = lab.url(DEVICE)
    sent: list[Request] = []
    gui_page.on("request", lambda r: sent.append(r) if "/ISAPI/" in r.url else None)
    GUI.open_activation(gui_page, base)
    assert_real_shaped(gui_page, "the activation popup")
    GUI.activate(gui_page, FIRST_PASSWORD, FIRST_PASSWORD, None)
    GUI.activation_accepted(gui_page)
    expect(gui_page.locator("#tabsQA").get_by_role("tab")).to_have_count(2)
    methods = gui_page.locator("[role=dialog]:has(#qaDialog2)")
    methods.get_by_role("button", name="OK", exact=True).click()
    expect(gui_page.get_by_role("alertdialog")).to_be_visible(timeout=WAIT_MS)
    assert_real_shaped(gui_page, "the reset-method popup and its alert")
    gui_page.get_by_role("alertdialog").get_by_role("button", name="OK", exact=True).click()
    gui_page.fill("#qaDialog2 input[type=text]", "shape.owner@example.com")
    methods.get_by_role("button", name="OK", exact=True).click()
    GUI.wait_logged_in(gui_page)
    assert_real_shaped(gui_page, "preview.asp")
    gui_page.get_by_role("link", name="Configuration", exact=True).click()
    gui_page.get_by_role("link", name="User Management", exact=True).click()
    gui_page.get_by_role("button", name="Account Security Settings", exact=True).click()
    dialog = gui_page.locator("[role=dialog]:has(#qaDialog2)")
    expect(dialog.get_by_role("button", name="Cancel", exact=True)).to_be_visible(timeout=WAIT_MS)
    assert_real_shaped(gui_page, "Account Security Settings")
    dialog.get_by_role("button", name="Cancel", exact=True).click()
    expect(dialog).to_have_count(0)
    GUI.logout(gui_page)
    GUI.forgot_to_qr(gui_page)
    assert_real_shaped(gui_page, "pwdReset.asp, QR step")
    check_requests_as_real_gui(sent)


def check_requests_as_real_gui(sent: list[Request]) -> None:
    """Spec §10: no X-Requested-With; XML bodies as form-urlencoded text, JSON as JSON; the
    reserved address saved with `security=1` fields (SecurityCap gives keyIterateNum)."""
    assert sent, "the GUI made no ISAPI call"
    for request in sent:
        headers = request.all_headers()
        assert "x-requested-with" not in headers, request.url
        body = request.post_data or ""
        if body.startswith("<"):
            assert headers.get("content-type", "").startswith(
                "application/x-www-form-urlencoded"), request.url
        elif body.startswith("{"):
            assert headers.get("content-type", "").startswith("application/json"), request.url
    paths = [(r.method, r.url.split("/ISAPI/", 1)[1]) for r in sent]
    assert ("PUT", "Security/sessionHeartbeat") in paths
    saved = [p for m, p in paths if m == "PUT" and p.startswith("Security/email/parameter")]
    assert saved and all(re.search(r"\?format=json\?security=1&iv=[0-9a-f]{32}$", p)
                         for p in saved), saved


@on(CLASSIC)
def test_texts_come_from_common_json(gui_page: Page, start_lab: Callable[..., GuiFleet]) -> None:
    """The app draws its words from /doc/i18n/en/Common.json: served other words, it shows
    them; the harness's text table is that file's."""
    texts = json.loads(COMMON_JSON.read_text(encoding="utf-8"))
    for key in ("activeDevice", "loginError", "loginLockError", "cookieError", "passNotMatch",
                "pwdIncludeUser", "riskyInputPwd", "userLock", "QATip1", "resetTypeSettings"):
        assert texts.get(key), f"Common.json lacks {key}"
    assert [texts[k] for k in ("risky", "weak", "medium", "strong")] == [
        "Risky", "Weak", "Medium", "Strong"]
    for key, value in TEXTS.items():
        assert texts.get(key) == value, f"harness TEXTS[{key!r}] is not the GUI's text"

    marked = {key: f"«{value}»" for key, value in texts.items()}
    gui_page.route("**/doc/i18n/en/Common.json", lambda route: route.fulfill(
        json=marked, headers={"Cache-Control": "no-cache"}))
    lab = start_lab()
    GUI.open_activation(gui_page, lab.url(DEVICE))
    popup = gui_page.locator("[role=dialog]:has(#active)")
    expect(popup).to_contain_text(marked["activeDevice"])
    expect(popup).to_contain_text(marked["passwordTip"])
    expect(popup.get_by_role("button", name=marked["ok"], exact=True)).to_be_visible()
    gui_page.fill("#activePassword", "Abcdef1!")
    expect(gui_page.locator("#active .userstrength")).to_have_text(marked["strong"])
    gui_page.locator("#active input[type=password]").nth(1).fill("Abcdef1!x")
    popup.get_by_role("button", name=marked["ok"], exact=True).click()
    expect(gui_page.get_by_role("alertdialog").locator("p")).to_have_text(marked["passNotMatch"])
    expect(gui_page.locator("#username")).to_have_attribute("placeholder", marked["userName"])


@on(CLASSIC)
def test_plain_browser_neither_hangs_nor_prompts(gui_browser: Browser,
                                                 start_lab: Callable[..., GuiFleet]) -> None:
    """Without the harness's prompt cancelling: a wrong password's 401 (with its Digest
    challenge) still shows the attempts left, and logged-in pages opened without a login
    go to login.asp, both well before the GUI's 15 s abort."""
    lab = start_lab()
    context = gui_browser.new_context()
    try:
        page = context.new_page()
        GUI.open_activation(page, lab.url(DEVICE))
        GUI.activate(page, FIRST_PASSWORD, FIRST_PASSWORD, None)
        GUI.activation_accepted(page)
    finally:
        context.close()
    for path in ("/doc/page/preview.asp", "/doc/page/config.asp#user"):
        context = gui_browser.new_context()
        try:
            page = context.new_page()
            page.goto(lab.url(DEVICE, path), timeout=WAIT_MS)
            page.wait_for_url(re.compile(r"/doc/page/login\.asp$"), timeout=5_000)
        finally:
            context.close()
    context = gui_browser.new_context()
    try:
        page = context.new_page()
        GUI.login_form_ready(page, lab.url(DEVICE))
        GUI.login(page, FIRST_PASSWORD + "x")
        expect(page.get_by_text("Incorrect user name or password.")).to_contain_text(
            "attempt(s) left", timeout=5_000)
        GUI.login(page, FIRST_PASSWORD)
        GUI.wait_logged_in(page)
    finally:
        context.close()
