"""Single-page camera GUI (IP cameras from V5.7.0, spec §2): `/doc/index.html`.

The same portal shell as the recorder (`#portal` for login, activation and *Forget
Password*, `#app` once logged in), with the camera's wording and menus: no e-mail on the
activation form but the *Account Security Settings* dialog after it (the camera logs in by
itself), a plain *Logout* in the header, and Configuration → System → User Management →
admin's *Account Security Settings*.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Final

from harness.gui.pages import (
    CameraStyleActivation,
    ForgotPasswordPage,
    LoginPage,
    UserManagementPage,
)
from harness.gui.recorder import (
    APP_MENU,
    FORGOT_SELECTORS,
    LOGIN_FORM,
    PORTAL_ERROR,
    PORTAL_LOGIN_SELECTORS,
    PORTAL_NOTICE,
    PORTAL_TEXTS,
    STRENGTH_LABEL,
    TOAST_OK,
)

# The camera's English texts, keyed by its i18n keys.
TEXTS: Final[Mapping[str, str]] = {
    "login": "Login",
    "userName": "User Name",
    "password": "Password",
    "forgotPassword": "Forget Password",
    "activation": "Activation",
    "newPassword": "Password",
    "confirmPassword": "Confirm",
    "reservedEmail": "Reserved E-mail",
    "emailAddress": "E-mail Address",
    "accountSecurity": "Account Security Settings",
    "ok": "OK",
    "cancel": "Cancel",
    "next": "Next",
    "methodEmail": "E-mail Verification",
    "privacyAgree": "I have read and agree to the Privacy Policy",
    "qrCode": "QR Code",
    "exportQr": "Export",
    "refresh": "Refresh",
    "verificationCode": "Verification Code",
    "configuration": "Configuration",
    "menuUser": "User Management",
    "adminPassword": "Admin Password",
    **PORTAL_TEXTS,
}

_METHOD_DIALOG: Final = 'role=dialog[name="{text:accountSecurity}"]'
_ACCOUNT_DIALOG: Final = 'role=dialog[name="{text:accountSecurity}"]'


class SpaActivation(CameraStyleActivation):
    """The portal's activation form and the Account Security Settings dialog after it."""

    texts: ClassVar[Mapping[str, str]] = TEXTS
    selectors: ClassVar[Mapping[str, str]] = {
        "form": '#portal .el-form:has([placeholder="{text:confirmPassword}"])',
        "password": '#portal input[type=password][placeholder="{text:newPassword}"]',
        "confirm": '#portal [placeholder="{text:confirmPassword}"]',
        "strength_label": STRENGTH_LABEL,
        "submit": '#portal .el-form >> role=button[name="{text:ok}"]',
        "error": "#portal .el-form .el-alert--error",
        "login_form": LOGIN_FORM,
        "login_error": PORTAL_ERROR,
        "notice": PORTAL_NOTICE,
        "method_dialog": _METHOD_DIALOG,
        "method_email_check": f'{_METHOD_DIALOG} >> role=checkbox[name="{{text:reservedEmail}}"]',
        "method_email": f'{_METHOD_DIALOG} >> [placeholder="{{text:emailAddress}}"]',
        "method_ok": f'{_METHOD_DIALOG} >> role=button[name="{{text:ok}}"]',
        "method_error": f"{_METHOD_DIALOG} >> .el-alert--error",
        "after_method": APP_MENU,
    }


class SpaLogin(LoginPage):
    """The portal's login form and the app header's *Logout*."""

    texts: ClassVar[Mapping[str, str]] = TEXTS
    selectors: ClassVar[Mapping[str, str]] = {
        **PORTAL_LOGIN_SELECTORS,
        "logout": '#app >> role=button[name="{text:logout}"]',
    }


class SpaUserManagement(UserManagementPage):
    """Configuration → System → User Management → admin's *Account Security Settings*."""

    texts: ClassVar[Mapping[str, str]] = TEXTS
    selectors: ClassVar[Mapping[str, str]] = {
        "config": '#app .el-menu--horizontal >> role=menuitem[name="{text:configuration}"]',
        "ready": "#tab-user",
        "account_security": (
            '#app .el-table__row:has(td:text-is("{text:admin}")) >> '
            'role=link[name="{text:accountSecurity}"]'
        ),
        "dialog": _ACCOUNT_DIALOG,
        "admin_password": f'{_ACCOUNT_DIALOG} >> [placeholder="{{text:adminPassword}}"]',
        "email": f'{_ACCOUNT_DIALOG} >> [placeholder="{{text:emailAddress}}"]',
        "ok": f'{_ACCOUNT_DIALOG} >> role=button[name="{{text:ok}}"]',
        "error": f"{_ACCOUNT_DIALOG} >> .el-alert--error",
        "saved": TOAST_OK,
    }

    def open_email_dialog(self) -> None:
        self.click("account_security", "admin's Account Security Settings")
        self.wait_visible("dialog", "the Account Security Settings dialog")


class SpaForgotPassword(ForgotPasswordPage):
    """*Forget Password*: *E-mail Verification* → privacy → QR → code → new password."""

    texts: ClassVar[Mapping[str, str]] = TEXTS
    selectors: ClassVar[Mapping[str, str]] = FORGOT_SELECTORS
    direct_path: ClassVar[str] = "/doc/index.html#/portal/resetPassword"
