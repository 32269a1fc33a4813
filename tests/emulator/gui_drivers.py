"""The tests' own small page objects, one per GUI generation, written against the DOM
documented in emulator/web/README.md (the harness writes its own): the recorder GUI, the
classic camera GUI and the single-page camera GUI (a recorder-style SPA). `DRIVERS` maps a
generation to its driver; gui_helpers has the lab, the phone's part and the scenarios.

Over 400 lines on purpose: the single-page camera driver extends the recorder's, and the
three are read side by side when a generation's DOM changes.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from gui_helpers import WAIT_MS, GuiDriver, visible
from playwright.sync_api import Locator, Page, expect

PORTAL_LEVELS = {"Risky password.": "0", "Weak": "1", "Medium": "2", "Strong": "3"}


class RecorderGui:
    """The NVR web 5.x portal and app, driven by placeholder, label, role and text only."""

    activation_path = "/doc/index.html#/portal/activate"
    protected_path = "/doc/index.html#/config/user"
    confirm_placeholder = "Confirm Password"
    forgot_link = "Forgot Password?"
    email_method = "Verify by Reserved Email"
    privacy_agree = "I have read and agree to the Privacy Statement"

    def portal_input(self, page: Page, placeholder: str) -> Locator:
        return page.locator(f'#portal input[placeholder="{placeholder}"]:visible')

    def portal_button(self, page: Page, name: str) -> Locator:
        return page.locator("#portal").get_by_role("button", name=name, exact=True)

    def open_activation(self, page: Page, base: str) -> None:
        page.goto(base + "/", timeout=WAIT_MS)
        self.on_activation(page)

    def on_activation(self, page: Page) -> None:
        page.wait_for_url("**/doc/index.html#/portal/activate", timeout=WAIT_MS)
        visible(page, f'#portal input[placeholder="{self.confirm_placeholder}"]')

    def strength(self, page: Page, password: str) -> str:
        self.portal_input(page, "Password").fill(password)
        words = page.locator("#portal").get_by_text(
            re.compile(r"^(Risky password\.|Weak|Medium|Strong)$"))
        expect(words).to_be_visible(timeout=WAIT_MS)
        return PORTAL_LEVELS[words.inner_text().strip()]

    def activate(self, page: Page, password: str, confirm: str, email: str | None) -> None:
        self.portal_input(page, "Password").fill(password)
        self.portal_input(page, self.confirm_placeholder).fill(confirm)
        if email:
            page.locator("#portal").get_by_label("Reserved E-mail", exact=True).check()
            visible(page, '#portal input[placeholder="E-mail Address"]').fill(email)
        self.portal_button(page, "OK").click()

    def activation_error(self, page: Page) -> Locator:
        return visible(page, "#portal .el-alert--error:visible")

    def after_activation(self, page: Page, password: str, email: str) -> None:
        self.activation_accepted(page)

    def activation_accepted(self, page: Page) -> None:
        page.wait_for_url("**/doc/index.html#/portal/login", timeout=WAIT_MS)
        visible(page, "#portal .login-input input[type=password]")

    def no_email_option_before_activation(self, page: Page) -> None:
        page.wait_for_load_state("networkidle", timeout=WAIT_MS)  # extern capabilities read
        expect(page.locator("#portal").get_by_label("Reserved E-mail", exact=True)).to_be_hidden()

    def after_activation_without_email(self, page: Page) -> None:
        self.activation_accepted(page)

    def offered_reset_methods(self, page: Page) -> list[str]:
        page.locator("#portal").get_by_role("link", name=self.forgot_link).click()
        visible(page, "#portal .el-radio-group")
        expect(self.portal_button(page, "Next").first).to_be_visible(timeout=WAIT_MS)
        values: list[str] = page.eval_on_selector_all(
            "#portal input[type=radio]", "els => els.map(e => e.value)")
        return values

    def login_form_ready(self, page: Page, base: str) -> None:
        page.goto(base + "/doc/index.html#/portal/login", timeout=WAIT_MS)
        visible(page, "#portal .login-input input[type=password]")

    def login(self, page: Page, password: str) -> None:
        visible(page, "#portal .login-input input[type=password]").fill(password)
        page.click("#portal .login-btn")

    def login_error(self, page: Page) -> Locator:
        return visible(page, "#portal .el-alert--error:visible")

    def wait_logged_in(self, page: Page) -> None:
        page.wait_for_url("**/doc/index.html#/preview", timeout=WAIT_MS)
        visible(page, "#app .el-menu--horizontal")

    def open_user_page(self, page: Page) -> None:
        page.locator("#app").get_by_role("menuitem", name="Configuration").click()
        page.locator("#app").get_by_role("menuitem", name="User", exact=True).click()

    def set_reserved_email(self, page: Page, admin_password: str, email: str) -> None:
        self.open_user_page(page)
        page.locator("#app").get_by_role("link", name="Edit").first.click()
        dialog = page.get_by_role("dialog", name="Edit User")
        expect(dialog).to_be_visible(timeout=WAIT_MS)
        dialog.get_by_placeholder("Old Password").fill(admin_password)
        dialog.get_by_label("Reserved E-mail Settings").check()
        dialog.locator('.el-form-item:has(> .el-form-item__label:text-is("Reserved E-mail")) input'
                       ).fill(email)
        dialog.get_by_role("button", name="OK").click()
        expect(page.locator(".el-message--success")).to_have_text("Saved successfully.",
                                                                  timeout=WAIT_MS)

    def logout(self, page: Page) -> None:
        page.locator("#app").get_by_role("button", name="admin").click()
        page.get_by_role("menuitem", name="Logout").click()
        self.activation_accepted(page)

    def forgot_to_qr(self, page: Page) -> Locator:
        page.locator("#portal").get_by_role("link", name=self.forgot_link).click()
        page.locator("#portal").get_by_label(self.email_method).check()
        self.portal_button(page, "Next").click()
        page.locator("#portal").get_by_label(self.privacy_agree).check()
        self.portal_button(page, "Next").click()
        return visible(page, "#portal img[alt='QR Code']")

    def export_link(self, page: Page) -> Locator:
        return visible(page, "#portal a[download]")

    def enter_wrong_code(self, page: Page, code: str) -> Locator:
        self.portal_input(page, "Verification Code").fill(code)
        self.portal_button(page, "Next").click()
        return visible(page, "#portal .el-alert--error:visible")

    def enter_code(self, page: Page, code: str) -> None:
        self.portal_input(page, "Verification Code").fill(code)
        self.portal_button(page, "Next").click()
        visible(page, f'#portal input[placeholder="{self.confirm_placeholder}"]')

    def new_password(self, page: Page, password: str) -> None:
        self.portal_input(page, "Password").fill(password)
        self.portal_input(page, self.confirm_placeholder).fill(password)
        self.portal_button(page, "OK").click()
        self.activation_accepted(page)

    def notice(self, page: Page) -> Locator:
        return visible(page, "#portal .el-alert--success")

    # -- the real GUI's shape (issue 12), for both single-page generations

    def check_real_shape(self, page: Page, base: str, password: str, email: str) -> None:
        """Walk the GUI once and check what real firmware's GUI has and ours must too:
        `/` through login.asp to the portal, no data-* hooks, no ids on the login inputs or
        on buttons, a heartbeat once logged in, requests without X-Requested-With, XML as
        form-urlencoded text, JSON as application/json, security=1 once logged in."""
        requests: list[Any] = []
        page.on("request", lambda r: requests.append(r))
        navigated: list[str] = []
        page.on("framenavigated",
                lambda f: navigated.append(f.url) if f == page.main_frame else None)
        page.goto(base + "/", timeout=WAIT_MS)
        self.on_activation(page)
        assert any(re.search(r"/doc/page/login\.asp\?_\d+$", u) for u in navigated), navigated
        assert any(u.endswith("/doc/index.html#/portal/login") for u in navigated), navigated
        self.no_state_hooks(page)
        self.activate(page, password, password, email)
        self.after_activation(page, password, email)
        self.no_state_hooks(page)
        ids = page.eval_on_selector_all("#portal .login-input input", "els => els.map(e => e.id)")
        assert ids == ["", ""], ids
        beats = len(self.heartbeats(requests))
        self.login(page, password)
        self.wait_logged_in(page)
        self.wait_until(page, lambda: len(self.heartbeats(requests)) > beats,
                        "a heartbeat after login")
        self.no_state_hooks(page)
        self.set_reserved_email(page, password, "shape." + email)
        self.no_state_hooks(page)
        self.logout(page)
        self.forgot_to_qr(page)
        self.no_state_hooks(page)
        isapi = [r for r in requests if "/ISAPI/" in r.url or "/SDK/" in r.url]
        marked = [r.url for r in isapi if "x-requested-with" in r.headers]
        assert not marked, marked
        xml_sent = [r for r in isapi if r.post_data and r.post_data.lstrip().startswith("<")]
        assert xml_sent and all(r.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded") for r in xml_sent), [r.url for r in xml_sent]
        json_sent = [r for r in isapi if r.post_data and r.post_data.lstrip().startswith("{")]
        assert json_sent and all(r.headers.get("content-type", "").startswith(
            "application/json") for r in json_sent), [r.url for r in json_sent]
        secured = [r.url for r in json_sent if "/email/parameter" in r.url
                   and re.search(r"\?format=json\?security=1&iv=[0-9a-f]{32}$", r.url)]
        assert secured, [r.url for r in json_sent]

    def check_heartbeat_rhythm(self, page: Page, base: str, password: str) -> None:
        """A heartbeat every 30 s while logged in; six failed beats and the GUI leaves for
        its login page (the browser's clock is driven, not waited for)."""
        requests: list[Any] = []
        page.on("request", lambda r: requests.append(r))
        page.clock.install()
        self.open_activation(page, base)
        self.activate(page, password, password, "beat.owner@example.com")
        self.after_activation(page, password, "beat.owner@example.com")
        self.login(page, password)
        self.wait_logged_in(page)
        self.wait_until(page, lambda: len(self.heartbeats(requests)) > 0, "the first heartbeat")
        page.route("**/ISAPI/Security/sessionHeartbeat", lambda route: route.fulfill(status=500))
        for beat in range(6):
            assert "#/portal/login" not in page.url, f"left after {beat} failed beats"
            before = len(self.heartbeats(requests))
            page.clock.run_for(30_000)
            self.wait_until(page, lambda n=before: len(self.heartbeats(requests)) > n,
                            "the heartbeat 30 s later")
        page.wait_for_url("**/doc/index.html#/portal/login", timeout=WAIT_MS)

    @staticmethod
    def no_state_hooks(page: Page) -> None:
        """No data-* attribute anywhere in the live page, and no button tagged with an id."""
        hooks = page.evaluate(
            "() => Array.from(document.querySelectorAll('*')).flatMap(e => Array.from("
            "e.attributes).filter(a => a.name.startsWith('data-')).map(a => e.tagName + ' ' "
            "+ a.name))")
        assert not hooks, hooks
        tagged = page.eval_on_selector_all("button[id], .el-button[id]",
                                           "els => els.map(e => e.id)")
        assert not tagged, tagged

    @staticmethod
    def heartbeats(requests: list[Any]) -> list[Any]:
        return [r for r in requests if r.method == "PUT" and "/sessionHeartbeat" in r.url]

    @staticmethod
    def wait_until(page: Page, check: Any, what: str) -> None:
        # Through Playwright's own wait: the sync API delivers page events (the requests
        # `check` counts) only while a Playwright call runs.
        for _ in range(WAIT_MS // 50):
            if check():
                return
            page.wait_for_timeout(50)
        raise AssertionError(f"no {what} within {WAIT_MS / 1000:g} s")

    SERVED = ("/doc/page/login.asp", "/doc/index.html", "/doc/static/profile.js",
              "/common/portal.js", "/common/hik.js", "/common/portal.css")

    @classmethod
    def check_served_files(cls, base: str) -> None:
        """The GUI's files as served hold no data-* attribute (comments aside) and no
        button with an id; the login page only sends the browser on."""
        with httpx.Client(base_url=base, timeout=WAIT_MS / 1000) as client:
            for path in cls.SERVED:
                answer = client.get(path)
                assert answer.status_code == 200, (path, answer.status_code)
                code = re.sub(r"/\*.*?\*/|^\s*//.*$", "", answer.text, flags=re.S | re.M)
                assert not re.search(r"data-[a-z]", code), path
                assert not re.search(r"<button[^>]*\sid=", code), path
            asp = client.get("/doc/page/login.asp").text
            assert '"/doc/index.html#/portal/login"' in asp, asp


class ClassicGui:
    """The classic camera GUI (login.asp, pwdReset.asp, config.asp), driven by its real ids
    (#username, #password, #active, #activePassword, #qaDialog2), roles and texts; popups
    are found by what they hold, their OK/Cancel buttons by text."""

    activation_path = "/doc/page/login.asp"
    protected_path = "/doc/page/config.asp"
    levels = ("Risky", "Weak", "Medium", "Strong")  # bar level = index
    login_url = re.compile(r"/doc/page/login\.asp(\?_\d+)?$")

    def dialog(self, page: Page, inner: str) -> Locator:
        return page.locator(f"[role=dialog]:has({inner})")

    def press(self, scope: Locator, name: str) -> None:
        scope.get_by_role("button", name=name, exact=True).click()

    def dismiss_alert(self, page: Page) -> None:
        alert = page.get_by_role("alertdialog")
        if alert.count():
            self.press(alert, "OK")
            expect(alert).to_have_count(0, timeout=WAIT_MS)

    def open_activation(self, page: Page, base: str) -> None:
        page.goto(base + "/", timeout=WAIT_MS)
        self.on_activation(page)

    def on_activation(self, page: Page) -> None:
        page.wait_for_url(self.login_url, timeout=WAIT_MS)
        visible(page, "#active")

    def strength(self, page: Page, password: str) -> str:
        page.fill("#activePassword", password)
        word = page.locator("#active .userstrength")
        expect(word).to_have_text(re.compile(r"^(Risky|Weak|Medium|Strong)$"), timeout=WAIT_MS)
        return str(self.levels.index(word.inner_text().strip()))

    def activate(self, page: Page, password: str, confirm: str, email: str | None) -> None:
        self.dismiss_alert(page)
        page.fill("#activePassword", password)
        page.locator("#active input[type=password]").nth(1).fill(confirm)
        self.press(self.dialog(page, "#active"), "OK")

    def activation_error(self, page: Page) -> Locator:
        return visible(page, "[role=alertdialog] p")

    def activation_accepted(self, page: Page) -> None:
        visible(page, "#qaDialog2")

    def no_email_option_before_activation(self, page: Page) -> None:
        """The camera asks for reset methods only after activation."""

    def after_activation_without_email(self, page: Page) -> None:
        self.wait_logged_in(page)  # no reset-method dialog in between
        self.logout(page)

    def offered_reset_methods(self, page: Page) -> list[str]:
        page.get_by_role("link", name="Forget Password").click()
        visible(page, "role=heading[name='Select a password reset mode']")
        values: list[str] = page.eval_on_selector_all(
            "input[type=radio]", "els => els.map(e => e.value)")
        return values

    def after_activation(self, page: Page, password: str, email: str) -> None:
        self.activation_accepted(page)
        methods = self.dialog(page, "#qaDialog2")
        self.press(methods, "OK")  # no method yet: refused with a modal alert
        expect(page.get_by_role("alertdialog").locator("p")).to_have_text(
            "Set at least one password reset method.", timeout=WAIT_MS)
        self.dismiss_alert(page)
        expect(page.get_by_role("tab", name="Reserved E-mail")).to_have_attribute(
            "aria-selected", "true")
        page.fill("#qaDialog2 input[type=text]", email)
        self.press(methods, "OK")
        page.wait_for_url("**/doc/page/preview.asp", timeout=WAIT_MS)
        self.logout(page)

    def login_form_ready(self, page: Page, base: str) -> None:
        page.goto(base + "/doc/page/login.asp", timeout=WAIT_MS)
        visible(page, "#username")

    def login(self, page: Page, password: str) -> None:
        self.dismiss_alert(page)
        visible(page, "#username").fill("admin")  # the GUI empties it after a refusal
        page.fill("#password", password)
        page.get_by_role("button", name="Login", exact=True).click()

    def login_error(self, page: Page) -> Locator:
        # An inline tip (attempts left, cookies), or the modal alert of a locked user.
        return visible(page, "[role=alertdialog] p:visible, .login-tip label:visible")

    def wait_logged_in(self, page: Page) -> None:
        page.wait_for_url("**/doc/page/preview.asp", timeout=WAIT_MS)
        visible(page, "role=link[name='Logout']")

    def set_reserved_email(self, page: Page, admin_password: str, email: str) -> None:
        page.get_by_role("link", name="Configuration", exact=True).click()
        page.wait_for_url("**/doc/page/config.asp", timeout=WAIT_MS)
        page.get_by_role("link", name="User Management", exact=True).click()
        page.get_by_role("button", name="Account Security Settings", exact=True).click()
        visible(page, "#qaDialog2 input[type=password]").fill(admin_password)
        page.fill("#qaDialog2 input[type=text]", email)
        self.press(self.dialog(page, "#qaDialog2"), "OK")
        visible(page, "text=Saved successfully.")

    def logout(self, page: Page) -> None:
        page.get_by_role("link", name="Logout", exact=True).click()
        page.wait_for_url(self.login_url, timeout=WAIT_MS)
        visible(page, "#username")

    def forgot_to_qr(self, page: Page) -> Locator:
        page.get_by_role("link", name="Forget Password").click()
        page.wait_for_url("**/doc/page/pwdReset.asp", timeout=WAIT_MS)
        visible(page, "input[type=radio][value=email]").check()
        page.get_by_role("button", name="Next", exact=True).click()
        visible(page, "role=heading[name='Privacy Notice']")
        page.get_by_role("checkbox").check()
        page.get_by_role("button", name="Next", exact=True).click()
        return visible(page, "img[alt='QR Code']")

    def export_link(self, page: Page) -> Locator:
        return visible(page, "role=link[name='Export']")

    def enter_wrong_code(self, page: Page, code: str) -> Locator:
        page.get_by_role("textbox").fill(code)
        page.get_by_role("button", name="Next", exact=True).click()
        return visible(page, "text=Incorrect verification code.")

    def enter_code(self, page: Page, code: str) -> None:
        page.get_by_role("textbox").fill(code)
        page.get_by_role("button", name="Next", exact=True).click()
        visible(page, "role=heading[name='Set New Password']")

    def new_password(self, page: Page, password: str) -> None:
        fields = page.locator("input[type=password]")
        fields.nth(0).fill(password)
        fields.nth(1).fill(password)
        page.get_by_role("button", name="OK", exact=True).click()
        page.wait_for_url(self.login_url, timeout=WAIT_MS)

    def notice(self, page: Page) -> Locator:
        return visible(page, "text=The password has been reset.")


class SpaGui(RecorderGui):
    """The camera web 5.x portal: no e-mail at activation, the Account Security dialog after."""

    confirm_placeholder = "Confirm"
    forgot_link = "Forget Password"
    email_method = "E-mail Verification"
    privacy_agree = "I have read and agree to the Privacy Policy"

    def activate(self, page: Page, password: str, confirm: str, email: str | None) -> None:
        super().activate(page, password, confirm, None)  # the camera asks after activation

    def activation_accepted(self, page: Page) -> None:
        expect(page.get_by_role("dialog", name="Account Security Settings")).to_be_visible(
            timeout=WAIT_MS)

    def no_email_option_before_activation(self, page: Page) -> None:
        """The camera asks for reset methods only after activation."""

    def after_activation_without_email(self, page: Page) -> None:
        self.wait_logged_in(page)  # no reset-method dialog in between
        self.logout(page)

    def after_activation(self, page: Page, password: str, email: str) -> None:
        self.activation_accepted(page)
        dialog = page.get_by_role("dialog", name="Account Security Settings")
        dialog.get_by_role("button", name="OK").click()  # no method yet: refused
        expect(dialog.locator(".el-alert--error")).to_have_text(
            "Set at least one password reset method.", timeout=WAIT_MS)
        dialog.get_by_placeholder("E-mail Address").fill(email)
        dialog.get_by_role("button", name="OK").click()
        self.wait_logged_in(page)
        self.logout(page)

    def open_user_page(self, page: Page) -> None:
        page.locator("#app").get_by_role("menuitem", name="Configuration").click()
        expect(page.locator("#tab-user")).to_be_visible(timeout=WAIT_MS)

    def set_reserved_email(self, page: Page, admin_password: str, email: str) -> None:
        self.open_user_page(page)
        page.locator("#app").get_by_role("link", name="Account Security Settings").first.click()
        dialog = page.get_by_role("dialog", name="Account Security Settings")
        expect(dialog).to_be_visible(timeout=WAIT_MS)
        dialog.get_by_placeholder("Admin Password").fill(admin_password)
        dialog.get_by_placeholder("E-mail Address").fill(email)
        dialog.get_by_role("button", name="OK").click()
        expect(page.locator(".el-message--success")).to_have_text("Saved successfully.",
                                                                  timeout=WAIT_MS)

    def logout(self, page: Page) -> None:
        page.locator("#app").get_by_role("button", name="Logout").click()
        RecorderGui.activation_accepted(self, page)

    def new_password(self, page: Page, password: str) -> None:
        self.portal_input(page, "Password").fill(password)
        self.portal_input(page, self.confirm_placeholder).fill(password)
        self.portal_button(page, "OK").click()
        RecorderGui.activation_accepted(self, page)


DRIVERS: dict[str, GuiDriver] = {
    "recorder": RecorderGui(), "camera-classic": ClassicGui(), "camera-spa": SpaGui(),
}
