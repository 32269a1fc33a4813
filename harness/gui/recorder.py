"""Recorder GUI (DVR and NVR, spec §2): separate pages `activate`, `login`, `main`, `forgot`.

Activation has the *Reserved E-mail Settings* checkbox; user management is Configuration →
User → admin → Edit → *Old Password* → *Reserved E-mail Settings*.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from harness.gui.pages import (
    ForgotPasswordPage,
    LoginPage,
    RecorderStyleActivation,
    UserManagementPage,
)


class RecorderActivation(RecorderStyleActivation):
    """The recorder's activation window."""

    selectors: ClassVar[Mapping[str, str]] = {
        # data-ready: the form knows whether the firmware offers the reserved e-mail.
        "form": "#activateForm[data-ready='true']",
        "password": "#newPassword",
        "confirm": "#confirmPassword",
        "strength": "#strengthBar",
        "strength_label": "#strengthBar [data-role=label]",
        "email_enable": "#reservedEmailEnable",
        "email": "#reservedEmail",
        "submit": "#activateOk",
        "error": "#activateError",
        "login_form": "#loginForm",
        "done": "#loginForm",
        "notice": "#loginNotice",
    }


class RecorderLogin(LoginPage):
    """The recorder's login page and the main page's header."""

    selectors: ClassVar[Mapping[str, str]] = {
        "form": "#loginForm",
        "password": "#loginPassword",
        "submit": "#loginBtn",
        "error": "#loginError",
        "notice": "#loginNotice",
        "forgot": "#forgotPassword",
        "logged_in": "#mainLayout",
        "activation": "#activateForm",
        "logout": "#logoutBtn",
    }


class RecorderUserManagement(UserManagementPage):
    """Configuration → User → admin → Edit."""

    selectors: ClassVar[Mapping[str, str]] = {
        "ready": "#mainLayout",
        "config": "#navConfig",
        "user_menu": "#menuUser",
        "edit_admin": "#editUser_admin",
        "dialog": "#userEditDialog",
        "admin_password": "#oldPassword",
        "email_enable": "#editReservedEmailEnable",
        "email": "#editReservedEmail",
        "ok": "#userEditOk",
        "error": "#userEditError",
        "saved": "#userNotice[data-kind=ok]",
    }

    def open_email_dialog(self) -> None:
        self.click("user_menu", "Configuration → User")
        self.click("edit_admin", "the Edit button of admin")
        self.wait_visible("dialog", "the Edit User dialog")


class RecorderForgotPassword(ForgotPasswordPage):
    """Forgot Password: *Verify by Reserved Email* → privacy → QR → code → new password."""

    selectors: ClassVar[Mapping[str, str]] = {
        "method_step": "#stepMethod",
        "methods": "#resetMethods input[name=resetMethod]",
        "method_next": "#methodNext",
        "method_hint": "#methodHint",
        "privacy_step": "#stepPrivacy",
        "privacy_accept": "#privacyAccept",
        "privacy_next": "#privacyNext",
        "qr_step": "#stepQr",
        "qr_image": "#qrImage",
        "qr_loaded": "#qrImage[src^='data:image']",
        "export": "#qrExport",
        "refresh": "#qrRefresh",
        "code": "#verificationCode",
        "code_next": "#codeNext",
        "code_error": "#qrError",
        "password_step": "#stepNewPassword",
        "password": "#resetPassword",
        "confirm": "#resetConfirm",
        "strength": "#resetStrength",
        "strength_label": "#resetStrength [data-role=label]",
        "ok": "#resetOk",
        "error": "#resetError",
        "done": "#loginNotice",
    }
