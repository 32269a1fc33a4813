"""Recorder GUI (DVR and NVR web GUI 5.x, spec §2): a single-page app at `/doc/index.html`.

`/` lands on `#/portal/login` through `/doc/page/login.asp`. The portal (`#portal`) holds
login, activation (with the *Reserved E-mail* checkbox) and the Forgot Password wizard;
the logged-in app (`#app`) has the user menu (the user name opens a drop-down with
*Logout*) and Configuration → System → User → admin's *Edit* (*Old Password*, *Reserved
E-mail Settings*). Controls are found by placeholder, role and the GUI's own texts, and by
the element-ui classes the real build has; never by an id a real dialog lacks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Final

from harness.gui.pages import (
    ForgotPasswordPage,
    LoginPage,
    RecorderStyleActivation,
    UserManagementPage,
)

# The portal's words the recorder's and the camera SPA's GUI share.
PORTAL_TEXTS: Final[Mapping[str, str]] = {
    "logout": "Logout",
    "admin": "admin",
    "strengthRisky": "Risky password.",
    "strengthWeak": "Weak",
    "strengthMedium": "Medium",
    "strengthStrong": "Strong",
    "cookieError": "Cookies are disabled in this browser. Enable cookies to log in.",
}

# The recorder's English texts, keyed by its i18n keys (another language: another table).
TEXTS: Final[Mapping[str, str]] = {
    "login": "Login",
    "userName": "User Name",
    "password": "Password",
    "forgotPassword": "Forgot Password?",
    "activation": "Activation",
    "newPassword": "Password",
    "confirmPassword": "Confirm Password",
    "reservedEmail": "Reserved E-mail",
    "emailAddress": "E-mail Address",
    "ok": "OK",
    "cancel": "Cancel",
    "next": "Next",
    "methodEmail": "Verify by Reserved Email",
    "privacyAgree": "I have read and agree to the Privacy Statement",
    "qrCode": "QR Code",
    "exportQr": "Export",
    "refresh": "Refresh",
    "verificationCode": "Verification Code",
    "configuration": "Configuration",
    "menuUser": "User",
    "edit": "Edit",
    "editUser": "Edit User",
    "oldPassword": "Old Password",
    "reservedEmailSettings": "Reserved E-mail Settings",
    **PORTAL_TEXTS,
}

# Shared by the recorder and camera-spa tables: the portal's parts by element-ui class.
PORTAL_ERROR: Final = "#portal .el-alert--error"
PORTAL_NOTICE: Final = "#portal .el-alert--success"
LOGIN_FORM: Final = "#portal .el-form:has(.login-btn)"
STRENGTH_LABEL: Final = (
    '#portal :text-matches("^({text:strengthRisky}|{text:strengthWeak}|'
    '{text:strengthMedium}|{text:strengthStrong})$")'
)
APP_MENU: Final = "#app .el-menu--horizontal"
TOAST_OK: Final = ".el-message--success"

# The portal's login form, the same in the recorder's and the camera SPA's GUI.
PORTAL_LOGIN_SELECTORS: Final[Mapping[str, str]] = {
    "form": LOGIN_FORM,
    "username": "#portal .login-input input >> nth=0",
    "password": "#portal .login-input input >> nth=1",
    "submit": "#portal .login-btn",
    "error": PORTAL_ERROR,
    "notice": PORTAL_NOTICE,
    "forgot": '#portal >> role=link[name="{text:forgotPassword}"]',
    "logged_in": APP_MENU,
    "activation": '#portal [placeholder="{text:confirmPassword}"]',
    "cookie_error": PORTAL_ERROR + ':has-text("{text:cookieError}")',
}

FORGOT_SELECTORS: Final[Mapping[str, str]] = {
    "method_step": "#portal .el-radio-group",
    "methods": "#portal .el-radio-group input[type=radio]",
    "method_email": '#portal .el-radio:has-text("{text:methodEmail}")',
    "method_next": '#portal >> role=button[name="{text:next}"]',
    "method_hint": "#portal .el-alert--info",
    "privacy_step": '#portal .el-checkbox:has-text("{text:privacyAgree}")',
    "privacy_accept": '#portal >> role=checkbox[name="{text:privacyAgree}"]',
    "privacy_next": '#portal >> role=button[name="{text:next}"]',
    "qr_step": '#portal img[alt="{text:qrCode}"]',
    "qr_image": '#portal img[alt="{text:qrCode}"]',
    "qr_loaded": "#portal img[alt=\"{text:qrCode}\"][src^='data:image']",
    "export": '#portal >> role=link[name="{text:exportQr}"]',
    "refresh": '#portal >> role=button[name="{text:refresh}"]',
    "code": '#portal [placeholder="{text:verificationCode}"]',
    "code_next": '#portal >> role=button[name="{text:next}"]',
    "code_error": PORTAL_ERROR,
    "password_step": '#portal [placeholder="{text:confirmPassword}"]',
    "password": '#portal input[type=password][placeholder="{text:newPassword}"]',
    "confirm": '#portal [placeholder="{text:confirmPassword}"]',
    "strength_label": STRENGTH_LABEL,
    "ok": '#portal >> role=button[name="{text:ok}"]',
    "error": PORTAL_ERROR,
    "done": PORTAL_NOTICE,
    # Where a bookmarked wizard lands on an inactive device (spec §2): the activation form.
    "activation": '#portal .el-form:has([placeholder="{text:confirmPassword}"])',
}


class RecorderActivation(RecorderStyleActivation):
    """The portal's activation form, with the *Reserved E-mail* checkbox."""

    texts: ClassVar[Mapping[str, str]] = TEXTS
    selectors: ClassVar[Mapping[str, str]] = {
        "form": '#portal .el-form:has([placeholder="{text:confirmPassword}"])',
        "password": '#portal input[type=password][placeholder="{text:newPassword}"]',
        "confirm": '#portal [placeholder="{text:confirmPassword}"]',
        "strength_label": STRENGTH_LABEL,
        "submit": '#portal >> role=button[name="{text:ok}"]',
        "error": PORTAL_ERROR,
        # Role, not CSS: a checkbox the firmware does not offer is hidden, so not there.
        "email_enable": '#portal >> role=checkbox[name="{text:reservedEmail}"]',
        "email": '#portal [placeholder="{text:emailAddress}"]',
        "login_form": LOGIN_FORM,
        "done": PORTAL_NOTICE,
        "notice": PORTAL_NOTICE,
    }


