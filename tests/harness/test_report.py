"""Allure reporting: run files, masking of traces and mails, and a real run whose whole
alluredir is searched for the run's secrets (passwords typed in the GUI, mailed codes)."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from harness.catalogue import find_verification_code
from harness.clients.mail import MaildirMailbox, ReceivedMail
from harness.evidence import Secrets
from harness.report.allure import (
    CATEGORIES,
    find_secrets,
    mask_trace_zip,
    render_mails,
    write_run_files,
)
from harness.report.html import generate_report

# The root conftest.py is not above a temporary test file, so its plugins are named here;
# pytest-playwright first, so that fixtures.browser's launch arguments override its own.
PLUGIN_ARGS = ("-p", "no:playwright", "-p", "pytest_playwright.pytest_playwright",
               "-p", "fixtures.lab", "-p", "fixtures.matrix", "-p", "fixtures.devices",
               "-p", "fixtures.browser", "-p", "fixtures.reporting")
RunPytest = Callable[..., subprocess.CompletedProcess[str]]
WriteInventory = Callable[..., Path]


def test_run_files(tmp_path: Path) -> None:
    write_run_files(tmp_path, environment={"run": "r1", "inventory": "a=b.yaml"},
                    executor={"name": "here", "type": "local"})
    assert (tmp_path / "environment.properties").read_text() == "run=r1\ninventory=a\\=b.yaml\n"
    assert json.loads((tmp_path / "executor.json").read_text())["name"] == "here"
    names = [c["name"] for c in json.loads((tmp_path / "categories.json").read_text())]
    for kind in ("Product defect", "Infrastructure", "Device", "Harness"):
        assert kind in names
    # Product defects are the failed tests; every other kind is broken.
    assert CATEGORIES[0]["matchedStatuses"] == ["failed"]
    assert all(c["matchedStatuses"] == ["broken"] for c in CATEGORIES[1:])


def test_trace_zip_is_masked(tmp_path: Path) -> None:
    secrets = Secrets(["Typed-Pass7!", "QWERTY23"])
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:
        archive.writestr("trace.trace", '{"type":"fill","value":"Typed-Pass7!"}\n')
        archive.writestr("resources/page.html", "<input value='qwerty23'>")
        archive.writestr("resources/shot.jpeg", b"\xff\xd8\xff binary")
    masked = mask_trace_zip(raw.getvalue(), secrets)
    (tmp_path / "trace.zip").write_bytes(masked)
    assert find_secrets(tmp_path, ["Typed-Pass7!", "QWERTY23"]) == []
    with zipfile.ZipFile(io.BytesIO(masked)) as archive:
        assert archive.read("resources/shot.jpeg") == b"\xff\xd8\xff binary"
        assert "***" in archive.read("trace.trace").decode()


# The shapes Playwright 1.65 writes: the network log is HAR with headers and parsed
# cookies, bodies are members of resources/ (named by their hash).
BROWSER_SESSION = "9f2c4e6a8b0d1f3e"
RESET_TOKEN = "rt-5e7a9c1b3d"
NETWORK_LOG = (
    '{"type":"resource-snapshot","snapshot":{"request":{"method":"GET","url":'
    '"http://127.0.0.1:8080/","cookies":[{"name":"WebSession_ab12","value":"9f2c4e6a8b0d1f3e"}],'
    '"headers":[{"name":"Cookie","value":"WebSession_ab12=9f2c4e6a8b0d1f3e; lang=en"},'
    '{"name":"Host","value":"127.0.0.1:8080"}],"postData":{"mimeType":"application/json",'
    '"text":"{\\"EmailCertification\\":{\\"securityCode\\":\\"rt-5e7a9c1b3d\\"}}"}},'
    '"response":{"status":200,"cookies":[{"name":"WebSession_ab12","value":"9f2c4e6a8b0d1f3e",'
    '"path":"/","httpOnly":true}],"headers":[{"name":"Set-Cookie","value":'
    '"WebSession_ab12=9f2c4e6a8b0d1f3e; Path=/; HttpOnly"},{"name":"Content-Type",'
    '"value":"application/json"}],"content":{"_sha1":"aa11.json"}}}}\n'
)


def test_trace_zip_masks_what_the_harness_never_saw(tmp_path: Path) -> None:
    # Nothing registered: the browser's session cookie, the session id, challenge and salt
    # of sessionLogin and the reset token reach the browser only, so only their shape
    # can hide them.
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:
        archive.writestr("trace.network", NETWORK_LOG)
        archive.writestr("resources/aa11.json",
                         '{"EmailCertification": {"securityCode": "rt-5e7a9c1b3d"}}')
        archive.writestr("resources/bb22.xml",
                         "<SessionLoginCap><sessionID>sid-7c1d9e2f</sessionID>"
                         "<challenge>ch-3b8a6d0e</challenge><salt>salt-41f9c2</salt>"
                         "</SessionLoginCap>")
        archive.writestr("resources/cc33", "<SessionLogin><sessionID>sid-7c1d9e2f</sessionID>"
                                           "</SessionLogin>")
    masked = mask_trace_zip(raw.getvalue(), Secrets())
    (tmp_path / "trace.zip").write_bytes(masked)
    assert find_secrets(tmp_path, [BROWSER_SESSION, RESET_TOKEN, "sid-7c1d9e2f",
                                   "ch-3b8a6d0e", "salt-41f9c2"]) == []
    with zipfile.ZipFile(io.BytesIO(masked)) as archive:
        network = archive.read("trace.network").decode()
    # Still a network log a person can read: names stay, cookie attributes stay.
    for line in network.splitlines():
        json.loads(line)
    assert '{"name":"Set-Cookie","value":"WebSession_ab12=***; Path=/; HttpOnly"}' in network
    assert '{"name":"Cookie","value":"WebSession_ab12=***; lang=***"}' in network
    assert '{"name":"WebSession_ab12","value":"***","path":"/","httpOnly":true}' in network
    assert '{"name":"Host","value":"127.0.0.1:8080"}' in network


GUI_SUITE = '''
import http.server
import json
import os
import threading

import pytest

PAGE = b"""<html><body><script>
async function go() {
  const cap = await (await fetch("/cap")).text();
  const sid = cap.match(/<sessionID>([^<]*)</)[1];
  await fetch("/login", {method: "POST",
                         body: "<SessionLogin><sessionID>" + sid + "</sessionID></SessionLogin>"});
  const answer = await (await fetch("/reset", {method: "PUT"})).json();
  document.title = answer.EmailCertification.securityCode ? "done" : "no token";
}
</script></body></html>"""
# From the environment, so that the values are not in this file (the trace keeps sources).
VALUES = {key: value.encode() for key, value in json.loads(os.environ["GUI_VALUES"]).items()}


class Device(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _answer(self, body, kind, cookie=False):
        self.send_response(200)
        self.send_header("Content-Type", kind)
        if cookie:
            self.send_header("Set-Cookie", f"WebSession_ab12={VALUES['COOKIE'].decode()}; "
                                           "Path=/; HttpOnly")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/cap":
            self._answer(b"<SessionLoginCap><sessionID>" + VALUES["SESSION"] +
                         b"</sessionID><challenge>" + VALUES["CHALLENGE"] +
                         b"</challenge></SessionLoginCap>", "application/xml")
        else:
            self._answer(PAGE, "text/html", cookie=True)

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self._answer(b"<ResponseStatus><statusCode>1</statusCode></ResponseStatus>",
                     "application/xml")

    def do_PUT(self):
        self._answer(b'{"EmailCertification": {"securityCode": "' + VALUES["TOKEN"] + b'"}}',
                     "application/json")


@pytest.fixture(scope="module")
def fake_nvr():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Device)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_gui_session(page, fake_nvr):
    page.goto(fake_nvr, timeout=30_000)
    page.evaluate("go()")
    page.wait_for_function("document.title == 'done'", timeout=30_000)
    assert False, "deliberate failure: keep the trace"
'''
GUI_VALUES = {"COOKIE": "ck-8d3f1a6b2e", "SESSION": "sid-2b7e9c4a",
              "CHALLENGE": "ch-6f0d3b8e", "TOKEN": "rt-1c5a7e9d"}


def test_pytest_playwright_artifacts_are_masked(
    run_pytest: RunPytest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pytest-playwright's own --tracing writes trace.zip under --output; the harness masks
    # it when the test is over. Its --screenshot cannot be masked: the run says so once.
    monkeypatch.setenv("GUI_VALUES", json.dumps(GUI_VALUES))
    suite = tmp_path / "test_gui_artifacts.py"
    suite.write_text(GUI_SUITE)
    output = tmp_path / "test-results"
    result = run_pytest("-p", "no:playwright", "-p", "pytest_playwright.pytest_playwright",
                        "-p", "fixtures.browser", "-p", "fixtures.reporting", str(suite),
                        "-q", "--tracing", "retain-on-failure", "--screenshot", "on",
                        "--output", str(output), timeout=300)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    assert "deliberate failure" in result.stdout
    assert result.stdout.count("WARNING: pytest-playwright's --screenshot on writes") == 1
    traces = list(output.rglob("trace.zip"))
    assert len(traces) == 1, sorted(output.rglob("*"))
    assert list(output.rglob("*.png")), "the screenshot is kept"
    assert find_secrets(output, list(GUI_VALUES.values())) == []
    with zipfile.ZipFile(traces[0]) as archive:
        network = archive.read("trace.network").decode()
    # The trace really holds the exchanges, masked, not an empty log.
    assert "WebSession_ab12=***; Path=/; HttpOnly" in network
    assert not list(output.rglob("*.masking"))


def test_find_secrets_looks_inside_zips(tmp_path: Path) -> None:
    # Deflated: the code is not in the zip's raw bytes, only in its member.
    with zipfile.ZipFile(tmp_path / "a.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("x.txt", "the code is ABCD2345 " * 20)
    (tmp_path / "b.txt").write_text("nothing here")
    found = find_secrets(tmp_path, ["abcd2345", "other-secret"])
    assert found == [f"{tmp_path / 'a.zip'}!x.txt: secret #0"]


def test_mail_bodies_are_masked() -> None:
    message = EmailMessage()
    message.set_content("Verification code: K7PQ2M9X\nValid 48 hours.")
    mail = ReceivedMail(to=("nvr@hil.test",), sender="noreply@cloud", subject="code for SN1",
                        received_at=0.0, body=message.get_content(), message=message)
    text = render_mails([mail], Secrets())
    assert "K7PQ2M9X" not in text and "Verification code: ***" in text
    assert "Subject: code for SN1" in text


FAILING_SUITE = '''
import logging

import pytest
from harness import flows
from harness.flows import expect_login_refused
from harness.errors import InfrastructureError
from harness.gui.base import LoginResult

pytestmark = pytest.mark.flow("report-check")


@pytest.mark.state("email_reserved")
def test_fails_after_typing_secrets(dut, page, mail_timeout):
    outcome = flows.login(page, dut.gui_target(), dut.password)
    assert outcome.result is LoginResult.OK
    with dut.isapi(login=False) as device:
        code = dut.request_code(device.qr_code().text, timeout=mail_timeout)
        device.check_verification_code(code)
    assert False, "deliberate product defect"


@pytest.mark.state("active")
def test_broken_by_the_lab(dut):
    raise InfrastructureError("deliberate lab failure")


@pytest.mark.state("active")
def test_typed_secret_in_the_error(dut, page):
    flows.login(page, dut.gui_target(), dut.password)
    # Playwright quotes the selector it waited for, secret and all, in its timeout error.
    page.fill("#no-such-field-" + dut.password, "x", timeout=1000)


@pytest.mark.state("active")
def test_old_password_still_works(dut):
    # A device that still takes the password it should refuse: the failing helper's
    # argument, this frame's locals, the log and the output all hold the working password.
    old = dut.password
    logging.getLogger("suite").warning("trying the old password %s", old)
    print("typed", old)
    with dut.isapi(login=False) as device:
        expect_login_refused(device, old, what="old password after a reset")


@pytest.mark.state("active")
def test_secret_in_an_assertion(dut):
    # A plain str (no masked repr): only the report's masker stands between it and the
    # assertion's rewritten diff and the -l locals.
    password = str.__str__(dut.password)
    assert password == password.swapcase()


@pytest.mark.state("active")
def test_passes(dut, page):
    assert flows.login(page, dut.gui_target(), dut.password).ok
'''


def _results(alluredir: Path) -> dict[str, dict[str, Any]]:
    found = {}
    for path in alluredir.glob("*-result.json"):
        data = json.loads(path.read_text())
        found[data["name"].split("[")[0]] = data
    return found


def _attachment_names(result: dict[str, Any]) -> list[str]:
    names = [a["name"] for a in result.get("attachments", [])]
    for step in result.get("steps", []):
        names += _attachment_names(step)
    return names


def _attachment_source(result: dict[str, Any], name: str) -> str:
    for attachment in result.get("attachments", []):
        if attachment["name"] == name:
            return str(attachment["source"])
    raise AssertionError(f"no attachment {name!r}: {_attachment_names(result)}")


def _trace_members(alluredir: Path, result: dict[str, Any]) -> list[str]:
    path = alluredir / _attachment_source(result, "playwright trace")
    with zipfile.ZipFile(path) as trace:
        return trace.namelist()


GUI_FAILURE_SUITE = '''
import pytest
from harness import flows


@pytest.mark.state("active")
def test_fails_in_the_gui(dut, page):
    assert flows.login(page, dut.gui_target(), dut.password).ok
    assert False, "deliberate product defect"
'''


def _run_on_one_nvr(run_pytest: RunPytest, write_inventory: WriteInventory, tmp_path: Path,
                    suite_text: str, *extra: str, log: Path | None = None) -> Path:
    """Run `suite_text` on one emulated NVR with an alluredir; the alluredir. The suite is
    expected to fail (exit status 1). `log`: where pytest's output is kept (as `hil run`
    keeps it in reports/pytest.log)."""
    devices = write_inventory([
        {"name": "nvr", "kind": "emulated", "model": "DS-7608NI-K2", "firmware": "V4.21.000"},
    ])
    suite = tmp_path / "test_on_one_nvr.py"
    suite.write_text(suite_text)
    alluredir = tmp_path / "allure"
    result = run_pytest(*PLUGIN_ARGS, str(suite), "-q", "--devices", str(devices),
                        "--lab-workdir", str(tmp_path / "lab"), "--alluredir", str(alluredir),
                        *extra)
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(result.stdout + result.stderr)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    return alluredir


@pytest.mark.parametrize("mode", ["full", "off"])
def test_evidence_mode(
    run_pytest: RunPytest, write_inventory: WriteInventory, tmp_path: Path, mode: str
) -> None:
    # full: the trace also films each step and snapshots the DOM; off: nothing attached.
    alluredir = _run_on_one_nvr(run_pytest, write_inventory, tmp_path, GUI_FAILURE_SUITE,
                                "--evidence", mode)
    failed = _results(alluredir)["test_fails_in_the_gui"]
    assert failed["status"] == "failed"
    if mode == "off":
        assert _attachment_names(failed) == []
        return
    members = _trace_members(alluredir, failed)
    assert [m for m in members if m.endswith(".jpeg")], "full mode films the steps"
    assert [m for m in members if m.startswith("resources/")], "and keeps the page resources"
    assert {"screenshot", "page DOM", "ISAPI exchanges nvr"} <= set(_attachment_names(failed))


SHARED_CONTEXT_SUITE = '''
def test_a_passes_first(dut, page):
    page.goto(dut.base_url.rstrip("/") + "/SDK/guiConfig.js?first-test")


def test_b_fails_second(dut, page):
    page.goto(dut.base_url.rstrip("/") + "/SDK/guiConfig.js?second-test")
    assert False, "deliberate failure"
'''


def test_a_failure_on_a_shared_context_keeps_its_own_trace_only(
    run_pytest: RunPytest, write_inventory: WriteInventory, tmp_path: Path
) -> None:
    """A device's tests share one browser context, each traced on its own: the failing
    second test's trace has its own actions and none of the first test's."""
    alluredir = _run_on_one_nvr(run_pytest, write_inventory, tmp_path, SHARED_CONTEXT_SUITE)
    results = _results(alluredir)
    assert results["test_a_passes_first"]["status"] == "passed"
    failed = results["test_b_fails_second"]
    assert failed["status"] == "failed"
    with zipfile.ZipFile(alluredir / _attachment_source(failed, "playwright trace")) as trace:
        events = trace.read("trace.trace").decode()
    assert "second-test" in events, "the failing test's own navigation is not in its trace"
    assert "first-test" not in events, "the previous test's actions leaked into the trace"


def test_a_failed_run_reports_evidence_and_no_secret(
    run_pytest: RunPytest, write_inventory: WriteInventory, tmp_path: Path
) -> None:
    """Every file a failing run writes (pytest's output, JUnit, Allure results and the
    Playwright trace in them, unzipped, the report's history) under the longest
    tracebacks with locals, and failures that hold secrets in arguments, locals,
    assertions, logs and output."""
    written = tmp_path / "written"
    alluredir = _run_on_one_nvr(
        run_pytest, write_inventory, tmp_path, FAILING_SUITE, "--mail-timeout", "30",
        "--tb=long", "-l", "--log-level=INFO", f"--junitxml={written / 'junit.xml'}",
        "--output", str(written / "playwright"),
        log=written / "pytest.log",
    )
    workdir = tmp_path / "lab"
    results = _results(alluredir)
    for name in ("test_old_password_still_works", "test_secret_in_an_assertion"):
        assert results[name]["status"] == "failed", results[name].get("statusDetails")
    assert "accepted the login" in results["test_old_password_still_works"][
        "statusDetails"]["message"]
    assert "password = '***'" in (written / "pytest.log").read_text(), "-l shows masked args"
    generate_report(alluredir, written / "report", history=written / "history" / "h.jsonl")
    assert (written / "history" / "h.jsonl").read_text().strip()
    failed, broken, passed = (results[n] for n in (
        "test_fails_after_typing_secrets", "test_broken_by_the_lab", "test_passes"))
    assert failed["status"] == "failed" and broken["status"] == "broken"
    typed = results["test_typed_secret_in_the_error"]
    assert typed["status"] == "broken" and "***" in typed["statusDetails"]["message"]
    assert passed["status"] == "passed"
    attachments = _attachment_names(failed)
    for wanted in (
        "screenshot", "page DOM", "playwright trace", "ISAPI exchanges nvr",
        "mails to nvr@hil.test",
    ):
        assert wanted in attachments, attachments
    assert "ISAPI exchanges nvr" in _attachment_names(broken)
    # Nothing on a pass but allure-pytest's own captured log (--log-level INFO above).
    assert [n for n in _attachment_names(passed) if n != "log"] == []
    # The default trace logs the actions (the login's clicks) without filming them.
    members = _trace_members(alluredir, failed)
    assert not [m for m in members if m.endswith(".jpeg")], members
    with zipfile.ZipFile(alluredir / _attachment_source(failed, "playwright trace")) as trace:
        assert '"method":"click"' in trace.read("trace.trace").decode()
    parameters = {p["name"]: p["value"].strip("'") for p in failed["parameters"]}
    assert parameters["device"] == "nvr" and parameters["model"] == "DS-7608NI-K2"
    assert parameters["firmware"] == "V4.21.000"
    labels = {label["name"]: label["value"] for label in failed["labels"]}
    assert labels["flow"] == "report-check" and labels["product_line"] == "nvr"
    assert labels["gui_generation"] == "recorder"
    for name in ("environment.properties", "executor.json", "categories.json"):
        assert (alluredir / name).is_file(), name
    # The run's secrets: every password it set, every code mailed.
    secrets = [json.loads(p.read_text())["password"]
               for p in (workdir / "credentials").glob("*.json")]
    codes = [find_verification_code(m.body) for m in MaildirMailbox(workdir / "maildir").messages()]
    secrets += [c for c in codes if c]
    assert len(secrets) >= 2 and all(secrets)
    assert find_secrets(alluredir, secrets) == []
    assert find_secrets(written, secrets) == []
