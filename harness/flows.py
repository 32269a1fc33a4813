"""The seed's steps as functions a suite calls: activate, log in, reserve an e-mail, reset.

Each function is one Allure step (`with allure.step(...)` inside: allure-pytest would record
a decorated function's arguments, passwords included, as step parameters). Step titles name
the device and what happens, never a password or a code. The GUI generation is chosen by
`harness.gui.pages_for`; nothing here branches on it. Suites reach these through
`dut.gui(page)` (`harness.lab.devicegui.DeviceGui`), which adds the device's defaults and
keeps its credentials; the whole reset by e-mail lives there.
"""

from __future__ import annotations

from collections.abc import Callable

import allure
from playwright.sync_api import Page

from harness.catalogue import find_verification_code
from harness.clients.cloud import PhoneAppRole
from harness.clients.isapi import IsapiClient, IsapiError, LoginRejected
from harness.clients.mail import (
    DEFAULT_WAIT,
    Mailbox,
)
from harness.errors import ProductDefect
from harness.evidence import Secret, Secrets
from harness.gui import (
    ActivationOutcome,
    CodeOutcome,
    EmailOutcome,
    ForgotPasswordPage,
    GuiTarget,
    LoginOutcome,
    ResetOutcome,
    pages_for,
)


def _where(target: GuiTarget) -> str:
    return f"{target.name} ({target.generation} GUI)"


def activate(
    page: Page,
    target: GuiTarget,
    password: str,
    *,
    email: str | None = None,
    confirm: str | None = None,
) -> ActivationOutcome:
    """Activate the device through its GUI with `password`, reserving `email` if given.

    `confirm` defaults to `password`; a different one must be refused by the GUI, and a
    device that activates anyway raises `ProductDefect`. Recorders take the e-mail on the
    activation form; cameras in the reset-method dialog that follows (without an e-mail
    the dialog stays open: `reset_method_pending`).
    """
    title = f"Activate {_where(target)}" + (" with a reserved e-mail" if email else "")
    with allure.step(title):
        activation = pages_for(target).activation(page, target)
        activation.open()
        return activation.submit(password, confirm=confirm, email=email)


def strength_shown(page: Page, target: GuiTarget, password: str) -> str:
    """The level the activation form's live strength bar shows for `password`.

    `Risky`, `Weak`, `Medium` or `Strong`. Needs an inactive device (the activation form).
    """
    with allure.step(f"Read the password strength bar of {_where(target)}"):
        activation = pages_for(target).activation(page, target)
        activation.open()
        return activation.strength_for(password)


def login(page: Page, target: GuiTarget, password: str) -> LoginOutcome:
    """Log in as admin through the GUI; ok, rejected (attempts left), locked or error.

    Sent once, never retried: devices lock out after a few wrong passwords.
    """
    with allure.step(f"Log in to {_where(target)}"):
        return pages_for(target).login(page, target).login(password)


def logout(page: Page, target: GuiTarget) -> None:
    """Press *Logout* in the GUI (nothing to do when not logged in)."""
    with allure.step(f"Log out of {_where(target)}"):
        pages_for(target).login(page, target).logout()


def reserve_email(
    page: Page, target: GuiTarget, email: str, admin_password: str
) -> EmailOutcome:
    """Reserve `email` for password reset in the generation's user management.

    Logs in with `admin_password` first unless the page is already logged in; a refused
    login there is a `ProductDefect` (the harness knows the device's password).
    """
    with allure.step(f"Reserve the e-mail {email} on {_where(target)}"):
        pages = pages_for(target)
        session = pages.login(page, target)
        if not session.is_logged_in():
            outcome = session.login(admin_password)
            if not outcome.ok:
                raise ProductDefect(
                    f"{target.name}: the admin password was refused at login before "
                    f"user management: {outcome.message}"
                )
        management = pages.user_management(page, target)
        management.open()
        return management.reserve(email, admin_password)


