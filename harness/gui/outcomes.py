"""What a GUI step ended in, as the page showed it: the outcomes page objects return and
flows and suites judge (`harness.gui.base` reads them off the page).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class ActivationOutcome:
    """What the GUI showed after *OK* on the activation form.

    `message` is the error, or the notice the next page shows. Cameras ask for a
    password reset method right after activation: `reset_method_pending` says the
    dialog is still open because no e-mail was given (the dialog refuses to close
    without a method). `email_reserved` is True when an e-mail was given and the GUI
    took it (the recorder's checkbox or the camera's dialog).
    """

    activated: bool
    message: str = ""
    email_reserved: bool = False
    reset_method_pending: bool = False


class LoginResult(StrEnum):
    OK = "ok"
    REJECTED = "rejected"  # wrong password, attempts left shown
    LOCKED = "locked"  # illegal-login lock, remaining time shown
    NO_COOKIES = "no cookies"  # the GUI's cookieError: refused before asking the device
    ERROR = "error"  # anything else the GUI said (a device error)


@dataclass(frozen=True)
class LoginOutcome:
    """What the login page showed: logged in, or the message with its counters."""

    result: LoginResult
    message: str = ""
    attempts_left: int | None = None
    lock_remaining_s: int | None = None

    @property
    def ok(self) -> bool:
        return self.result is LoginResult.OK


@dataclass(frozen=True)
class EmailOutcome:
    """What user management showed after saving the reserved e-mail."""

    saved: bool
    message: str = ""
    attempts_left: int | None = None


class CodeResult(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"  # wrong code, attempts left shown
    EXPIRED = "expired"  # void, used, expired or over the wrong-entry limit
    ERROR = "error"


@dataclass(frozen=True)
class CodeOutcome:
    """What the verification-code step showed after *Next*."""

    result: CodeResult
    message: str = ""
    attempts_left: int | None = None

    @property
    def accepted(self) -> bool:
        return self.result is CodeResult.ACCEPTED


@dataclass(frozen=True)
class ResetOutcome:
    """What the new-password step showed after *OK*: done (back at login) or the error."""

    done: bool
    message: str = ""
