"""Classic camera GUI (IP cameras below V5.7.0, spec §2): pages under `/doc/page/`.

Activation is the `#active` modal on the login page, followed by the password reset method
dialog; user management is Configuration → System → User Management → Account Security
Settings; the login page's *Forget Password* link opens the reset page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from harness.gui.pages import (
    CameraStyleActivation,
    ForgotPasswordPage,
    LoginPage,
    UserManagementPage,
)


class ClassicActivation(CameraStyleActivation):
    """The `#active` modal and the reset-method dialog after it."""

    selectors: ClassVar[Mapping[str, str]] = {
        "form": "#activeForm",
        "password": "#activePassword",
        "confirm": "#activeConfirm",
        "strength": "#activeStrength",
        "strength_label": "#activeStrength [data-role=label]",
        "submit": "#activeOk",
        "error": "#activeTips",
        "login_form": "#loginBox",
        "login_error": "#loginTips",
        "notice": "#loginNotice",
        "method_dialog": "#resetMethod",
        "method_email": "#securityEmail",
        "method_ok": "#resetMethodOk",
        "method_error": "#resetMethodTips",
        "after_method": "#frame",
    }


class ClassicLogin(LoginPage):
    """The classic login page and the logged-in pages' header."""

    selectors: ClassVar[Mapping[str, str]] = {
        "form": "#loginBox",
        "password": "#password",
        "submit": "#btnLogin",
        "error": "#loginTips",
        "notice": "#loginNotice",
        "forgot": "#forgetPwd",
        "logged_in": "#frame",
        "activation": "#activeForm",
        "logout": "#btnLogout",
    }


class ClassicUserManagement(UserManagementPage):
    """Configuration → System → User Management → Account Security Settings."""

    selectors: ClassVar[Mapping[str, str]] = {
        "config": "#menuConfig",
        "ready": "#treeUserManage",
        "user_menu": "#treeUserManage",
        "account_security": "#btnAccountSecurity",
        "dialog": "#accountSecurity",
        "email_tab": "#asTabEmail",
        "admin_password": "#asAdminPassword",
        "email": "#asEmail",
        "ok": "#asOk",
        "error": "#asTips",
        "saved": "#userTips[data-kind=ok]",
    }

    def open_email_dialog(self) -> None:
        self.click("user_menu", "System → User Management")
        self.click("account_security", "Account Security Settings")
        self.wait_visible("dialog", "the Account Security Settings dialog")
        self.click("email_tab", "email_tab")


class ClassicForgotPassword(ForgotPasswordPage):
    """Reset Password: *E-mail Verification* → privacy → QR → security code → new password."""

    selectors: ClassVar[Mapping[str, str]] = {
        "method_step": "#resetModeStep",
        "methods": "#resetModes input[name=resetMethod]",
        "method_next": "#resetModeNext",
        "method_hint": "#resetModeTips",
        "privacy_step": "#privacyStep",
        "privacy_accept": "#privacyAgree",
        "privacy_next": "#privacyNext",
        "qr_step": "#verifyStep",
        "qr_image": "#resetQrCode",
        "qr_loaded": "#resetQrCode[src^='data:image']",
        "export": "#exportQrCode",
        "refresh": "#refreshQrCode",
        "code": "#securityCode",
        "code_next": "#verifyNext",
        "code_error": "#verifyTips",
        "password_step": "#newPwdStep",
        "password": "#newPwd",
        "confirm": "#newPwdConfirm",
        "strength": "#newPwdStrength",
        "strength_label": "#newPwdStrength [data-role=label]",
        "ok": "#newPwdOk",
        "error": "#newPwdTips",
        "done": "#loginNotice",
    }