class ForgotPassword:
    """The *Forgot Password* wizard of one device, each action an Allure step.

    Codes and passwords never appear in a step title; the QR text does not either (it
    carries the device's nonce for this reset).
    """

    def __init__(self, wizard: ForgotPasswordPage) -> None:
        self.wizard = wizard
        self.target = wizard.target

    def methods(self) -> list[str]:
        """The reset methods offered (`reserved_email`, `security_question`, `guid`)."""
        with allure.step(f"Read the reset methods offered by {_where(self.target)}"):
            return self.wizard.methods()

    def choose_reserved_email(self) -> None:
        """Choose *Verify by Reserved Email* / *E-mail Verification*."""
        with allure.step("Choose the reserved e-mail method"):
            self.wizard.choose_reserved_email()

    def accept_privacy_notice(self) -> None:
        """Accept the privacy notice; the reset QR shows."""
        with allure.step("Accept the privacy notice"):
            self.wizard.accept_privacy_notice()

    def qr_png(self) -> bytes:
        """A picture of the QR on screen, as the phone's camera sees it."""
        with allure.step("Photograph the QR code on screen"):
            png = self.wizard.qr_png()
            allure.attach(png, name="reset QR (screen)", attachment_type=allure.attachment_type.PNG)
            return png

    def export_png(self) -> bytes:
        """Click *Export*; the downloaded picture's bytes."""
        with allure.step("Export the QR code"):
            png = self.wizard.export_png()
            allure.attach(png, name="reset QR (export)", attachment_type=allure.attachment_type.PNG)
            return png

    def refresh_qr(self) -> None:
        """Click *Refresh*: a new QR, the old one void."""
        with allure.step("Refresh the QR code"):
            self.wizard.refresh_qr()

    def enter_code(self, code: str) -> CodeOutcome:
        """Key in the verification code; accepted, rejected (attempts left) or expired."""
        with allure.step("Enter the verification code"):
            return self.wizard.enter_code(code)

    def strength_for(self, password: str) -> str:
        """The strength bar's level for `password` on the new-password step."""
        with allure.step("Read the new password's strength bar"):
            return self.wizard.strength_for(password)

    def set_new_password(self, password: str, confirm: str | None = None) -> ResetOutcome:
        """Set the new password (and confirm); done when the GUI is back at login."""
        with allure.step("Set the new password"):
            return self.wizard.set_new_password(password, confirm)


def open_forgot_password(page: Page, target: GuiTarget) -> ForgotPassword:
    """From the login page, click *Forgot Password*; the wizard at its first step."""
    with allure.step(f"Open Forgot Password on {_where(target)}"):
        pages = pages_for(target)
        pages.login(page, target).open_forgot_password()
        wizard = pages.forgot_password(page, target)
        wizard.wait_ready()
        return ForgotPassword(wizard)


def scan_qr(phone_app: PhoneAppRole, png: bytes) -> str:
    """The phone app reads the QR text from a picture."""
    with allure.step("Scan the QR code with the phone app"):
        return phone_app.scan(png)


def read_code(
    mailbox: Mailbox,
    to: str,
    since: float,
    timeout: float = DEFAULT_WAIT,
    *,
    secrets: Secrets | None = None,
    serial: str | None = None,
) -> Secret:
    """The verification code from the first code mail to `to` since `since` (naming the
    device `serial` in its subject, when given: one mailbox may serve several devices).

    Never logged; registered with `secrets` (if given) so evidence masks it. A mail
    without a code is a `ProductDefect`; no mail at all is `MailNotReceived`.
    """
    with allure.step(f"Read the verification code from the mail to {to}"):
        mail = mailbox.wait_for(to=to, since=since, subject_contains=serial, timeout=timeout)
        code = find_verification_code(mail.body)
        if code is None:
            raise ProductDefect(
                f"the mail to {to} ({mail.subject!r}) holds no verification code"
            )
        if secrets is not None:
            secrets.register(code)
        return Secret(code)


__all__ = [
    "ForgotPassword",
    "activate",
    "login",
    "logout",
    "open_forgot_password",
    "read_code",
    "reserve_email",
    "scan_qr",
    "strength_shown",
]


def masked_matches(shown: str, address: str) -> bool:
    """The device shows `b****@example.com`: same first character and domain."""
    local, _, domain = address.partition("@")
    shown_local, _, shown_domain = shown.partition("@")
    return (shown_domain.lower() == domain.lower() and bool(shown_local)
            and shown_local[0].lower() == local[:1].lower())


def expect_refusal(
    action: Callable[[], object], *, what: str, sub_status: tuple[str, ...] = ()
) -> IsapiError:
    """Run `action`, which the device must refuse with an error answer (one of
    `sub_status` when given); the refusal, or `ProductDefect` saying what went wrong."""
    try:
        action()
    except IsapiError as exc:
        if sub_status and exc.sub_status_code not in sub_status:
            raise ProductDefect(
                f"{what}: refused with {exc.sub_status_code or exc.status_string!r} "
                f"(HTTP {exc.http_status}), expected {' or '.join(sub_status)}"
            ) from exc
        return exc
    raise ProductDefect(f"{what}: the device accepted it")


def expect_login_refused(client: IsapiClient, password: str, *, what: str) -> LoginRejected:
    """One Digest login with `password` that the device must refuse; the refusal."""
    try:
        client.login_digest(password)
    except LoginRejected as exc:
        return exc
    finally:
        client.logout()
    raise ProductDefect(f"{what}: the device accepted the login")