class RecorderLogin(LoginPage):
    """The portal's login form and the app's user menu."""

    texts: ClassVar[Mapping[str, str]] = TEXTS
    selectors: ClassVar[Mapping[str, str]] = {
        **PORTAL_LOGIN_SELECTORS,
        "user_menu": '#app >> role=button[name="{text:admin}"]',
        "logout": '.el-dropdown-menu >> role=menuitem[name="{text:logout}"]',
    }

    def is_logged_in(self) -> bool:
        """Whether the app shows (its user menu is in the header)."""
        return self.showing("user_menu")

    def logout(self) -> None:
        """Open the user menu, press *Logout* and wait for the login form."""
        if not self.is_logged_in():
            return
        self.click("user_menu", "the user menu")
        self.click("logout", "logout")
        self.wait_visible("form", "the login page after logout")


class RecorderUserManagement(UserManagementPage):
    """Configuration → System → User → admin's *Edit*."""

    texts: ClassVar[Mapping[str, str]] = TEXTS
    selectors: ClassVar[Mapping[str, str]] = {
        "config": '#app .el-menu--horizontal >> role=menuitem[name="{text:configuration}"]',
        "ready": "#app .el-aside",
        "user_menu": '#app .el-aside >> role=menuitem[name="{text:menuUser}"]',
        "edit_admin": (
            '#app .el-table__row:has(td:text-is("{text:admin}")) >> role=link[name="{text:edit}"]'
        ),
        "dialog": 'role=dialog[name="{text:editUser}"]',
        "admin_password": (
            'role=dialog[name="{text:editUser}"] >> [placeholder="{text:oldPassword}"]'
        ),
        "email_enable": (
            'role=dialog[name="{text:editUser}"] >> '
            'role=checkbox[name="{text:reservedEmailSettings}"]'
        ),
        "email": (
            'role=dialog[name="{text:editUser}"] >> '
            '.el-form-item:has(> .el-form-item__label:text-is("{text:reservedEmail}")) input'
        ),
        "ok": 'role=dialog[name="{text:editUser}"] >> role=button[name="{text:ok}"]',
        "error": 'role=dialog[name="{text:editUser}"] >> .el-alert--error',
        "saved": TOAST_OK,
    }

    def open_email_dialog(self) -> None:
        self.click("user_menu", "Configuration → System → User")
        self.click("edit_admin", "the Edit link of admin")
        self.wait_visible("dialog", "the Edit User dialog")


class RecorderForgotPassword(ForgotPasswordPage):
    """Forgot Password: *Verify by Reserved Email* → privacy → QR → code → new password."""

    texts: ClassVar[Mapping[str, str]] = TEXTS
    selectors: ClassVar[Mapping[str, str]] = FORGOT_SELECTORS
    direct_path: ClassVar[str] = "/doc/index.html#/portal/resetPassword"
