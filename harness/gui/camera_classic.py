"""Classic camera GUI (IP cameras below V5.7.0, spec §2): `.asp` pages under `/doc/page/`.

`/` lands on `login.asp?_<ms>`; its app boots and draws `#username` and `#password`. On an
inactive camera the activation popup `#active` (`#activePassword`, its confirm, the
three-bar `.userstrength` meter) lies over the login box; after activation the camera asks
for a password reset method in Account Security Settings (`#qaDialog2`, tabs `#tabsQA`).
User management is Configuration → System → User Management → Account Security Settings
(the same `#qaDialog2`); the login page's *Forget Password* link opens `pwdReset.asp`.

Only what a real classic GUI has is used: those ids and class, roles (popups, tabs,
buttons, links, headings) and the GUI's own texts, from `TEXTS` (keys of
`/doc/i18n/<lang>/Common.json`, English). Popups' OK/Cancel carry no ids: they are found by
text inside the popup holding the known id. Refusals at activation and the user lock are
modal alerts, which a person closes with OK before going on; the pages here do that too.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar, Final

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from harness.errors import HarnessError
from harness.gui.base import GuiPage
from harness.gui.outcomes import ActivationOutcome, LoginOutcome
from harness.gui.pages import (
    CameraStyleActivation,
    ForgotPasswordPage,
    LoginPage,
    UserManagementPage,
)

# The GUI's texts these pages look for, by i18n key (Common.json), in English. Another
# language is another table with the same keys.
TEXTS: Final[Mapping[str, str]] = MappingProxyType({
    "ok": "OK",
    "cancel": "Cancel",
    "next": "Next",
    "login": "Login",
    "logout": "Logout",
    "config": "Configuration",
    "userManage": "User Management",
    "forgetPassword": "Forget Password",
    "inputUsername": "Please enter the user name.",
    "inputPassword": "Please enter the password.",
    "loginError": "Incorrect user name or password.",
    "cookieError": "Cookies are disabled in this browser. Enable cookies to log in.",
    "minute": "minute(s)",
    "seconds": "second(s)",
    "risky": "Risky",
    "weak": "Weak",
    "medium": "Medium",
    "strong": "Strong",
    "passNotMatch": "The passwords do not match.",
    "pwdIncludeUser": "The password cannot contain the user name.",
    "riskyInputPwd": "Risky password. Use 8 to 16 characters combining at least two of "
                     "numbers, lowercase, uppercase and special characters.",
    "paramError": "Invalid parameter. Check the value you entered.",
    "operationFailed": "Operation failed.",
    "notSupport": "This function is not supported by the device.",
    "sessionExpired": "Not logged in or the session has expired.",
    "reservedEmail": "Reserved E-mail",
    "accountSecurity": "Account Security Settings",
    "adminPwdError": "The admin password is incorrect.",
    "emailError": "Invalid e-mail address (up to 32 characters).",
    "saveSucceed": "Saved successfully.",
    "selectResetMode": "Select a password reset mode",
    "resetModeTip": "This mode is available with the SADP tool or the local console only.",
    "noResetMode": "No password reset mode is available. Contact your dealer.",
    "privacyTitle": "Privacy Notice",
    "privacyAgree": "I have read and agree to the privacy notice.",
    "emailVerify": "E-mail Verification",
    "qrCode": "QR Code",
    "export": "Export",
    "refresh": "Refresh",
    "inputVerifyCode": "Please enter the verification code.",
    "codeError": "Incorrect verification code.",
    "codeExpired": "The verification code is invalid or has expired. Get a new QR code.",
    "setNewPassword": "Set New Password",
    "resetPwdSucc": "The password has been reset. Log in with the new password.",
})

# Strength words → the catalogue's level names.
STRENGTH_WORDS: Final[Mapping[str, str]] = MappingProxyType({
    TEXTS["risky"]: "Risky", TEXTS["weak"]: "Weak",
    TEXTS["medium"]: "Medium", TEXTS["strong"]: "Strong",
})

# Shared pieces of the tables.
_ALERT: Final = "role=alertdialog"
_ALERT_MESSAGE: Final = "[role=alertdialog] p"
_ALERT_OK: Final = 'role=alertdialog >> role=button[name="{text:ok}"]'
_LOGGED_IN: Final = 'role=link[name="{text:logout}"]'
# The login box without the activation popup over it (an inactive camera shows both).
_LOGIN_FORM: Final = "body:not(:has(#active)) #username"
_LOGIN_ERRORS: Final = (
    ':is(:text("{text:loginError}"), :text("{text:cookieError}"), '
    ':text("{text:inputPassword}"), :text("{text:inputUsername}"))'
)


def dismiss_alert(page: GuiPage) -> None:
    """Close a modal alert left open by the last step, as a person presses its OK.

    Why: the classic GUI's refusals (activation, the reset-method dialog) and the user lock
    are modal alerts over the page; the next click would land on the alert's mask.
    """
    alert = page.el("alert").filter(visible=True)
    if page.blank() or not alert.count():
        return
    page.click("alert_ok", "the OK of the alert left open by the last step")
    try:
        alert.first.wait_for(state="detached", timeout=page.timeouts.step_ms)
    except PlaywrightTimeoutError:
        raise HarnessError(
            f"{page.target.name}: the alert did not close after OK ({page.describe('alert')}); "
            f"URL {page.page.url}"
        ) from None


class ClassicActivation(CameraStyleActivation):
    """The `#active` popup and the reset-method popup (`#qaDialog2`) after it."""

    texts: ClassVar[Mapping[str, str]] = TEXTS
    strength_words: ClassVar[Mapping[str, str]] = STRENGTH_WORDS
    selectors: ClassVar[Mapping[str, str]] = {
        "form": "#active",
        "password": "#activePassword",
        "confirm": "#active input[type=password] >> nth=1",
        "strength_label": "#active .userstrength",
        "submit": '[role=dialog]:has(#active) >> role=button[name="{text:ok}"]',
        "error": _ALERT_MESSAGE,
        "alert": _ALERT,
        "alert_ok": _ALERT_OK,
        "login_form": _LOGIN_FORM,
        "login_error": _LOGIN_ERRORS,
        "notice": ':text("{text:resetPwdSucc}")',
        "method_dialog": "#qaDialog2",
        "method_email_tab": '#tabsQA >> role=tab[name="{text:reservedEmail}"]',
        "method_email": "#qaDialog2 input[type=text]",
        "method_ok": '[role=dialog]:has(#qaDialog2) >> role=button[name="{text:ok}"]',
        "method_error": _ALERT_MESSAGE,
        "after_method": _LOGGED_IN,
    }

    def submit(
        self, password: str, confirm: str | None = None, email: str | None = None
    ) -> ActivationOutcome:
        dismiss_alert(self)
        return super().submit(password, confirm, email)

    def set_reset_email(self, email: str) -> ActivationOutcome:
        dismiss_alert(self)
        return super().set_reset_email(email)

    def refuse_without_method(self) -> str:
        dismiss_alert(self)
        return super().refuse_without_method()


class ClassicLogin(LoginPage):
    """The classic login page and the logged-in pages' header."""

    texts: ClassVar[Mapping[str, str]] = TEXTS
    selectors: ClassVar[Mapping[str, str]] = {
        "form": _LOGIN_FORM,
        "username": "#username",
        "password": "#password",
        "submit": 'role=button[name="{text:login}"]',
        "error": _LOGIN_ERRORS,
        "lock_alert": _ALERT_MESSAGE,
        "alert": _ALERT,
        "alert_ok": _ALERT_OK,
        "notice": ':text("{text:resetPwdSucc}")',
        "forgot": 'role=link[name="{text:forgetPassword}"]',
        "logged_in": _LOGGED_IN,
        "activation": "#active",
        "cookie_error": ':text("{text:cookieError}")',
        "logout": _LOGGED_IN,
    }

    def login(self, password: str) -> LoginOutcome:
        dismiss_alert(self)  # the lock alert of the previous attempt
        return super().login(password)

    def open_forgot_password(self) -> None:
        dismiss_alert(self)
        super().open_forgot_password()


