"""One browser context per device, handed to that device's tests one after another, and
scrubbed between them so that each test still meets a browser that never saw the device.

Why: a new Playwright context per test costs Chromium about twice the CPU of a new page in
an existing one (a login cycle: 2.4 s against 1.2 s of CPU, docs/performance.md), and CPU,
not the devices, is what a run with several xdist workers on two cores waits for. A
device's tests run back to back on one worker (fixtures.matrix), so the context lives
exactly as long as that block.

What a test may leave behind and the scrub removes: its pages (each test gets a new one:
fresh script state, history and sessionStorage), cookies, every kind of origin storage
(localStorage, IndexedDB, Cache Storage, service workers) of each origin the pages showed,
the HTTP cache and granted permissions. A failed test's context is closed, not scrubbed:
whatever went wrong must not reach the next test, and a failure is rare enough to pay for
a new context.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Final
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Frame, Page

SCRUB_TIMEOUT_MS: Final = 10_000


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) URL; None for about:, data: and the like."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def scrub(context: BrowserContext, origins: set[str]) -> None:
    """Leave `context` as a fresh one: no pages, cookies, storage, cache or permissions.

    `origins`: the origins whose storage to clear, beside those the open pages show.
    """
    pages = list(context.pages)
    origins = set(origins) | {o for p in pages for f in p.frames if (o := origin_of(f.url))}
    # Storage and cache are cleared over the Chrome DevTools Protocol, which needs a page.
    tool = pages[0] if pages else context.new_page()
    session = context.new_cdp_session(tool)
    try:
        session.send("Network.clearBrowserCache")
        for origin in sorted(origins):
            session.send("Storage.clearDataForOrigin",
                         {"origin": origin, "storageTypes": "all"})
    finally:
        session.detach()
    for page in [*pages, tool]:
        if not page.is_closed():
            page.close()
    context.clear_cookies()
    context.clear_permissions()


class DeviceContexts:
    """Per worker: the browser context of the device whose tests are running."""

    def __init__(self, create: Callable[[], BrowserContext]) -> None:
        self._create = create
        self._device: str | None = None
        self._context: BrowserContext | None = None
        self._origins: set[str] = set()

    def context_for(self, device: str, base_url: str) -> BrowserContext:
        """The context for a test on `device`: the block's own, or a new one when the
        device changed (the previous device's context is closed)."""
        if self._context is None or self._device != device:
            self.close()
            self._context = self._create()
            self._device = device
            # Every origin any frame shows, even for a moment, has its storage cleared.
            self._context.on("page", self._watch)
        origin = origin_of(base_url)
        if origin:
            self._origins.add(origin)
        return self._context

    def _watch(self, page: Page) -> None:
        page.on("framenavigated", self._navigated)

    def _navigated(self, frame: Frame) -> None:
        origin = origin_of(frame.url)
        if origin:
            self._origins.add(origin)

    def release(self, *, failed: bool) -> None:
        """After a test: scrub the context for the device's next test, or close it when
        the test failed or the scrub did not succeed."""
        if self._context is None:
            return
        if failed:
            self.close()
            return
        try:
            scrub(self._context, self._origins)
        except Exception:
            # A context that cannot be scrubbed is not reused; the next test gets a new one.
            self.close()

    def close(self) -> None:
        """Close the current context, if any (nothing to do after the browser closed)."""
        context, self._context, self._device = self._context, None, None
        self._origins = set()
        if context is not None:
            with contextlib.suppress(Exception):
                context.close()
