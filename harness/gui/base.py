"""What every GUI generation's page objects share: the target, the outcomes, the waits.

A page object knows one page of one GUI generation: its selectors (a table per class, so a
generation is a table plus the few steps that really differ) and how to read what the page
shows. It never decides whether the firmware was right, except where the spec leaves no
doubt (a mismatched confirm password must never be sent); the flows and suites do that.

Failure kinds (harness.errors): a page that does not load is a `DeviceError` naming the
URL; an element the generation should have but does not show is a `HarnessError` naming
the page and selector; a device that never answers an action is a `DeviceError`; the
firmware doing the wrong thing is a `ProductDefect`.

Long (~480 lines) on purpose: `GuiPage` is one class (element lookup, waits, outcome
reading) that every page object inherits; the outcomes it returns are `gui.outcomes`.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Final

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, Response
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from harness.catalogue import STRENGTH_NAMES, GuiGeneration
from harness.errors import DeviceError, HarnessError, ProductDefect
from harness.gui.certificates import certificate_failure

# Re-exported for tests and suites that still import these from here (the outcomes were here).
from harness.gui.outcomes import LoginResult, ResetOutcome

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
    # QA expects the reserved-e-mail option at this firmware (catalogue threshold): its
    # absence from a recognised page is then the firmware's defect, not a selector's.
    reserved_email_expected: bool = False

    def url(self, path: str) -> str:
        """The absolute URL of `path` on this device."""
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")


# --- reading what the GUI says --------------------------------------------------------------

_ATTEMPTS_RE: Final = re.compile(r"(\d+)\s+attempt", re.IGNORECASE)
# "29 min 58 s", "30 minute(s)", "45 second(s)", "7 s": a number right before its unit.
_DURATION_RE: Final = re.compile(
    r"(\d+)\s*(min(?:ute)?s?|s(?:ec(?:ond)?s?)?)(?![a-z])", re.IGNORECASE
)
_SLICE_MS: Final = 250  # how often a wait for an ISAPI answer looks for a local refusal
_PLACEHOLDER_RE: Final = re.compile(r"\{text:([^{}]+)\}")


def attempts_in(text: str) -> int | None:
    """The attempts-left count in a GUI message ("... 3 attempt(s) left."), if any."""
    match = _ATTEMPTS_RE.search(text)
    return int(match[1]) if match else None


def duration_in(text: str) -> int | None:
    """Seconds in a GUI message like "Try again in 29 min 58 s." or "… in 30 minute(s).",
    if any."""
    parts = _DURATION_RE.findall(text)
    if not parts:
        return None
    return sum(int(n) * (60 if unit.lower().startswith("min") else 1) for n, unit in parts)


def first_line(error: BaseException) -> str:
    """The first line of a Playwright error (the rest is a call log)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# --- the page-object base -------------------------------------------------------------------


