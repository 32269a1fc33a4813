"""What every GUI generation's page objects share: the target, the outcomes, the waits.

A page object knows one page of one GUI generation: its selectors (a table per class, so a
generation is a table plus the few steps that really differ) and how to read what the page
shows. It never decides whether the firmware was right, except where the spec leaves no
doubt (a mismatched confirm password must never be sent); the flows and suites do that.

Failure kinds (harness.errors): a page that does not load is a `DeviceError` naming the
URL; an element the generation should have but does not show is a `HarnessError` naming
the page and selector; a device that never answers an action is a `DeviceError`; the
firmware doing the wrong thing is a `ProductDefect`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, Final

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from harness.catalogue import STRENGTH_NAMES, GuiGeneration
from harness.errors import DeviceError, HarnessError, ProductDefect

# --- settings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class GuiTimeouts:
    """Every GUI wait, in seconds, in one place.

    `step` covers one action on a busy machine: a click, the device's few ISAPI calls
    (including an RSA key made in the browser) and the page's answer.
    """

    page_load: float = 30.0
    step: float = 20.0
    download: float = 20.0

    @property
    def page_load_ms(self) -> float:
        return self.page_load * 1000

    @property
    def step_ms(self) -> float:
        return self.step * 1000

    @property
    def download_ms(self) -> float:
        return self.download * 1000


    @classmethod
    def from_env(cls) -> GuiTimeouts:
        """Defaults, scaled by `HIL_GUI_TIMEOUT_SCALE` (e.g. 2 for slow real devices)."""
        raw = os.environ.get("HIL_GUI_TIMEOUT_SCALE", "1")
        try:
            scale = float(raw)
        except ValueError:
            raise HarnessError(
                f"HIL_GUI_TIMEOUT_SCALE must be a number like 1.5, not {raw!r}"
            ) from None
        if scale <= 0:
            raise HarnessError(f"HIL_GUI_TIMEOUT_SCALE must be positive, not {raw!r}")
        base = cls()
        return cls(base.page_load * scale, base.step * scale, base.download * scale)


TIMEOUTS: Final = GuiTimeouts.from_env()


# --- the target ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GuiTarget:
    """What a page object needs to know of a device.

    `generation` is QA's expectation from the catalogue (product line and firmware), not
    what the device says about itself: a device showing another generation's GUI fails
    on the first missing element, which is what a release manager wants to hear about.
    """

    name: str
    base_url: str
    generation: GuiGeneration

    def url(self, path: str) -> str:
        """The absolute URL of `path` on this device."""
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")


# --- outcomes -----------------------------------------------------------------------------


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
    ERROR = "error"  # anything else the GUI said (no cookies, device error)


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


# --- reading what the GUI says --------------------------------------------------------------

_ATTEMPTS_RE: Final = re.compile(r"(\d+)\s+attempt", re.IGNORECASE)
_DURATION_RE: Final = re.compile(r"(?:(\d+)\s*min\s*)?(\d+)\s*s\b", re.IGNORECASE)


def attempts_in(text: str) -> int | None:
    """The attempts-left count in a GUI message ("... 3 attempt(s) left."), if any."""
    match = _ATTEMPTS_RE.search(text)
    return int(match[1]) if match else None


def duration_in(text: str) -> int | None:
    """Seconds in a GUI message like "Try again in 29 min 58 s.", if any."""
    match = _DURATION_RE.search(text)
    if not match:
        return None
    return int(match[1] or 0) * 60 + int(match[2])


def first_line(error: BaseException) -> str:
    """The first line of a Playwright error (the rest is a call log)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# --- the page-object base -------------------------------------------------------------------


