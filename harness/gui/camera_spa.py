"""Single-page camera GUI (IP cameras from V5.7.0, spec §2): hash routes, views by XHR.

`#app[data-view=...]` names the view once it is rendered, so waits target a view, not a
URL. Routes: `#/activate`, `#/login`, `#/pwdReset`, `#/preview`, `#/config/user`.
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


class SpaActivation(CameraStyleActivation):
    """The `#/activate` view and its reset-method dialog."""

    selectors: ClassVar[Mapping[str, str]] = {
        "form": "#app[data-view=activate] #activate-form",
        "password": "#activate-password",
        "confirm": "#activate-confirm",
        "strength": "#activate-strength",
        "strength_label": "#activate-strength [data-role=label]",
        "submit": "#activate-submit",
        "error": "#activate-error",
        "login_form": "#app[data-view=login] #login-form",
        "login_error": "#login-error",
        "notice": "#login-notice",
        "method_dialog": "#reset-method-dialog",
        "method_email_check": "#rm-email-check",
        "method_email": "#rm-email",
        "method_ok": "#rm-submit",
        "method_error": "#rm-error",
        "after_method": "#app[data-view=preview] #logout-btn",
    }


class SpaLogin(LoginPage):
    """The `#/login` view and the shell's header."""

    selectors: ClassVar[Mapping[str, str]] = {
        "form": "#app[data-view=login] #login-form",
        "password": "#login-password",
        "submit": "#login-submit",
        "error": "#login-error",
        "notice": "#login-notice",
        "forgot": "#forget-password",
        "logged_in": "#app[data-view=preview] #logout-btn",
        "activation": "#app[data-view=activate] #activate-form",
        "logout": "#logout-btn",
    }


class SpaUserManagement(UserManagementPage):
    """`#/config/user` → admin's *Account Security Settings*."""

    selectors: ClassVar[Mapping[str, str]] = {
        "config": "#nav-config",
        "ready": "#app[data-view=config-user] #user-table",
        "account_security": "#account-security-admin",
        "dialog": "#account-security-dialog",
        "admin_password": "#as-admin-password",
        "email": "#as-email",
        "ok": "#as-submit",
        "error": "#as-error",
        "saved": "#user-notice[data-kind=ok]",
    }

    def open_email_dialog(self) -> None:
        self.click("account_security", "admin's Account Security Settings")
        self.wait_visible("dialog", "the Account Security Settings dialog")


class SpaForgotPassword(ForgotPasswordPage):
    """`#/pwdReset`: *E-mail Verification* → privacy → QR → code → new password."""

    selectors: ClassVar[Mapping[str, str]] = {
        "method_step": "#pr-step-mode",
        "methods": "#pr-modes input[name=resetMethod]",
        "method_next": "#pr-mode-next",
        "method_hint": "#pr-mode-hint",
        "privacy_step": "#pr-step-privacy",
        "privacy_accept": "#pr-privacy-accept",
        "privacy_next": "#pr-privacy-next",
        "qr_step": "#pr-step-verify",
        "qr_image": "#pr-qr",
        "qr_loaded": "#pr-qr[src^='data:image']",
        "export": "#pr-export",
        "refresh": "#pr-refresh",
        "code": "#pr-code",
        "code_next": "#pr-verify-next",
        "code_error": "#pr-verify-error",
        "password_step": "#pr-step-password",
        "password": "#pr-password",
        "confirm": "#pr-confirm",
        "strength": "#pr-strength",
        "strength_label": "#pr-strength [data-role=label]",
        "ok": "#pr-submit",
        "error": "#pr-error",
        "done": "#app[data-view=login] #login-notice",
    }