class ClassicUserManagement(UserManagementPage):
    """Configuration → System → User Management → Account Security Settings."""

    texts: ClassVar[Mapping[str, str]] = TEXTS
    selectors: ClassVar[Mapping[str, str]] = {
        "config": 'role=link[name="{text:config}"]',
        "ready": 'role=link[name="{text:userManage}"]',
        "user_menu": 'role=link[name="{text:userManage}"]',
        "account_security": 'role=button[name="{text:accountSecurity}"]',
        "dialog": "#qaDialog2",
        "email_tab": '#tabsQA >> role=tab[name="{text:reservedEmail}"]',
        "admin_password": "#qaDialog2 input[type=password]",
        "email": "#qaDialog2 input[type=text]",
        "ok": '[role=dialog]:has(#qaDialog2) >> role=button[name="{text:ok}"]',
        "cancel": '[role=dialog]:has(#qaDialog2) >> role=button[name="{text:cancel}"]',
        "error": (
            '#qaDialog2 :is(:text("{text:adminPwdError}"), :text("{text:emailError}"), '
            ':text("{text:paramError}"), :text("{text:notSupport}"), '
            ':text("{text:sessionExpired}"), :text("{text:operationFailed}"))'
        ),
        "saved": ':text("{text:saveSucceed}")',
    }

    def open_email_dialog(self) -> None:
        self.click("user_menu", "System → User Management")
        self.click("account_security", "Account Security Settings")
        self.wait_visible("dialog", "the Account Security Settings dialog")
        self.click("email_tab", "email_tab")


