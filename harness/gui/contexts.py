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
the HTTP cache, routes, and permissions, extra headers and offline mode beyond what the
context was made with. Not cleared, because the network stack keeps them out of reach:
open connections, TLS sessions, HSTS and the HTTP-auth cache; a device's tests share them
as one user's visits would (the GUIs log in with their own scripts and cookies, not the
browser's authentication), and `--fresh-context` is there if that ever matters. A failed
test's context is closed, not scrubbed:
whatever went wrong must not reach the next test, and a failure is rare enough to pay for
a new context.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, Frame, Page


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) URL; None for about:, data: and the like."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def empty(context: BrowserContext, args: Mapping[str, Any]) -> set[str]:
    """Close every page of `context` and undo what a test may have changed on it: cookies,
    routes; permissions, extra headers and offline mode as `args` (the context's own
    arguments) say. The origins the pages showed, whose storage is still to clear."""
    pages = list(context.pages)
    origins = {o for p in pages for f in p.frames if (o := origin_of(f.url))}
    # Pages first: what their unload handlers write must not outlive the clearing.
    for page in pages:
        page.close()
    context.clear_cookies()
    context.clear_permissions()
    if args.get("permissions"):
        context.grant_permissions(list(args["permissions"]))
    context.unroute_all(behavior="ignoreErrors")
    context.set_extra_http_headers(dict(args.get("extra_http_headers") or {}))
    context.set_offline(bool(args.get("offline", False)))
    return origins


def clear_storage(page: Page, origins: set[str]) -> None:
    """Clear the HTTP cache of `page`'s context and every kind of storage of `origins`,
    over the Chrome DevTools Protocol (which needs a page: the next test's own, still
    blank, so that clearing costs no page of its own)."""
    session = page.context.new_cdp_session(page)
    try:
        session.send("Network.clearBrowserCache")
        for origin in sorted(origins):
            session.send("Storage.clearDataForOrigin",
                         {"origin": origin, "storageTypes": "all"})
    finally:
        session.detach()


class DeviceContexts:
    """Per worker: the browser context of the device whose tests are running."""

    def __init__(self, browser: Browser, args: Mapping[str, Any]) -> None:
        self._browser = browser
        self._args = dict(args)
        self._device: str | None = None
        self._context: BrowserContext | None = None
        self._origins: set[str] = set()
        self._emptied = False  # storage and cache still to clear before the next test
        self._ready: Page | None = None  # the next test's page, cleared

    def _new_context(self, device: str) -> BrowserContext:
        self.close()
        context = self._browser.new_context(**self._args)
        # Every origin any frame shows, even for a moment, has its storage cleared.
        context.on("page", self._watch)
        self._context, self._device = context, device
        return context

    def context_for(self, device: str, base_url: str) -> BrowserContext:
        """The context for a test on `device`: the block's own, or a new one when the
        device changed (the previous device's context is closed)."""
        origin = origin_of(base_url)
        if self._context is None or self._device != device:
            context = self._new_context(device)
        else:
            context = self._context
            if self._emptied:
                try:
                    page = context.new_page()
                    clear_storage(page, self._origins)
                except Exception:
                    # Not cleared, not reused: the test gets a new context.
                    context = self._new_context(device)
                else:
                    self._ready, self._emptied = page, False
        if origin:
            self._origins.add(origin)
        return context

    def page(self) -> Page:
        """The test's page: the one prepared by `context_for`, else a new one."""
        if self._context is None:
            raise RuntimeError("DeviceContexts.page() before context_for()")
        page, self._ready = self._ready, None
        if page is None or page.is_closed():
            page = self._context.new_page()
        return page

    def _watch(self, page: Page) -> None:
        page.on("framenavigated", self._navigated)

    def _navigated(self, frame: Frame) -> None:
        origin = origin_of(frame.url)
        if origin:
            self._origins.add(origin)

    def release(self, *, failed: bool) -> None:
        """After a test: empty the context for the device's next test (its storage and
        cache are cleared when that test asks for it), or close it when the test failed
        or the emptying did not succeed."""
        if self._context is None:
            return
        if failed:
            self.close()
            return
        try:
            self._origins |= empty(self._context, self._args)
        except Exception:
            # A context that cannot be emptied is not reused; the next test gets a new one.
            self.close()
        else:
            self._ready, self._emptied = None, True

    def close(self) -> None:
        """Close the current context, if any (nothing to do after the browser closed)."""
        context, self._context, self._device = self._context, None, None
        self._origins, self._emptied, self._ready = set(), False, None
        if context is not None:
            with contextlib.suppress(Exception):
                context.close()
