"""The per-device browser context (harness.gui.contexts) against a real Chromium and two
real HTTP servers on loopback: what one test leaves in the browser, the next test on the
same device must not find."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page
from test_report import PLUGIN_ARGS, RunPytest, WriteInventory

from harness.gui.contexts import DeviceContexts, origin_of

PAGE = b"<!DOCTYPE html><html><body><p>device</p></body></html>"


class _Site(ThreadingHTTPServer):
    """A device stand-in: a page, and a script the browser may cache for an hour."""

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        self.script_hits = 0
        self.last_headers: dict[str, str] = {}


class _Handler(BaseHTTPRequestHandler):
    server: _Site

    def do_GET(self) -> None:
        self.server.last_headers = {k.lower(): v for k, v in self.headers.items()}
        if self.path == "/cached.js":
            self.server.script_hits += 1
            body, kind, extra = b"var cached = 1;", "text/javascript", ("Cache-Control",
                                                                       "max-age=3600")
        else:
            body, kind, extra = PAGE, "text/html", ("Cache-Control", "no-store")
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header(*extra)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def sites() -> Iterator[tuple[_Site, _Site]]:
    servers = (_Site(("127.0.0.1", 0)), _Site(("127.0.0.1", 0)))
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()


MakeContexts = Callable[[dict[str, Any]], DeviceContexts]


@pytest.fixture
def make_contexts(browser: Browser) -> Iterator[MakeContexts]:
    """`make_contexts(args)`: a DeviceContexts on the session's browser, closed after."""
    made: list[DeviceContexts] = []

    def make(args: dict[str, Any]) -> DeviceContexts:
        made.append(DeviceContexts(browser, args))
        return made[-1]

    yield make
    for contexts in made:
        contexts.close()


def _url(site: _Site) -> str:
    host, port = site.server_address[:2]
    return f"http://{host!s}:{port}/"


def _leave_traces(page: Page) -> None:
    """What a test could leave: cookie, both storages, an IndexedDB, a cached script, and
    what the page writes as it is left."""
    page.evaluate("""async () => {
        addEventListener("pagehide", () => { sessionStorage.setItem("left", "1");
            localStorage.setItem("left", "1"); document.cookie = "left=1; path=/"; });
        document.cookie = "session=abc; max-age=3600; path=/";
        localStorage.setItem("lang", "de"); sessionStorage.setItem("tab", "1");
        await new Promise((ok, bad) => { const r = indexedDB.open("gui", 1);
            r.onupgradeneeded = () => r.result.createObjectStore("s");
            r.onsuccess = () => { r.result.close(); ok(); }; r.onerror = bad; });
        await fetch("/cached.js"); await fetch("/cached.js");
    }""")


def _traces(page: Page) -> dict[str, Any]:
    return dict(page.evaluate("""async () => ({
        cookie: document.cookie, local: localStorage.length, session: sessionStorage.length,
        databases: (await indexedDB.databases()).map(d => d.name),
    })"""))


EMPTY = {"cookie": "", "local": 0, "session": 0, "databases": []}


def test_next_test_on_the_device_finds_a_fresh_browser(
    make_contexts: MakeContexts, sites: tuple[_Site, _Site]
) -> None:
    device, other = sites
    contexts = make_contexts({})
    context = contexts.context_for("dev", _url(device))
    page = contexts.page()
    # A second origin shown for a moment (as a redirect would) is scrubbed too.
    page.goto(_url(other))
    _leave_traces(page)
    page.goto(_url(device))
    _leave_traces(page)
    # Cookies ignore the port: leaving the other site wrote "left" for both.
    assert _traces(page) == {"cookie": "session=abc; left=1", "local": 1, "session": 1,
                             "databases": ["gui"]}
    assert device.script_hits == 1, "the script was not cached: the check proves nothing"
    # A cookie for a host no page showed (as a Set-Cookie from a fetch could leave).
    context.add_cookies([{"name": "k", "value": "v", "url": "http://127.0.0.9/"}])

    contexts.release(failed=False)

    again = contexts.context_for("dev", _url(device))
    assert again is context, "the device's context was not reused"
    fresh = contexts.page()
    assert fresh is page, "the device's page was not reused"
    assert again.pages == [fresh], "the previous test's pages survived"
    assert fresh.url == "about:blank"
    assert fresh.evaluate("history.length") == 1, "the previous test's history survived"
    assert again.cookies() == [], "cookies survived the scrub"
    for site in (other, device):
        fresh.goto(_url(site))
        assert _traces(fresh) == EMPTY, f"left in the browser for {_url(site)}"
    fresh.evaluate("fetch('/cached.js')")
    assert device.script_hits == 2, "the HTTP cache survived the scrub"