class ClassicForgotPassword(ForgotPasswordPage):
    """pwdReset.asp: *E-mail Verification* → privacy → QR → verification code → new password."""

    texts: ClassVar[Mapping[str, str]] = TEXTS
    strength_words: ClassVar[Mapping[str, str]] = STRENGTH_WORDS
    selectors: ClassVar[Mapping[str, str]] = {
        "method_step": 'role=heading[name="{text:selectResetMode}"]',
        "methods": "input[type=radio]",
        "method_next": 'role=button[name="{text:next}"]',
        "method_hint": ':is(:text("{text:resetModeTip}"), :text("{text:noResetMode}"))',
        "privacy_step": 'role=heading[name="{text:privacyTitle}"]',
        "privacy_accept": 'role=checkbox[name="{text:privacyAgree}"]',
        "privacy_next": 'role=button[name="{text:next}"]',
        "qr_step": 'role=heading[name="{text:emailVerify}"]',
        "qr_image": 'role=img[name="{text:qrCode}"]',
        "qr_loaded": "img[src^='data:image']",  # plain CSS: the page's own querySelector
        "export": 'role=link[name="{text:export}"]',
        "refresh": 'role=button[name="{text:refresh}"]',
        "code": "role=textbox",
        "code_next": 'role=button[name="{text:next}"]',
        "code_error": (
            ':is(:text("{text:codeError}"), :text("{text:codeExpired}"), '
            ':text("{text:inputVerifyCode}"), :text("{text:notSupport}"), '
            ':text("{text:operationFailed}"))'
        ),
        "password_step": 'role=heading[name="{text:setNewPassword}"]',
        "password": "input[type=password] >> nth=0",
        "confirm": "input[type=password] >> nth=1",
        "strength_label": ".userstrength",
        "ok": 'role=button[name="{text:ok}"]',
        "error": (
            ':is(:text("{text:passNotMatch}"), :text("{text:pwdIncludeUser}"), '
            ':text("{text:riskyInputPwd}"), :text("{text:codeError}"), '
            ':text("{text:codeExpired}"), :text("{text:paramError}"), '
            ':text("{text:operationFailed}"))'
        ),
        "done": ':text("{text:resetPwdSucc}")',
        # Where a bookmarked wizard lands on an inactive device (spec §2): activation.
        "activation": "#active",
    }
    direct_path: ClassVar[str] = "/doc/page/pwdReset.asp"
