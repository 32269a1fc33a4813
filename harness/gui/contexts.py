"""One browser context and one page per device, handed to that device's tests one after
another, and scrubbed between them so that each test still meets a browser that never saw
the device.

Why: a new Playwright context per test costs Chromium about twice the CPU of a new page in
an existing one (a login cycle: 2.4 s against 1.2 s of CPU), and a new page per test about
40 % more than reusing one (22 tests on 4 devices: 41 against 29 CPU-s of Chromium;
docs/performance.md). CPU, not the devices, is what a run with several xdist workers on
two cores waits for. A device's tests run back to back on one
worker (fixtures.matrix), so the context lives exactly as long as that block.

What a test may leave behind and the scrub removes: other pages it opened; on the page it
is handed, the document (the page goes back to about:blank, so unload handlers run before
anything is cleared), its history, routes, extra headers and viewport; cookies, every kind
of origin storage (localStorage, sessionStorage, IndexedDB, Cache Storage, service
workers) of each origin any page showed, the HTTP cache, routes, and permissions, extra
headers and offline mode beyond what the context was made with. A page the test left with
an event listener of its own, or closed, or whose viewport cannot be restored, is closed
and the next test gets a new one. Not undone (suites must not use them on the shared page;
docs/writing-suites.md): init scripts, exposed functions, default timeouts and media
emulation. Not cleared, because the network stack keeps them out of reach:
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
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import (
    Browser,
    BrowserContext,
    CDPSession,
    Frame,
    Page,
    ViewportSize,
)


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) URL; None for about:, data: and the like."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def frame_origins(context: BrowserContext) -> set[str]:
    """The origins the frames of `context`'s pages show now."""
    return {o for p in context.pages for f in p.frames if (o := origin_of(f.url))}


def listener_counts(page: Page) -> dict[str, int] | None:
    """How many Python listeners `page` has per event, Playwright's own included; None if
    that cannot be told. Playwright has no public way to list them; its event emitter,
    behind the sync API, can count them."""
    emitter = getattr(page, "_impl_obj", None)
    try:
        return {str(name): int(emitter.listener_count(name))  # type: ignore[union-attr]
                for name in emitter.event_names()}  # type: ignore[union-attr]
    except Exception:
        return None


def empty(context: BrowserContext, args: Mapping[str, Any], keep: Page | None = None) -> None:
    """Close every page of `context` but `keep` and undo what a test may have changed on
    the context: cookies, routes; permissions, extra headers and offline mode as `args`
    (the context's own arguments) say."""
    # Pages first: what their unload handlers write must not outlive the clearing.
    for page in context.pages:
        if page is not keep:
            page.close()
    context.clear_cookies()
    context.clear_permissions()
    if args.get("permissions"):
        context.grant_permissions(list(args["permissions"]))
    context.unroute_all(behavior="ignoreErrors")
    context.set_extra_http_headers(dict(args.get("extra_http_headers") or {}))
    context.set_offline(bool(args.get("offline", False)))


def clear_storage(session: CDPSession, origins: set[str]) -> None:
    """Clear the HTTP cache of the session's context and every kind of storage of
    `origins`, sessionStorage of its page included, over the Chrome DevTools Protocol."""
    session.send("Network.clearBrowserCache")
    for origin in sorted(origins):
        session.send("Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"})


@dataclass
class _KeptPage:
    """The page a device's tests are handed in turn, and what it was like when new."""

    page: Page
    session: CDPSession
    viewport: ViewportSize | None
    listeners: dict[str, int] = field(default_factory=dict)

    def reset(self) -> bool:
        """Put the page back as it was when new; False when it cannot be reused: closed,
        crashed, left with a listener of the test's own, or a viewport not restorable."""
        page = self.page
        counts = listener_counts(page)
        if page.is_closed() or counts is None or any(
                n > self.listeners.get(name, 0) for name, n in counts.items()):
            return False
        try:
            page.goto("about:blank")
            self.session.send("Page.resetNavigationHistory")
            page.unroute_all(behavior="ignoreErrors")
            page.set_extra_http_headers({})
            if page.viewport_size != self.viewport:
                if self.viewport is None:
                    return False
                page.set_viewport_size(self.viewport)
        except Exception:
            return False
        return True