def _closed(context: BrowserContext) -> list[bool]:
    flag = [False]
    context.on("close", lambda _: flag.__setitem__(0, True))
    return flag


def test_failure_or_another_device_gets_a_new_context(
    make_contexts: MakeContexts, sites: tuple[_Site, _Site]
) -> None:
    device, other = sites
    contexts = make_contexts({})
    first = contexts.context_for("dev", _url(device))
    first_closed = _closed(first)
    contexts.page().goto(_url(device))
    contexts.release(failed=True)
    assert first_closed == [True], "a failed test's context was kept"

    second = contexts.context_for("dev", _url(device))
    assert second is not first
    second_closed = _closed(second)
    contexts.release(failed=False)
    third = contexts.context_for("other", _url(other))
    assert third is not second and second_closed == [True], (
        "the previous device's context was not closed when the device changed")


def test_what_a_test_changed_in_the_context_is_undone(
    make_contexts: MakeContexts, sites: tuple[_Site, _Site]
) -> None:
    device, _ = sites
    contexts = make_contexts({"extra_http_headers": {"X-Lab": "bench-7"}})
    context = contexts.context_for("dev", _url(device))
    contexts.page().goto(_url(device))
    context.route("**/cached.js", lambda route: route.abort())
    context.set_extra_http_headers({"X-Leak": "1"})
    context.grant_permissions(["geolocation"])
    context.set_offline(True)

    contexts.release(failed=False)

    contexts.context_for("dev", _url(device))
    page = contexts.page()
    page.goto(_url(device))  # offline mode would fail this
    assert page.evaluate("fetch('/cached.js').then(r => r.status)") == 200, "route kept"
    assert device.last_headers.get("x-lab") == "bench-7", "the context's own header lost"
    assert "x-leak" not in device.last_headers, "a test's extra header survived"
    state = page.evaluate("navigator.permissions.query({name: 'geolocation'})"
                          ".then(s => s.state)")
    assert state == "prompt", "a granted permission survived"


def test_what_a_test_changed_on_its_page_is_undone(
    make_contexts: MakeContexts, sites: tuple[_Site, _Site]
) -> None:
    device, _ = sites
    contexts = make_contexts({})
    contexts.context_for("dev", _url(device))
    page = contexts.page()
    size = page.viewport_size
    page.route("**/cached.js", lambda route: route.abort())
    page.set_extra_http_headers({"X-Leak": "1"})
    page.set_viewport_size({"width": 320, "height": 200})
    popup = page.context.new_page()  # as a link with target=_blank would open
    page.goto(_url(device))

    contexts.release(failed=False)

    contexts.context_for("dev", _url(device))
    again = contexts.page()
    assert again is page and popup.is_closed()
    again.goto(_url(device))
    assert again.evaluate("fetch('/cached.js').then(r => r.status)") == 200, "route kept"
    assert "x-leak" not in device.last_headers, "the page's extra header survived"
    assert again.viewport_size == size, "the viewport was not restored"


def _listen(page: Page) -> None:
    page.on("dialog", lambda dialog: dialog.accept())


def _wait_for_an_event(page: Page) -> None:
    with page.expect_console_message():
        page.evaluate("console.log('x')")


