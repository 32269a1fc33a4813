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

from harness.catalogue import find_verification_code
from harness.evidence import Secrets
from harness.mail import MaildirMailbox, ReceivedMail
from harness.report import CATEGORIES, find_secrets, mask_trace_zip, render_mails, write_run_files

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
import pytest
from harness import flows
from harness.errors import InfrastructureError
from harness.gui.base import LoginResult

pytestmark = pytest.mark.flow("report-check")


@pytest.mark.state("email_reserved")
def test_fails_after_typing_secrets(dut, page, mail_timeout):
    outcome = flows.login(page, dut.gui_target(), dut.password)
    assert outcome.result is LoginResult.OK
    with dut.isapi(login=False) as device:
        code = dut.request_code(device.qr_code().text, timeout=mail_timeout)
        device.submit_verification_code(code)
    assert False, "deliberate product defect"


@pytest.mark.state("active")
def test_broken_by_the_lab(dut):
    raise InfrastructureError("deliberate lab failure")


@pytest.mark.state("active")
def test_typed_secret_in_the_error(dut, page):
    flows.login(page, dut.gui_target(), dut.password)
    # The first input after login is a disabled one: Playwright quotes the value it tried.
    page.fill("input >> nth=0", dut.password, timeout=1000)


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


def test_a_failed_run_reports_evidence_and_no_secret(
    run_pytest: RunPytest, write_inventory: WriteInventory, tmp_path: Path
) -> None:
    devices = write_inventory([
        {"name": "nvr", "kind": "emulated", "model": "DS-7608NI-K2", "firmware": "V4.21.000"},
    ])
    suite = tmp_path / "test_report_run.py"
    suite.write_text(FAILING_SUITE)
    alluredir, workdir = tmp_path / "allure", tmp_path / "lab"
    result = run_pytest(*PLUGIN_ARGS, str(suite), "-q", "--devices", str(devices),
                        "--lab-workdir", str(workdir), "--alluredir", str(alluredir),
                        "--mail-timeout", "30")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    results = _results(alluredir)
    failed, broken, passed = (results[n] for n in (
        "test_fails_after_typing_secrets", "test_broken_by_the_lab", "test_passes"))
    assert failed["status"] == "failed" and broken["status"] == "broken"
    typed = results["test_typed_secret_in_the_error"]
    assert typed["status"] == "broken" and "***" in typed["statusDetails"]["message"]
    assert passed["status"] == "passed"
    attachments = _attachment_names(failed)
    for wanted in (
        "screenshot", "playwright trace", "ISAPI exchanges nvr", "mails to nvr@hil.test"
    ):
        assert wanted in attachments, attachments
    assert "ISAPI exchanges nvr" in _attachment_names(broken)
    assert _attachment_names(passed) == []  # nothing on a pass
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
