"""`hil report`: the offline Allure report of real runs, its trend history, and the
single-file page opened in Chromium, its tree walked line > firmware > device to each
test and its device parameters."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cli_helpers import HIL, emulated, hil, write_inventory
from playwright.sync_api import Page, Playwright, Route

CHROMIUM = "/usr/lib/chromium/chromium"
DEVICES = {
    # name: (model, firmware)
    "report-nvr": ("DS-7608NI-K2", "V4.21.000"),
    "report-ipc": ("DS-2CD2043G2-I", "V5.5.82"),
}
LINES = {"report-nvr": "nvr", "report-ipc": "ipc"}


@dataclass
class Reports:
    folder: Path
    output: Path
    history_lines: list[int]
    outputs: list[str]


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Reports:
    """Two real runs, with a report after each and a rebuild of the last one."""
    folder = tmp_path_factory.mktemp("report")
    inventory = write_inventory(
        folder, "report.yaml", [emulated(name, *spec) for name, spec in DEVICES.items()]
    )
    output = folder / "out"
    # Runs narrowed by -k keep the dev trend (harness.report.runinfo).
    history = output / "history" / "dev.jsonl"
    history_lines: list[int] = []
    outputs: list[str] = []
    for step in ("run", "report", "run", "report", "report"):
        if step == "run":
            result = hil(
                "run",
                "--devices",
                inventory,
                "--workdir",
                folder / "lab",
                "--output",
                output,
                "-n",
                "0",
                "-k",
                "risky_password_refused_by_api",
                cwd=folder,
            )
        else:
            result = hil("report", "--single-file", "--output", output, cwd=folder)
            history_lines.append(len(history.read_text().splitlines()))
        assert result.returncode == 0, result.stdout + result.stderr
        outputs.append(result.stdout)
    return Reports(folder, output, history_lines, outputs)


def test_history_keeps_one_point_per_run(reports: Reports) -> None:
    # Run 1 → 1 point; run 2 → 2 points; rebuilding run 2's report adds none.
    assert reports.history_lines == [1, 2, 2]
    assert "(1 run of trend dev in" in reports.outputs[1]
    assert "(2 runs of trend dev in" in reports.outputs[3]
    index = reports.output / "allure-report" / "index.html"
    assert index.exists() and len(list(index.parent.iterdir())) <= 4
    assert "googletagmanager" not in index.read_text()


@pytest.fixture(scope="module")
def report_page(
    reports: Reports, playwright: Playwright
) -> Iterator[tuple[Page, list[str]]]:
    off_loopback: list[str] = []

    def only_local(route: Route) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:", "http://127.0.0.1")):
            route.continue_()
        else:
            off_loopback.append(url)
            route.abort()

    # pytest-playwright's session `playwright`: one sync driver per process.
    browser = playwright.chromium.launch(executable_path=CHROMIUM)
    try:
        page = browser.new_page()
        page.route("**/*", only_local)
        page.goto((reports.output / "allure-report" / "index.html").as_uri())
        yield page, off_loopback
    finally:
        browser.close()


def test_single_file_report_lists_the_tests_with_their_devices(
    report_page: tuple[Page, list[str]],
) -> None:
    page, off_loopback = report_page
    page.get_by_text("HIL password reset").first.wait_for(timeout=15_000)
    for name, (model, firmware) in DEVICES.items():
        page.get_by_text(f'Environment: "{LINES[name]} {firmware}"').wait_for(timeout=15_000)
        for group in (LINES[name], firmware, name):
            page.get_by_text(group, exact=True).first.click(timeout=15_000)
        title = f"test_risky_password_refused_by_api[{name}-{model}-{firmware}]"
        page.get_by_text(title, exact=True).first.click(timeout=15_000)
        page.get_by_text("Parameters").first.wait_for(timeout=15_000)
        text = page.inner_text("#app")
        parameters = text[text.index("Parameters") :]
        assert re.search(rf"device\s+'{name}'", parameters), parameters[:300]
        assert re.search(rf"model\s+'{model}'", parameters), parameters[:300]
        assert re.search(rf"firmware\s+'{firmware}'", parameters), parameters[:300]
        page.go_back()
    assert off_loopback == []


def test_open_serves_the_report_on_loopback(reports: Reports) -> None:
    proc = subprocess.Popen(
        [
            str(HIL),
            "report",
            "--open",
            "--output",
            str(reports.output),
            "--report-dir",
            str(reports.folder / "served"),
        ],
        cwd=reports.folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        assert proc.stdout is not None
        # Raw reads: a text stream's readline could leave the address line in its buffer
        # where select() cannot see it.
        printed = b""
        match = None
        deadline = time.monotonic() + 60
        while match is None and time.monotonic() < deadline and proc.poll() is None:
            ready, _, _ = select.select([proc.stdout], [], [], 1.0)
            if ready:
                printed += os.read(proc.stdout.fileno(), 4096)
                match = re.search(rb"serving the report at (http://127\.0\.0\.1:\d+/)", printed)
        assert match is not None, f"hil report --open printed no address within 60 s: {printed!r}"
        url = match.group(1).decode()
        page = httpx.get(url, timeout=10)
        assert page.status_code == 200
        assert '<div id="app">' in page.text
        assert "googletagmanager" not in page.text
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert proc.returncode == 0