class GuiPage:
    """One page of one GUI generation, bound to a Playwright page and a device.

    Subclasses set `page_name` (for messages) and `selectors` (logical name → CSS). Code
    refers to logical names only, so a generation differs in its table, not in its code.
    """

    page_name: ClassVar[str] = "page"
    selectors: ClassVar[Mapping[str, str]] = {}

    def __init__(self, page: Page, target: GuiTarget, timeouts: GuiTimeouts = TIMEOUTS) -> None:
        self.page = page
        self.target = target
        self.timeouts = timeouts

    # -- selectors

    def sel(self, name: str) -> str:
        """The CSS selector of logical element `name`; HarnessError if this page has none."""
        try:
            return self.selectors[name]
        except KeyError:
            raise HarnessError(
                f"{self.target.generation} {self.page_name} page has no element {name!r} "
                f"in its selector table (known: {', '.join(sorted(self.selectors))})"
            ) from None

    def el(self, name: str) -> Locator:
        """A locator of logical element `name`."""
        return self.page.locator(self.sel(name))

    def describe(self, name: str) -> str:
        return f"{self.target.generation} {self.page_name} page, {name} ({self.sel(name)})"

    # -- navigation and waits

    def goto(self, path: str) -> None:
        """Load `path` of the device; DeviceError naming the URL when it does not load."""
        url = self.target.url(path)
        try:
            response = self.page.goto(url, timeout=self.timeouts.page_load_ms)
        except PlaywrightTimeoutError:
            raise DeviceError(
                f"{self.target.name}: {url} did not load within {self.timeouts.page_load:g} s"
            ) from None
        except PlaywrightError as exc:
            raise DeviceError(
                f"{self.target.name}: {url} did not load ({first_line(exc)})"
            ) from None
        if response is not None and response.status >= 400:
            raise DeviceError(f"{self.target.name}: {url} answered HTTP {response.status}")

    def wait_visible(self, name: str, why: str) -> Locator:
        """Wait for element `name`; HarnessError naming page and selector when it never shows."""
        locator = self.el(name)
        try:
            locator.first.wait_for(state="visible", timeout=self.timeouts.step_ms)
        except PlaywrightTimeoutError:
            raise HarnessError(
                f"{self.target.name}: no visible {self.describe(name)} within "
                f"{self.timeouts.step:g} s ({why}); wrong GUI generation or page? "
                f"URL {self.page.url}"
            ) from None
        return locator

    def _act(self, name: str, why: str, action: str, value: str | bool | None = None) -> None:
        # No wait_visible first: Playwright's own actionability checks already wait for
        # the element to be attached, visible, stable and enabled, and a separate wait
        # doubled the browser round trips of every step.
        locator = self.el(name).first
        try:
            if action == "click":
                locator.click(timeout=self.timeouts.step_ms)
            elif action == "fill":
                locator.fill(str(value), timeout=self.timeouts.step_ms)
            else:
                locator.set_checked(bool(value), timeout=self.timeouts.step_ms)
        except PlaywrightTimeoutError:
            raise HarnessError(
                f"{self.target.name}: could not {action} {self.describe(name)} within "
                f"{self.timeouts.step:g} s ({why}): absent, hidden or disabled; wrong GUI "
                f"generation or page? URL {self.page.url}"
            ) from None

    def click(self, name: str, why: str) -> None:
        """Click element `name` once it shows (HarnessError naming it when it never does)."""
        self._act(name, why, "click")

    def fill(self, name: str, value: str, why: str) -> None:
        """Type `value` into element `name` once it shows."""
        self._act(name, why, "fill", value)

    def set_checked(self, name: str, checked: bool, why: str) -> None:
        """Tick or untick checkbox/radio `name` once it shows."""
        self._act(name, why, "check", checked)

    def wait_any(self, names: list[str], why: str) -> str:
        """Wait until one of the elements `names` is visible; the first one that is.

        DeviceError naming every element waited for when none shows: the device did not
        answer the action (or answered with a page this generation does not have).
        """
        # Only visible matches: `.first` of a plain union would pick a hidden element that
        # comes earlier in the document and wait for it in vain.
        visible = {name: self.el(name).filter(visible=True) for name in names}
        combined = visible[names[0]]
        for name in names[1:]:
            combined = combined.or_(visible[name])
        # A navigation between the wait and the check can hide what was seen: look again,
        # a bounded number of times.
        for _ in range(3):
            try:
                combined.first.wait_for(state="visible", timeout=self.timeouts.step_ms)
            except PlaywrightTimeoutError:
                break
            for name in names:
                if visible[name].count():
                    return name
        shown = ", ".join(f"{n} ({self.sel(n)})" for n in names)
        raise DeviceError(
            f"{self.target.name}: the {self.target.generation} {self.page_name} page showed "
            f"none of {shown} within {self.timeouts.step:g} s ({why}); URL {self.page.url}"
        )

    def text_of(self, name: str) -> str:
        """The visible text of element `name`, stripped ('' when hidden or absent)."""
        texts = self.el(name).filter(visible=True).all_inner_texts()  # one round trip
        return texts[0].strip() if texts else ""

    def clear_message(self, name: str) -> None:
        """Hide message element `name` before an action.

        Why: a message left from the previous attempt would otherwise be read as this
        attempt's answer ("5 attempt(s) left" and "4 attempt(s) left" look alike to a
        wait). The GUI writes a fresh message for every attempt, so hiding the old one
        changes nothing the device does.
        """
        # One round trip, and nothing to do when the page has no such element yet.
        self.el(name).evaluate_all(
            "els => els.forEach(el => { el.textContent = ''; el.hidden = true; })"
        )

    def read_strength(self, bar: str, label: str) -> str:
        """The strength level's name the live bar shows for the current password."""
        self.wait_visible(bar, "the password strength bar")
        try:
            self.page.locator(self.sel(bar) + ":not([data-level=''])").first.wait_for(
                state="visible", timeout=self.timeouts.step_ms
            )
        except PlaywrightTimeoutError:
            raise ProductDefect(
                f"{self.target.name}: the strength bar did not react to the password "
                f"within {self.timeouts.step:g} s"
            ) from None
        shown = self.text_of(label)
        if shown not in STRENGTH_NAMES:
            raise ProductDefect(
                f"{self.target.name}: the strength bar shows {shown!r}, not one of "
                f"{', '.join(STRENGTH_NAMES)}"
            )
        return shown


__all__ = [
    "TIMEOUTS",
    "ActivationOutcome",
    "CodeOutcome",
    "CodeResult",
    "EmailOutcome",
    "GuiPage",
    "GuiTarget",
    "GuiTimeouts",
    "LoginOutcome",
    "LoginResult",
    "ResetOutcome",
    "attempts_in",
    "duration_in",
    "first_line",
]
