"""Which GUI generation a device serves, recognised from what it serves (spec §2).

Opening `/` on real firmware runs a script redirect: the classic camera GUI lands on
`/doc/page/login.asp?_<ms>` and boots its app there (`#username`, `#password`, or the
activation popup `#active` on an inactive camera); the
recorder and the newer camera GUI land on `/doc/index.html#/portal/login`, a single-page
app whose shell is `#portal`. The two SPA generations share that shell, so the catalogue's
expectation (`GuiTarget.generation`) picks between them.

A page that matches no known generation is our problem (`UnrecognisedGui`, a
`HarnessError`, with a screenshot attached as evidence); a known generation other than the
one the catalogue expects for the device's line and firmware is the firmware's
(`ProductDefect`).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Final

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from harness.catalogue import GuiGeneration
from harness.errors import DeviceError, HarnessError, ProductDefect
from harness.gui.base import TIMEOUTS, GuiTarget, GuiTimeouts, first_line
from harness.gui.certificates import certificate_failure

SEEN_TEXT_CHARS: Final = 120  # of the page's text quoted in an unrecognised-GUI error


@dataclass(frozen=True)
class Signature:
    """How a generation's entry page looks once it has landed: the URL it lands on (a
    pattern over the whole URL, fragment included) and the app shell that shows once the
    app has booted."""

    landing: re.Pattern[str]
    shell: str


# An inactive classic camera shows only the activation popup (#active), an active one the
# login fields.
_CLASSIC: Final = Signature(
    re.compile(r"/doc/page/login\.asp(\?|#|$)"), "#username, #password, #active"
)
_SPA: Final = Signature(re.compile(r"/doc/index\.html(\?[^#]*)?#/portal(/|$)"), "#portal")

SIGNATURES: Final[dict[GuiGeneration, Signature]] = {
    GuiGeneration.CAMERA_CLASSIC: _CLASSIC,
    GuiGeneration.RECORDER: _SPA,
    GuiGeneration.CAMERA_SPA: _SPA,
}


class UnrecognisedGui(HarnessError):
    """The device serves a page that matches no known GUI generation.

    `screenshot` is what the page showed (also attached to the running test).
    """

    def __init__(self, url: str, seen: str, screenshot: bytes = b"") -> None:
        super().__init__(f"unrecognised GUI at {url}: {seen}")
        self.url = url
        self.seen = seen
        self.screenshot = screenshot


def landing_generations(url: str) -> list[GuiGeneration]:
    """The generations whose entry page lands on `url` (several share the SPA shell)."""
    return [g for g, sig in SIGNATURES.items() if sig.landing.search(url)]


def recognise(page: Page, target: GuiTarget, timeouts: GuiTimeouts = TIMEOUTS) -> GuiGeneration:
    """Open the device's `/`, follow its redirect, and tell which generation it serves.

    Returns the catalogue's expected generation when the page is one of its shape.
    `UnrecognisedGui` (HarnessError, screenshot attached) when the page matches no known
    generation; `ProductDefect` when it is another known generation than the catalogue
    expects; `DeviceError` when `/` does not load at all.
    """
    entry = target.url("/")
    try:
        response = page.goto(entry, timeout=timeouts.page_load_ms)
    except PlaywrightTimeoutError:
        raise DeviceError(
            f"{target.name}: {entry} did not load within {timeouts.page_load:g} s"
        ) from None
    except PlaywrightError as exc:
        refused = certificate_failure(target.name, entry, first_line(exc))
        raise refused or DeviceError(
            f"{target.name}: {entry} did not load ({first_line(exc)})") from None
    if response is not None and response.status >= 400:
        raise DeviceError(f"{target.name}: {entry} answered HTTP {response.status}")
    # The redirects are the pages' own scripts (the SPA generations pass through
    # login.asp too), so wait for any known app shell to show, wherever it lands.
    shells = [page.locator(sig.shell) for sig in dict.fromkeys(SIGNATURES.values())]
    any_shell = shells[0]
    for other in shells[1:]:
        any_shell = any_shell.or_(other)
    try:
        any_shell.first.wait_for(state="visible", timeout=timeouts.page_load_ms)
    except PlaywrightTimeoutError:
        raise _unrecognised(page, "none of the known GUIs' app shells ("
                            + ", ".join(dict.fromkeys(s.shell for s in SIGNATURES.values()))
                            + ")") from None
    candidates = [g for g in landing_generations(page.url)
                  if page.locator(SIGNATURES[g].shell).first.is_visible()]
    if not candidates:
        raise _unrecognised(page, "an app shell on a page that is no known GUI's entry page "
                                  "(/doc/page/login.asp or /doc/index.html#/portal/…)")
    expected = GuiGeneration(target.generation)
    if expected in candidates:
        return expected
    raise ProductDefect(
        f"{target.name}: serves the {' or '.join(str(g) for g in candidates)} GUI "
        f"(landed on {page.url}), the catalogue expects the {expected} GUI at its firmware"
    )


def _unrecognised(page: Page, missing: str) -> UnrecognisedGui:
    """The error for a page of no known shape, with what it showed and a screenshot."""
    url = page.url
    title, text, png = "", "", b""
    # Evidence only: a page that cannot be read further still gets its error.
    with contextlib.suppress(PlaywrightError):
        title = page.title()
        text = " ".join(page.locator("body").inner_text(timeout=2000).split())
    with contextlib.suppress(PlaywrightError):
        png = page.screenshot(timeout=5000)
    if png:
        from harness.attachments import attach_png  # allure: only when there is evidence

        attach_png("unrecognised GUI", png)
    quoted = text[:SEEN_TEXT_CHARS] + ("…" if len(text) > SEEN_TEXT_CHARS else "")
    seen = f"{missing}; title {title!r}, text {quoted!r}"
    return UnrecognisedGui(url, seen, png)


__all__ = [
    "SIGNATURES",
    "Signature",
    "UnrecognisedGui",
    "landing_generations",
    "recognise",
]