@pytest.mark.parametrize(("test_did", "reused"), [
    (_listen, False), (Page.close, False), (_wait_for_an_event, True),
], ids=["left-a-listener", "closed-its-page", "waited-for-an-event"])
def test_a_page_left_with_a_listener_or_closed_is_replaced(
    make_contexts: MakeContexts, sites: tuple[_Site, _Site],
    test_did: Callable[[Page], None], reused: bool,
) -> None:
    device, _ = sites
    contexts = make_contexts({})
    contexts.context_for("dev", _url(device))
    page = contexts.page()
    page.goto(_url(device))
    test_did(page)

    contexts.release(failed=False)

    contexts.context_for("dev", _url(device))
    again = contexts.page()
    assert (again is page) is reused
    assert page.is_closed() is not reused
    assert again.context.pages == [again]
    # What the previous test's listener would do, the next test does not meet: a dialog
    # nobody handles is dismissed.
    assert again.evaluate("confirm('reset?')") is False


def test_a_context_that_cannot_be_scrubbed_is_replaced(
    make_contexts: MakeContexts, sites: tuple[_Site, _Site]
) -> None:
    device, _ = sites
    contexts = make_contexts({})
    context = contexts.context_for("dev", _url(device))
    context.close()  # as a test that closed it itself
    contexts.release(failed=False)
    replacement = contexts.context_for("dev", _url(device))
    assert replacement is not context
    contexts.page().goto(_url(device))


@pytest.mark.parametrize(("url", "origin"), [
    ("http://127.0.0.1:8080/doc/page/login.asp?x=1", "http://127.0.0.1:8080"),
    ("https://[::1]/", "https://[::1]"),
    ("about:blank", None),
    ("data:text/html,x", None),
])
def test_origin_of(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin


# The fixture wiring, in a run of its own, over two devices: a device's tests share its
# context and page, emptied between them; a failed test's context is closed; a device's
# last test closes its context without scrubbing it; --fresh-context gives each test its
# own. A device's tests run in file order (no ordering markers), on one process.
WIRING_SUITE = '''
import os
import pytest

SEEN = {}
FRESH = os.environ["EXPECT_FRESH"] == "1"
LAST = []  # the page of the previous device's last test


def _open(page, dut):
    # A plain file of the device: its GUI pages move on by script, which would race.
    page.goto(dut.base_url.rstrip("/") + "/SDK/guiConfig.js")


def test_a_leaves_storage(dut, page):
    if LAST:
        assert LAST[0].is_closed(), "the previous device's context outlived its block"
        assert LAST[0].url != "about:blank", "a context was scrubbed with no test to come"
    _open(page, dut)
    page.evaluate("localStorage.setItem('left', 'by a')")
    SEEN[dut.name] = [(page.context, page)]


def test_b_same_context_but_empty(dut, page):
    context, first_page = SEEN[dut.name][0]
    assert (page.context is context) is not FRESH
    assert (page is first_page) is not FRESH
    _open(page, dut)
    assert page.evaluate("localStorage.length") == 0
    SEEN[dut.name].append((page.context, page))
    assert False, "deliberate failure: its context must not be reused"


def test_c_after_a_failure(dut, page):
    failed_context, _ = SEEN[dut.name][1]
    assert page.context is not failed_context
    assert failed_context.pages == []
    _open(page, dut)
    LAST[:] = [page]
'''


@pytest.mark.parametrize("fresh", [False, True], ids=["shared", "fresh-context"])
def test_suites_share_a_scrubbed_context_per_device(
    run_pytest: RunPytest, write_inventory: WriteInventory, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, fresh: bool,
) -> None:
    devices = write_inventory([
        {"name": "nvr", "kind": "emulated", "model": "DS-7608NI-K2", "firmware": "V4.21.000"},
        {"name": "ipc", "kind": "emulated", "model": "DS-2CD2143G2-I", "firmware": "V5.6.0"},
    ])
    suite = tmp_path / "test_wiring.py"
    suite.write_text(WIRING_SUITE)
    monkeypatch.setenv("EXPECT_FRESH", "1" if fresh else "0")
    result = run_pytest(*PLUGIN_ARGS, str(suite), "-q", "-rA", "--devices", str(devices),
                        "--lab-workdir", str(tmp_path / "lab"),
                        *(["--fresh-context"] if fresh else []))
    out = result.stdout[-4000:] + result.stderr[-2000:]
    assert result.returncode == 1 and "2 failed, 4 passed" in out, out
    failed = [line for line in out.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 2 and all("test_b_same_context_but_empty" in f for f in failed), out
    assert "deliberate failure" in out, out