class GuiPage:
    """One page of one GUI generation, bound to a Playwright page and a device.

    Subclasses set `page_name` (for messages), `selectors` (logical name → Playwright
    selector) and `texts` (the generation's text table: i18n key → English text). A
    selector may hold `{text:KEY}` placeholders, filled from `texts` by `sel`, so another
    language is another text table. Code refers to logical names only, so a generation
    differs in its tables, not in its code. `answers` names the ISAPI call (a regular
    expression over the URL) whose response tells that an action reached the device.
    """

    page_name: ClassVar[str] = "page"
    selectors: ClassVar[Mapping[str, str]] = {}
    texts: ClassVar[Mapping[str, str]] = {}
    answers: ClassVar[Mapping[str, str]] = {}
    # A word the strength label shows → the catalogue's level name (STRENGTH_NAMES); a
    # generation in another language overrides it.
    strength_words: ClassVar[Mapping[str, str]] = {name: name for name in STRENGTH_NAMES}

    def __init__(self, page: Page, target: GuiTarget, timeouts: GuiTimeouts = TIMEOUTS) -> None:
        self.page = page
        self.target = target
        self.timeouts = timeouts

    # -- selectors

    def has(self, name: str) -> bool:
        """Whether this generation's table names element `name` (optional elements)."""
        return name in self.selectors

    def sel(self, name: str) -> str:
        """The Playwright selector of logical element `name`, `{text:KEY}` filled from
        `texts`; HarnessError if this page has no such element or the text table no KEY."""
        try:
            raw = self.selectors[name]
        except KeyError:
            raise HarnessError(
                f"{self.target.generation} {self.page_name} page has no element {name!r} "
                f"in its selector table (known: {', '.join(sorted(self.selectors))})"
            ) from None
        return fill_texts(raw, self.texts, f"{self.target.generation} {self.page_name} page, "
                                           f"selector {name!r} ({raw})")

    def text(self, key: str) -> str:
        """The generation's text for i18n key `key`; HarnessError naming the page and key."""
        try:
            return self.texts[key]
        except KeyError:
            raise HarnessError(
                f"{self.target.generation} {self.page_name} page: no text {key!r} in the "
                "generation's text table"
            ) from None

    def el(self, name: str) -> Locator:
        """A locator of logical element `name`."""
        return self.page.locator(self.sel(name))

    def blank(self) -> bool:
        """Whether the page has loaded nothing yet (a test's new page): it shows no element,
        and asking the browser would only load Playwright's selector engine into a page
        that the next load replaces (0.05 s on a test's first step)."""
        return self.page.url == "about:blank"

    def showing(self, name: str) -> bool:
        """Whether element `name` (its first match) is visible now, without waiting."""
        return not self.blank() and bool(self.el(name).first.is_visible())

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
            refused = certificate_failure(self.target.name, url, first_line(exc))
            raise refused or DeviceError(
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
        locator = self.el(name).filter(visible=True).first
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
        except PlaywrightError as exc:  # a selector Playwright cannot parse is ours
            raise HarnessError(
                f"{self.target.name}: could not {action} {self.describe(name)} ({why}): "
                f"{first_line(exc)}"
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

    def click_for_answer(self, name: str, why: str, answer: str) -> Response:
        """Click element `name` and wait for the device's answer to the ISAPI call the
        `answers` table names under `answer`, then for the GUI to have drawn a frame.

        Why: a message left from a previous attempt looks like this attempt's answer
        ("5 attempt(s) left" and "4 attempt(s) left" alike to a wait for visibility); the
        response is the device's real signal that this attempt was answered. DeviceError
        when the GUI sent the call and the device never answered, or the GUI never sent it.
        """
        pattern = re.compile(self.answer_pattern(answer))
        matches: Callable[[Response], bool] = lambda r: bool(pattern.search(r.url))  # noqa: E731
        try:
            with self.page.expect_response(matches, timeout=self.timeouts.step_ms) as info:
                self.click(name, why)
            response = info.value
            response.finished()
        except PlaywrightTimeoutError:
            raise DeviceError(
                f"{self.target.name}: no answer to {answer} ({pattern.pattern}) within "
                f"{self.timeouts.step:g} s after {why} on the {self.target.generation} "
                f"{self.page_name} page; URL {self.page.url}"
            ) from None
        self.settle()
        return response

    def click_for_answer_or(
        self, name: str, why: str, answer: str, local: list[str]
    ) -> str | None:
        """Click `name`; None once the device answered ISAPI call `answer` (and the GUI drew
        it), or the element of `local` that shows when the GUI refused before sending
        anything (a mismatched confirm, a Risky password).

        The two are raced in short slices of the step's wait: each slice waits for the
        answer itself, which ends the slice the moment the answer arrives, and looks for
        `local` after a slice that brought none. Why not a wait for `local` per slice: that
        wait ran out its slice after the answer had come, up to 250 ms per action.
        """
        pattern = re.compile(self.answer_pattern(answer))
        seen: list[Response] = []

        def matches(response: Response) -> bool:
            return bool(pattern.search(response.url))

        def collect(response: Response) -> None:
            if matches(response):
                seen.append(response)

        local = [n for n in local if self.has(n)]
        shown = self.el(local[0]).filter(visible=True) if local else None
        for extra in local[1:]:
            assert shown is not None
            shown = shown.or_(self.el(extra).filter(visible=True))
        # `collect` keeps an answer that arrives between two slices (or before the first).
        self.page.on("response", collect)
        try:
            self.click(name, why)
            # Not harness.waits.wait_until: the wait must go through Playwright (its
            # time.sleep would not pump the page's events, so `collect` would never run).
            deadline = time.monotonic() + self.timeouts.step
            while not seen and time.monotonic() < deadline:
                with contextlib.suppress(PlaywrightTimeoutError):  # a slice without it
                    self.page.wait_for_event("response", matches, timeout=_SLICE_MS)
                if seen or shown is None or not shown.count():
                    continue
                return next(n for n in local if self.el(n).filter(visible=True).count())
        finally:
            self.page.remove_listener("response", collect)
        if not seen:
            raise DeviceError(
                f"{self.target.name}: no answer to {answer} ({pattern.pattern}) and no "
                f"refusal within {self.timeouts.step:g} s after {why} on the "
                f"{self.target.generation} {self.page_name} page; URL {self.page.url}"
            )
        seen[0].finished()
        self.settle()
        return None

    def answer_pattern(self, answer: str) -> str:
        """The URL pattern of ISAPI call `answer`; HarnessError when the table lacks it."""
        try:
            return self.answers[answer]
        except KeyError:
            raise HarnessError(
                f"{self.target.generation} {self.page_name} page has no ISAPI answer "
                f"{answer!r} in its table (known: {', '.join(sorted(self.answers))})"
            ) from None

    def settle(self) -> None:
        """Wait until the browser has drawn a frame after the last event, so the GUI's
        handler of an answer that just arrived has run and shown its message."""
        try:
            self.page.evaluate(
                "() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))"
            )
        except PlaywrightError as exc:
            # Real GUIs go to another page right after some answers (a login, a saved
            # reset method): the frame waited on is gone with the old page, and the
            # outcome waits that follow look at the new one.
            if "destroyed" not in str(exc) and "navigat" not in str(exc):
                raise

    def wait_any(self, names: list[str], why: str) -> str:
        """Wait until one of the elements `names` is visible; the first one that is.

        DeviceError naming every element waited for when none shows: the device did not
        answer the action (or answered with a page this generation does not have).
        Names the table lacks (optional elements) are skipped.
        """
        names = [n for n in names if self.has(n)]
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
        """The visible text of element `name`, stripped ('' when hidden, absent or not in
        this generation's table)."""
        if not self.has(name):
            return ""
        texts = self.el(name).filter(visible=True).all_inner_texts()  # one round trip
        return " ".join(t.strip() for t in texts if t.strip())

    def strength_in(self, shown: str) -> str | None:
        """The catalogue's level name for what the strength label shows, if it shows one."""
        for word, level in self.strength_words.items():
            if re.search(rf"\b{re.escape(word)}\b", shown, re.IGNORECASE):
                return level
        return None

    def read_strength(self, field: str, password: str, label: str) -> str:
        """Type `password` into `field` and read the level the strength label shows.

        The field is emptied first and the label seen without a level, so the reading
        belongs to this password and not to the one typed before (the GUI redraws the
        meter after the input event, not at once).
        """
        words = "|".join(re.escape(w) for w in self.strength_words)
        level_shown = self.el(label).filter(visible=True).filter(
            has_text=re.compile(rf"\b({words})\b", re.IGNORECASE)
        )
        self.fill(field, "", "empty the new-password field")
        try:
            level_shown.first.wait_for(state="detached", timeout=self.timeouts.step_ms)
        except PlaywrightTimeoutError:
            raise HarnessError(
                f"{self.target.name}: the strength meter still shows "
                f"{self.text_of(label)!r} for an empty password"
            ) from None
        self.fill(field, password, "the new-password field")
        try:
            level_shown.first.wait_for(state="visible", timeout=self.timeouts.step_ms)
        except PlaywrightTimeoutError:
            raise ProductDefect(
                f"{self.target.name}: the strength meter shows {self.text_of(label)!r}, "
                f"none of {', '.join(self.strength_words)}, within {self.timeouts.step:g} s "
                f"of typing a password ({self.describe(label)})"
            ) from None
        shown = " ".join(level_shown.all_inner_texts())
        level = self.strength_in(shown)
        if level is None:  # matched by the filter, so a level word is there
            raise HarnessError(f"{self.target.name}: strength text {shown!r} not understood")
        return level


def fill_texts(selector: str, texts: Mapping[str, str], where: str) -> str:
    """`selector` with each `{text:KEY}` replaced by `texts[KEY]`; HarnessError naming
    `where` (page and selector) and the missing key."""

    def one(match: re.Match[str]) -> str:
        key = match[1]
        try:
            return texts[key]
        except KeyError:
            raise HarnessError(
                f"{where}: no text {key!r} in the generation's text table"
            ) from None

    return _PLACEHOLDER_RE.sub(one, selector)


__all__ = [
    "TIMEOUTS",
    "GuiPage",
    "GuiTarget",
    "GuiTimeouts",
    "LoginResult",
    "ResetOutcome",
    "attempts_in",
    "duration_in",
    "fill_texts",
    "first_line",
]
