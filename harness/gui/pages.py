"""The pages every GUI generation has, written once against logical element names.

Each generation module (recorder, camera_classic, camera_spa) subclasses these with its
selector table and overrides only the steps that really differ: where the reserved e-mail
is asked for at activation, and how user management is reached.

Long (~600 lines) on purpose: the four shared pages are the base every generation module
subclasses, and one file keeps their shared steps and overrides side by side.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar, Final

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from harness.catalogue import ADMIN_USER
from harness.errors import DeviceError, HarnessError, ProductDefect
from harness.gui.base import GuiPage, attempts_in, duration_in, first_line
from harness.gui.outcomes import (
    ActivationOutcome,
    CodeOutcome,
    CodeResult,
    EmailOutcome,
    LoginOutcome,
    LoginResult,
    ResetOutcome,
)
from harness.gui.recognise import recognise

MISMATCH_ACCEPTED: Final = "the device accepted a mismatched confirm password"
# The ISAPI calls whose answers the pages wait for (DEVICE-SPEC §10), as URL patterns; a
# generation's class may override its `answers` table.
ACTIVATE_ANSWER: Final = r"/ISAPI/System/activate\b"
LOGIN_ANSWER: Final = r"/ISAPI/Security/(sessionLogin|userCheck)(\?|$)"
EMAIL_ANSWER: Final = r"/ISAPI/Security/email/parameter\b"
CODE_ANSWER: Final = r"/ISAPI/Security/emailCertification\b"


ACTIVATION_STATUS_ANSWER: Final = r"/SDK/activateStatus\b"


def open_entry(page: GuiPage) -> None:
    """Load the device's `/`, recognise its GUI generation, and wait for the GUI's own
    question whether the device is active, whose answer decides between the activation
    form and the login page.

    Why: a GUI draws its login box as it boots and lays the activation form over it only
    once the device answered; a page read before that answer looks like an active
    device's. DeviceError when the GUI never asks (the `activation_status` answer of the
    page's table, `/SDK/activateStatus` by default).
    """
    pattern = re.compile(page.answers.get("activation_status", ACTIVATION_STATUS_ANSWER))
    try:
        with page.page.expect_response(lambda r: bool(pattern.search(r.url)),
                                       timeout=page.timeouts.page_load_ms) as info:
            recognise(page.page, page.target, page.timeouts)
        info.value.finished()
    except PlaywrightTimeoutError:
        raise DeviceError(
            f"{page.target.name}: the {page.target.generation} GUI at {page.page.url} never "
            f"asked whether the device is active ({pattern.pattern}) within "
            f"{page.timeouts.page_load:g} s"
        ) from None
    page.settle()


def _require_option(page: GuiPage, name: str, where: str) -> None:
    """ProductDefect naming the reserved-e-mail control `name` when the catalogue expects
    it at this firmware and the (recognised) page does not show it."""
    if not page.target.reserved_email_expected:
        return
    if page.has(name) and page.el(name).count():
        return
    raise ProductDefect(
        f"{page.target.name}: no reserved-e-mail option {where} ({page.target.generation} "
        f"GUI, {page.page_name} page, {name}"
        f"{' ' + repr(page.sel(name)) if page.has(name) else ''}), which the catalogue "
        "expects at this firmware"
    )


# --- activation -----------------------------------------------------------------------------


class ActivationPage(GuiPage):
    """The activation form of an inactive device (spec §2, §3).

    Selectors: form, password, confirm, strength_label (the meter's level text), submit,
    error, login_form (shown instead on an active device), done (shown once activated).
    Answer: activate (the activation PUT).
    """

    page_name = "activation"
    entry_path: ClassVar[str] = "/"
    answers: ClassVar[Mapping[str, str]] = {"activate": ACTIVATE_ANSWER}

    def open(self) -> None:
        """Load the device's entry page and wait for the activation form.

        HarnessError when the device is already active (the GUI shows the login page):
        the caller asked for a state the device is not in.
        """
        if self.showing("form"):
            return
        open_entry(self)
        shown = self.wait_any(["form", "login_form"], "activation form or login page")
        if shown == "login_form":
            raise HarnessError(
                f"{self.target.name} is already active: its GUI shows the login page, not "
                "the activation form (bring it to the inactive state first)"
            )

    def strength_for(self, password: str) -> str:
        """Type `password` into *Create New Password* and read the live strength bar."""
        return self.read_strength("password", password, "strength_label")

    def submit(
        self, password: str, confirm: str | None = None, email: str | None = None
    ) -> ActivationOutcome:
        """Fill the form, press OK, and report what the GUI showed.

        A mismatched `confirm` must be refused by the GUI before anything is sent (spec §4);
        a device that activates anyway raises `ProductDefect`.
        """
        confirm = password if confirm is None else confirm
        self.fill("password", password, "the new-password field")
        self.fill("confirm", confirm, "confirm")
        self.enter_email(email)
        refused = self.click_for_answer_or("submit", "submit", "activate", ["error"])
        shown = refused or self.wait_any(self.outcome_elements(), "the answer to activation")
        if shown == "error":
            return ActivationOutcome(activated=False, message=self.text_of("error"))
        if confirm != password:
            raise ProductDefect(
                f"{self.target.name}: {MISMATCH_ACCEPTED} at activation "
                f"({self.target.generation} GUI)"
            )
        return self.after_activation(shown, email)

    def outcome_elements(self) -> list[str]:
        """Elements one of which shows once the device answered the activation."""
        return ["done", "error"]

    def enter_email(self, email: str | None) -> None:
        """Give the reserved e-mail on the activation form (generations that ask there)."""

    def after_activation(self, shown: str, email: str | None) -> ActivationOutcome:
        """What follows a successful activation in this generation."""
        return ActivationOutcome(activated=True)


class RecorderStyleActivation(ActivationPage):
    """Activation with the *Reserved E-mail Settings* checkbox on the form itself.

    Extra selectors: email_enable, email, notice (the login page's notice after activation).
    """

    def enter_email(self, email: str | None) -> None:
        if email is None:
            return
        _require_option(self, "email_enable", "on the activation form")
        self.set_checked("email_enable", True, "email_enable")
        self.fill("email", email, "the reserved e-mail field")

    def after_activation(self, shown: str, email: str | None) -> ActivationOutcome:
        self.wait_visible("notice", "the notice after activation")
        return ActivationOutcome(
            activated=True, message=self.text_of("notice"), email_reserved=email is not None
        )


class CameraStyleActivation(ActivationPage):
    """Activation followed by the *password reset method* dialog (spec §2 cameras).

    Extra selectors: method_dialog, method_email_tab (optional), method_email,
    method_email_check (optional), method_ok, method_error, after_method (shown once the
    method is saved), login_form. Answers: activate, email (the reserved address's PUT).
    """

    answers: ClassVar[Mapping[str, str]] = {"activate": ACTIVATE_ANSWER, "email": EMAIL_ANSWER}

    def outcome_elements(self) -> list[str]:
        # Firmware without the reserved e-mail skips the dialog. Not the login form: the
        # classic activation is a modal over it, so it shows before and after.
        return ["method_dialog", "after_method", "error"]

    def after_activation(self, shown: str, email: str | None) -> ActivationOutcome:
        if shown == "after_method":
            return ActivationOutcome(
                activated=True,
                message="" if email is None else "no password reset method dialog was shown",
            )
        if shown == "login_form":
            return ActivationOutcome(
                activated=True, message=self.text_of("login_error") or self.text_of("notice")
            )
        if email is None:
            return ActivationOutcome(activated=True, reset_method_pending=True)
        return self.set_reset_email(email)

    def set_reset_email(self, email: str) -> ActivationOutcome:
        """Fill the reset-method dialog's e-mail and press OK."""
        if self.has("method_email_tab"):
            self.click("method_email_tab", "the e-mail tab of the reset-method dialog")
        _require_option(self, "method_email", "in the reset-method dialog")
        if self.has("method_email_check"):
            self.set_checked("method_email_check", True, "method_email_check")
        self.fill("method_email", email, "the reset-method e-mail field")
        refused = self.click_for_answer_or("method_ok", "method_ok", "email", ["method_error"])
        shown = refused or self.wait_any(
            ["after_method", "method_error"], "the answer to the reset method"
        )
        if shown == "method_error":
            return ActivationOutcome(
                activated=True, message=self.text_of("method_error"), reset_method_pending=True
            )
        return ActivationOutcome(activated=True, email_reserved=True)

    def refuse_without_method(self) -> str:
        """Press OK on the reset-method dialog with no method; the refusal it shows.

        The dialog must stay open (spec §2); a dialog that closes is a `ProductDefect`.
        """
        self.wait_visible("method_dialog", "the reset-method dialog")
        if self.has("method_email_check"):
            self.set_checked("method_email_check", False, "method_email_check")
        else:
            self.fill("method_email", "", "method_email")
        self.click("method_ok", "method_ok")
        shown = self.wait_any(["method_error", "after_method"], "the reset-method refusal")
        if shown != "method_error" or not self.showing("method_dialog"):
            raise ProductDefect(
                f"{self.target.name}: the password reset method dialog closed although no "
                "method was set"
            )
        return self.text_of("method_error")


# --- login ----------------------------------------------------------------------------------


class LoginPage(GuiPage):
    """The login page (spec §5) and the header of the logged-in pages.

    Selectors: form, username (optional; filled with admin), password, submit, error,
    cookie_error (optional: the GUI's own refusal of a browser without cookies),
    lock_alert (optional: the modal a camera shows for a locked account), notice, forgot,
    logged_in (a mark of the first page after login), activation (shown instead on an
    inactive device), logout. Answer: login (session login or userCheck).
    """

    page_name = "login"
    entry_path: ClassVar[str] = "/"
    answers: ClassVar[Mapping[str, str]] = {"login": LOGIN_ANSWER}
    # How a message says the account is locked when no lock dialog shows it.
    lock_pattern: ClassVar[re.Pattern[str]] = re.compile(
        r"\block(ed)?\b|try again (in|after)", re.IGNORECASE
    )

    def open(self) -> None:
        """Load the device's entry page and wait for the login form.

        HarnessError when the device is inactive (the GUI shows the activation form).
        """
        if self.showing("form"):
            return
        open_entry(self)
        shown = self.wait_any(["form", "activation"], "login form or activation form")
        if shown == "activation":
            raise HarnessError(
                f"{self.target.name} is not activated: its GUI shows the activation form "
                "instead of the login page"
            )

    def notice(self) -> str:
        """The notice above the form (after activation or a reset), '' when none."""
        return self.text_of("notice")

    def login(self, password: str) -> LoginOutcome:
        """Log in as admin with `password`; what the GUI showed. Never retried."""
        self.open()
        if self.has("username"):
            self.fill("username", ADMIN_USER, "the user name field")
        self.fill("password", password, "password")
        # The GUI itself refuses a browser without cookies, before asking the device (§2).
        refused = self.click_for_answer_or("submit", "submit", "login", ["cookie_error"])
        if refused is not None:
            return LoginOutcome(LoginResult.NO_COOKIES, self.text_of(refused))
        shown = self.wait_any(["logged_in", "lock_alert", "error"], "the answer to the login")
        if shown == "logged_in":
            return LoginOutcome(result=LoginResult.OK)
        return self.read_refusal(self.text_of(shown), lock_dialog=shown == "lock_alert")

    def read_refusal(self, message: str, *, lock_dialog: bool = False) -> LoginOutcome:
        """What a refused login's message says: locked (a lock dialog, or the lock's
        wording), rejected with attempts left, or another error."""
        attempts = attempts_in(message)
        if lock_dialog or (attempts is None and self.lock_pattern.search(message)):
            return LoginOutcome(LoginResult.LOCKED, message, attempts, duration_in(message))
        if attempts is not None:
            return LoginOutcome(LoginResult.REJECTED, message, attempts)
        return LoginOutcome(LoginResult.ERROR, message)

    def is_logged_in(self) -> bool:
        """Whether the current page is a logged-in page (its logout button shows)."""
        return self.showing("logout")

    def logout(self) -> None:
        """Press *Logout* and wait for the login page; nothing to do when not logged in."""
        if not self.is_logged_in():
            return
        self.click("logout", "logout")
        self.wait_visible("form", "the login page after logout")

    def open_forgot_password(self) -> None:
        """Click the *Forgot Password* link of the login page."""
        self.open()
        self.click("forgot", "the forgot-password link")


# --- user management ------------------------------------------------------------------------


class UserManagementPage(GuiPage):
    """Where the reserved e-mail is changed after activation (spec §2, §6).

    Selectors: config (the Configuration menu of the logged-in header), ready (the
    configuration page's mark), dialog, admin_password, email, email_enable (optional
    checkbox), ok, error, saved (the notice after saving). Answer: email. Generations
    override `open_email_dialog` with their menu path.
    """

    page_name = "user management"
    answers: ClassVar[Mapping[str, str]] = {"email": EMAIL_ANSWER}

    def open(self) -> None:
        """From a logged-in page, click *Configuration* and wait for the configuration page.

        Why by the menu and not by URL: a logged-out browser that loads a configuration
        URL may be kept waiting by the device instead of being sent to login. Nothing to
        do while the e-mail dialog is still open (after a refused attempt).
        """
        if self.dialog_open():
            return
        self.click("config", "the Configuration menu (logged in?)")
        self.wait_visible("ready", "the configuration page")

    def dialog_open(self) -> bool:
        """Whether the reserved e-mail dialog is showing."""
        return self.showing("dialog")

    def open_email_dialog(self) -> None:
        """Click through the menus to the dialog holding the reserved e-mail."""
        raise NotImplementedError

    def reserve(self, email: str, admin_password: str) -> EmailOutcome:
        """Save `email` as the reserved address, confirming with the admin password."""
        if not self.dialog_open():
            self.open_email_dialog()
        self.fill("admin_password", admin_password, "the admin password field")
        _require_option(self, "email", "in user management")
        if self.has("email_enable"):
            self.set_checked("email_enable", True, "email_enable")
        self.fill("email", email, "the reserved e-mail field")
        refused = self.click_for_answer_or("ok", "ok", "email", ["error"])
        shown = refused or self.wait_any(
            ["saved", "error"], "the answer to saving the reserved e-mail"
        )
        if shown == "saved":
            return EmailOutcome(saved=True, message=self.text_of("saved"))
        message = self.text_of("error")
        return EmailOutcome(saved=False, message=message, attempts_left=attempts_in(message))


# --- forgot password ------------------------------------------------------------------------


class ForgotPasswordPage(GuiPage):
    """The *Forgot Password* wizard (spec §7): method → privacy → QR and code → new password.

    Selectors: method_step, methods (the method options), method_email (optional: the
    reserved-e-mail option itself), method_next, method_hint, privacy_step, privacy_accept,
    privacy_next, qr_step, qr_image, qr_loaded, export, refresh, code, code_next,
    code_error, password_step, password, confirm, strength_label, ok, error, done (the
    login page's notice once the password is set). Answer: code (emailCertification).
    """

    page_name = "forgot password"
    answers: ClassVar[Mapping[str, str]] = {"code": CODE_ANSWER}
    # Radio value → the normalised method names suites use.
    method_names: ClassVar[dict[str, str]] = {
        "email": "reserved_email",
        "question": "security_question",
        "guid": "guid",
    }
    expired_pattern: ClassVar[re.Pattern[str]] = re.compile(r"expired|invalid", re.IGNORECASE)

    # The wizard's own address, as a person's bookmark holds it.
    direct_path: ClassVar[str] = ""

    def wait_ready(self) -> None:
        """Wait for the first step, the choice of reset method."""
        self.wait_visible("method_step", "the reset-method step")

    def open_directly(self) -> str:
        """Load the wizard's own address, not through the login page's link: `wizard`
        when its first step shows, `activation` when the GUI sent the browser to the
        activation form (what spec §2 asks of an inactive device)."""
        if not self.direct_path:
            raise HarnessError(f"{self.target.generation}: no address of the reset wizard known")
        self.page.goto(self.target.url(self.direct_path), timeout=self.timeouts.page_load_ms)
        shown = self.wait_any(["method_step", "activation"],
                              "the reset wizard or the activation form")
        return "wizard" if shown == "method_step" else "activation"

    def methods(self) -> list[str]:
        """The reset methods offered, normalised (`reserved_email`, `security_question`, ...)."""
        self.wait_ready()
        names: list[str] = []
        # The option's value where it has one (a radio), else its visible text; the
        # reserved-e-mail option is also recognised by its own selector when the table
        # has one.
        for option in self.el("methods").filter(visible=True).all():
            key = (option.get_attribute("value", timeout=self.timeouts.step_ms) or "").strip()
            key = key or option.inner_text(timeout=self.timeouts.step_ms).strip()
            if key:
                names.append(self.method_names.get(key, key))
        if self.has("method_email") and self.el("method_email").filter(visible=True).count():
            names.append("reserved_email")
        return list(dict.fromkeys(names))

    def method_hint(self) -> str:
        """The hint under the methods ('No password reset mode is available...'), or ''."""
        return self.text_of("method_hint")

    def choose_reserved_email(self) -> None:
        """Choose the reserved e-mail method and go on to the privacy notice.

        ProductDefect when the device does not offer it: suites choose it only where the
        catalogue expects it.
        """
        offered = self.methods()
        if "reserved_email" not in offered:
            raise ProductDefect(
                f"{self.target.name}: the Forgot Password page does not offer the reserved "
                f"e-mail method (offered: {', '.join(offered) or 'nothing'}"
                f"{'; ' + self.method_hint() if self.method_hint() else ''})"
            )
        if self.has("method_email"):
            self.click("method_email", "the reserved-e-mail option")
        else:
            value = next(v for v, n in self.method_names.items() if n == "reserved_email")
            self.page.locator(f"{self.sel('methods')}[value='{value}']").first.check(
                timeout=self.timeouts.step_ms
            )  # offered, so present: methods() read it a moment ago
        self.click("method_next", "method_next")
        shown = self.wait_any(["privacy_step", "method_hint"], "the privacy notice")
        if shown == "method_hint":
            raise ProductDefect(
                f"{self.target.name}: choosing the reserved e-mail method was refused: "
                f"{self.text_of('method_hint')}"
            )

    def accept_privacy_notice(self) -> None:
        """Tick the privacy notice, go on, and wait for the reset QR to show.

        *Next* must refuse until the notice is accepted; a QR that does not load (the
        device refused it) is a `ProductDefect` with the GUI's message.
        """
        self.wait_visible("privacy_step", "the privacy notice")
        if self.el("privacy_next").first.is_enabled():
            raise ProductDefect(
                f"{self.target.name}: the privacy notice's Next is enabled before the notice "
                "was accepted"
            )
        self.set_checked("privacy_accept", True, "privacy_accept")
        self.click("privacy_next", "privacy_next")
        self.wait_visible("qr_step", "the QR and verification code step")
        shown = self.wait_any(["qr_loaded", "code_error"], "the reset QR image")
        if shown == "code_error":
            raise ProductDefect(
                f"{self.target.name}: no reset QR code was shown: {self.text_of('code_error')}"
            )
        self._wait_qr_decoded()

    def _wait_qr_decoded(self) -> None:
        # Through an element handle: the table's selector is Playwright's, which
        # document.querySelector cannot read.
        try:
            image = self.el("qr_loaded").filter(visible=True).first
            handle = image.element_handle(timeout=self.timeouts.step_ms)
            self.page.wait_for_function(
                "i => i.isConnected && i.complete && i.naturalWidth > 0",
                arg=handle,
                timeout=self.timeouts.step_ms,
            )
        except PlaywrightTimeoutError:
            raise ProductDefect(
                f"{self.target.name}: the reset QR image did not render within "
                f"{self.timeouts.step:g} s"
            ) from None

    def qr_png(self) -> bytes:
        """A screenshot of the QR image, as a phone camera would see it."""
        self._wait_qr_decoded()
        return bytes(self.el("qr_loaded").first.screenshot(timeout=self.timeouts.step_ms))

    def qr_source(self) -> str:
        """The QR image's current `src` (to notice a refresh)."""
        return self.el("qr_loaded").first.get_attribute("src", timeout=self.timeouts.step_ms) or ""

    def export_png(self) -> bytes:
        """Click *Export* and return the downloaded file's bytes."""
        self._wait_qr_decoded()
        try:
            with self.page.expect_download(timeout=self.timeouts.download_ms) as info:
                self.click("export", "export")
            download = info.value
            failure = download.failure()
            if failure:
                raise ProductDefect(f"{self.target.name}: the QR export failed: {failure}")
            return Path(download.path()).read_bytes()
        except PlaywrightTimeoutError:
            raise ProductDefect(
                f"{self.target.name}: clicking Export gave no download within "
                f"{self.timeouts.download:g} s"
            ) from None
        except PlaywrightError as exc:
            raise DeviceError(
                f"{self.target.name}: the QR export download broke off ({first_line(exc)})"
            ) from None

    def refresh_qr(self) -> None:
        """Click *Refresh* and wait until a new QR is shown (the old one is void)."""
        before = self.qr_source()
        self.click("refresh", "refresh")
        try:
            expect(self.el("qr_loaded").filter(visible=True).first).not_to_have_attribute(
                "src", before, timeout=self.timeouts.step_ms
            )
        except AssertionError:
            raise ProductDefect(
                f"{self.target.name}: Refresh did not show a new QR code within "
                f"{self.timeouts.step:g} s"
            ) from None
        self._wait_qr_decoded()

    def enter_code(self, code: str) -> CodeOutcome:
        """Key in the verification code and press *Next*; what the GUI answered."""
        self.fill("code", code, "the verification code field")
        self.click_for_answer("code_next", "code_next", "code")
        shown = self.wait_any(["password_step", "code_error"], "the answer to the code")
        if shown == "password_step":
            return CodeOutcome(CodeResult.ACCEPTED)
        message = self.text_of("code_error")
        attempts = attempts_in(message)
        if attempts is not None:
            return CodeOutcome(CodeResult.REJECTED, message, attempts)
        if self.expired_pattern.search(message):
            return CodeOutcome(CodeResult.EXPIRED, message)
        return CodeOutcome(CodeResult.ERROR, message)

    def strength_for(self, password: str) -> str:
        """Type `password` into *New Password* and read the live strength bar."""
        return self.read_strength("password", password, "strength_label")

    def set_new_password(self, password: str, confirm: str | None = None) -> ResetOutcome:
        """Fill *New Password* and *Confirm*, press OK; done when back at the login page.

        A mismatched `confirm` must be refused before anything is sent (spec §4); a device
        that sets the password anyway raises `ProductDefect`.
        """
        confirm = password if confirm is None else confirm
        self.fill("password", password, "the new-password field")
        self.fill("confirm", confirm, "confirm")
        refused = self.click_for_answer_or("ok", "ok", "code", ["error"])
        shown = refused or self.wait_any(["done", "error"], "the answer to the new password")
        if shown == "error":
            return ResetOutcome(done=False, message=self.text_of("error"))
        if confirm != password:
            raise ProductDefect(
                f"{self.target.name}: {MISMATCH_ACCEPTED} when setting the new password"
            )
        return ResetOutcome(done=True, message=self.text_of("done"))


__all__ = [
    "ACTIVATE_ANSWER",
    "ACTIVATION_STATUS_ANSWER",
    "CODE_ANSWER",
    "EMAIL_ANSWER",
    "LOGIN_ANSWER",
    "MISMATCH_ACCEPTED",
    "ActivationPage",
    "CameraStyleActivation",
    "ForgotPasswordPage",
    "LoginPage",
    "RecorderStyleActivation",
    "UserManagementPage",
    "open_entry",
]