class DeviceContexts:
    """Per worker: the browser context and page of the device whose tests are running."""

    def __init__(self, browser: Browser, args: Mapping[str, Any]) -> None:
        self._browser = browser
        self._args = dict(args)
        self._device: str | None = None
        self._context: BrowserContext | None = None
        self._origins: set[str] = set()
        self._watched: set[Page] = set()
        self._emptied = False  # storage and cache still to clear before the next test
        self._kept: _KeptPage | None = None

    def _new_context(self, device: str) -> BrowserContext:
        self.close()
        context = self._browser.new_context(**self._args)
        # Every origin any frame shows, even for a moment, has its storage cleared.
        context.on("page", self._watch)
        self._context, self._device = context, device
        return context

    def _keep_new_page(self, context: BrowserContext) -> _KeptPage:
        page = context.new_page()
        self._watch(page)  # before the count: the listener is the harness's own
        kept = _KeptPage(page, context.new_cdp_session(page), page.viewport_size)
        kept.listeners = listener_counts(page) or {}
        self._kept = kept
        return kept

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
                    kept = self._kept or self._keep_new_page(context)
                    clear_storage(kept.session, self._origins)
                except Exception:
                    # Not cleared, not reused: the test gets a new context.
                    context = self._new_context(device)
                else:
                    self._emptied = False
        if origin:
            self._origins.add(origin)
        return context

    def page(self) -> Page:
        """The test's page: the device's page, scrubbed by `context_for`, or a new one."""
        if self._context is None:
            raise RuntimeError("DeviceContexts.page() before context_for()")
        if self._kept is None or self._kept.page.is_closed():
            self._keep_new_page(self._context)
        assert self._kept is not None
        return self._kept.page

    def _watch(self, page: Page) -> None:
        if page not in self._watched:
            self._watched.add(page)
            page.on("framenavigated", self._navigated)

    def _navigated(self, frame: Frame) -> None:
        origin = origin_of(frame.url)
        if origin:
            self._origins.add(origin)

    def release(self, *, failed: bool) -> None:
        """After a test: scrub the context and its page for the device's next test (storage
        and cache are cleared when that test asks for it), or close the context when the
        test failed or the scrubbing did not succeed."""
        if self._context is None:
            return
        if failed:
            self.close()
            return
        try:
            self._origins |= frame_origins(self._context)
            if self._kept is not None and not self._kept.reset():
                with contextlib.suppress(Exception):
                    self._kept.page.close()
                self._kept = None
            empty(self._context, self._args, keep=self._kept.page if self._kept else None)
        except Exception:
            # A context that cannot be emptied is not reused; the next test gets a new one.
            self.close()
        else:
            self._emptied = True

    def close(self) -> None:
        """Close the current context, if any (nothing to do after the browser closed)."""
        context, self._context, self._device = self._context, None, None
        self._origins, self._emptied, self._kept = set(), False, None
        self._watched = set()
        if context is not None:
            with contextlib.suppress(Exception):
                context.close()


# What a browser whose user turned cookies off tells a page. Real GUIs read it before they
# log in (spec §2, `cookieError`); Playwright cannot turn Chromium's cookies off for one
# context, so the page is told so before any of its scripts runs.
_COOKIES_OFF = "Object.defineProperty(Navigator.prototype, 'cookieEnabled', {get: () => false});"


def report_cookies_off(context: BrowserContext) -> None:
    """Make every page of `context` (a context of the test's own, never a device's shared
    one: init scripts cannot be undone) report that cookies are disabled."""
    context.add_init_script(_COOKIES_OFF)
