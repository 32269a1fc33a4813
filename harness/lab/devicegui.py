"""One device's GUI as a test drives it: the seed's steps, with the bookkeeping done.

`dut.gui(page)` knows the target, the phone app, the mailbox, the reserved address and the
secrets, so a suite says `gui.activate(with_email=True)` or `gui.reset_password_by_email()`
and never tracks credentials: every step that may change the admin password or the
reserved address records what the device holds afterwards (what it said, or, after a
failed step, what one question to the device tells).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import allure
from playwright.sync_api import Page

from harness import flows
from harness.clients.cloud import ExportPhoneApp
from harness.clients.mail import DEFAULT_WAIT
from harness.errors import ProductDefect
from harness.gui import pages_for
from harness.gui.base import GuiTarget
from harness.gui.outcomes import ActivationOutcome, EmailOutcome, LoginOutcome, ResetOutcome
from harness.gui.pages import ForgotPasswordPage

if TYPE_CHECKING:
    from harness.lab.dut import DeviceUnderTest


class DeviceForgotPassword(flows.ForgotPassword):
    """The Forgot Password wizard of a device whose credentials the harness keeps."""

    def __init__(self, wizard: ForgotPasswordPage, gui: DeviceGui) -> None:
        super().__init__(wizard)
        self.gui = gui

    def read_code(self, since: float, timeout: float = DEFAULT_WAIT) -> str:
        """The verification code mailed to the device's reserved address since `since`."""
        return self.gui.read_code(since, timeout)

    def set_new_password(self, password: str, confirm: str | None = None) -> ResetOutcome:
        """Set the new password (and confirm); the harness remembers whichever password
        the device holds afterwards."""
        try:
            with self.gui.dut.password_change(password):
                outcome = super().set_new_password(password, confirm)
                if not outcome.done:
                    # Refused: the device should still hold the old one; the change's
                    # failure path asks it rather than trusting the GUI.
                    raise _Unchanged(outcome)
        except _Unchanged as refused:
            return refused.outcome
        return outcome


class _Unchanged(Exception):
    """Carries a refused new-password outcome through `password_change`'s failure path."""

    def __init__(self, outcome: ResetOutcome) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome


class DeviceGui:
    """The GUI of one device in one browser page, for one test.

    Defaults come from the device: the password is the one the harness knows, a new one
    is generated (and registered as a secret) when a step needs one, the e-mail is the
    lab's reserved address for the device.
    """

    def __init__(self, dut: DeviceUnderTest, page: Page) -> None:
        self.dut = dut
        self.page = page
        self.target: GuiTarget = dut.gui_target()

    # -- activation and login

    def activate(
        self, password: str | None = None, *, with_email: bool = False,
        confirm: str | None = None,
    ) -> ActivationOutcome:
        """Activate through the GUI (a fresh password unless given), reserving the
        device's address when `with_email`; the harness remembers what the device holds
        afterwards, whatever the GUI said."""
        password = password or self.dut.new_password()
        email = self.dut.email if with_email else None
        try:
            outcome = flows.activate(self.page, self.target, password, email=email,
                                     confirm=confirm)
        except BaseException:
            self.dut.remember_activation(password, email=None)
            raise
        self.dut.remember_activation(password, email=email if outcome.email_reserved else None)
        return outcome

    def strength_shown(self, password: str) -> str:
        """The level the activation form's strength meter shows for `password`."""
        return flows.strength_shown(self.page, self.target, password)

    def login(self, password: str | None = None) -> LoginOutcome:
        """Log in as admin (with the known password unless given); sent once."""
        return flows.login(self.page, self.target,
                           self.dut.password if password is None else password)

    def logout(self) -> None:
        """Press *Logout* (nothing to do when not logged in)."""
        flows.logout(self.page, self.target)

    # -- reserved e-mail

    def reserve_email(
        self, email: str | None = None, *, admin_password: str | None = None
    ) -> EmailOutcome:
        """Reserve `email` (the device's address unless given) in user management,
        confirming with the admin password (the known one unless given); the harness
        remembers the address when the GUI saved it."""
        email = email or self.dut.email
        outcome = flows.reserve_email(
            self.page, self.target, email,
            self.dut.password if admin_password is None else admin_password,
        )
        if outcome.saved:
            # Another address saved means the harness's address is no longer reserved.
            self.dut.remember_email(email if email == self.dut.email else None)
        return outcome

    # -- forgot password

    def forgot_password(self) -> DeviceForgotPassword:
        """From the login page, click *Forgot Password*; the wizard at its first step."""
        wizard = flows.open_forgot_password(self.page, self.target)
        return DeviceForgotPassword(wizard.wizard, self)

    def reset_wizard_opened_directly(self) -> str:
        """Load the Forgot Password wizard's own address (a bookmark), not through the
        login page: `wizard` when it shows, `activation` when the GUI sent the browser to
        the activation form."""
        with allure.step(f"Open the Forgot Password wizard of {self.target.name} directly"):
            wizard = pages_for(self.target).forgot_password(self.page, self.target)
            return wizard.open_directly()

    def scan_qr(self, png: bytes) -> str:
        """The phone app reads the QR text from a picture."""
        return flows.scan_qr(self.dut.phone_app(), png)

    def read_code(self, since: float, timeout: float = DEFAULT_WAIT) -> str:
        """The verification code mailed to the device's address since `since` (a mark
        from `dut.now()`); masked in evidence. A code mail that never comes while the
        mailbox is healthy is a `ProductDefect`."""
        return self.dut.read_code(since, timeout=timeout)

    def reset_password_by_email(
        self, new_password: str | None = None, *, mail_timeout: float = DEFAULT_WAIT
    ) -> str:
        """The seed flow: Forgot Password → reserved e-mail → privacy → QR → phone app →
        cloud → mail → code → new password (a fresh one unless given), ending at the
        login page. The new password; the harness remembers what the device holds.

        A refused code or new password is a `ProductDefect` with the GUI's message.
        """
        new = new_password or self.dut.new_password()
        title = f"Reset the password of {self.target.name} by reserved e-mail"
        with allure.step(title):
            wizard = self.forgot_password()
            wizard.choose_reserved_email()
            wizard.accept_privacy_notice()
            since = self.dut.now()
            app = self.dut.phone_app()
            # The Export channel mails the picture the GUI's Export button saves; the others
            # photograph the QR on screen, as a phone does.
            png = wizard.export_png() if isinstance(app, ExportPhoneApp) else wizard.qr_png()
            qr_text = flows.scan_qr(app, png)
            with allure.step("Ask the vendor cloud for a verification code (phone app)"):
                request = app.request_code(qr_text, png)
            try:
                code = self.read_code(since, max(mail_timeout, request.wait_s or 0))
            finally:
                request.done()
            answer = wizard.enter_code(code)
            if not answer.accepted:
                raise ProductDefect(
                    f"{self.target.name}: the verification code mailed to {self.dut.email} "
                    f"was not accepted: {answer.message or answer.result}"
                )
            done = wizard.set_new_password(new)
            if not done.done:
                raise ProductDefect(
                    f"{self.target.name}: the new password was refused after a valid code: "
                    f"{done.message}"
                )
        return new


__all__ = ["DeviceForgotPassword", "DeviceGui"]
