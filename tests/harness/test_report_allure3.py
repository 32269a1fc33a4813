"""The reports of a real run (issue 17 items 1-4): `hil run` on a clean NVR, a camera that
plays a product defect and a real NVR entry answering HTTP 500, then `hil report`.

The Allure 3 report (allurerc.mjs): tree grouped line > firmware > device, the failure
table's categories, one environment per line and firmware, the quality gate, the run's
trend (a -k run is a dev run). Beside it the verdict matrix and summary.json, judged by
the release gate's rules, opened in Chromium with a failing test's link followed into
the report. The fixture entries that say nothing are gone, the bring-up stays. JUnit has
readable ids and the run's properties. None of these files holds a secret.

One run and two reports for the module (about 20 s); no timed assertion.
"""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import misbehaving_servers as servers
import pytest
from cli_helpers import emulated, hil, write_inventory
from playwright.sync_api import Playwright

from harness.report.allure import find_secrets
from harness.report.runinfo import RUN_INFO_FILE

CHROMIUM = "/usr/lib/chromium/chromium"
PASSWORD_ENV = "HIL_REPORT3_PASSWORD"
PASSWORD = "Qa-report3-2026x"
CLEAN = ("r3-nvr", "DS-7608NI-K2", "V4.21.000")
DEFECT = ("r3-ipc", "DS-2CD3725G0-IZS", "V5.6.3")
BROKEN = ("r3-nvr-500", "DS-7616NI-I2", "V4.22.005")
# The risky-password test runs on all three; the below-threshold one on none of them.
TESTS = "risky_password_refused_by_api or below_threshold_api_answers_not_support"


@dataclass
class Run:
    folder: Path
    output: Path
    multi: Path
    first: subprocess.CompletedProcess[str]
    strict: subprocess.CompletedProcess[str]

    def summary(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.output / "summary.json").read_text())
        return data

    def cell(self, line: str, firmware: str) -> dict[str, Any]:
        found = [c for c in self.summary()["cells"]
                 if (c["line"], c["firmware"]) == (line, firmware)]
        assert len(found) == 1, self.summary()["cells"]
        return found[0]

    def widget(self, *parts: str) -> Any:
        return json.loads(self.multi.joinpath("widgets", *parts).read_text())


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    folder = tmp_path_factory.mktemp("allure3")
    broken = servers.http_500()
    try:
        inventory = write_inventory(folder, "devices.yaml", [
            emulated(*CLEAN),
            emulated(*DEFECT, "risky_password_accepted"),
            {"name": BROKEN[0], "kind": "real", "model": BROKEN[1], "firmware": BROKEN[2],
             "base_url": broken.url(), "password_env": PASSWORD_ENV},
        ])
        output = folder / "reports"
        env = {PASSWORD_ENV: PASSWORD}
        ran = hil("run", "--devices", inventory, "--workdir", folder / "lab", "--output", output,
                  "-n", "0", "-k", TESTS, cwd=folder, env=env)
        assert ran.returncode == 1, ran.stdout + ran.stderr
        multi = folder / "multi"
        first = hil("report", "--output", output, "--report-dir", multi, cwd=folder)
        assert first.returncode == 0, first.stdout + first.stderr
        # The same run again, single-file where the matrix links: no second history point.
        strict = hil("report", "--single-file", "--quality-gate", "--output", output,
                     cwd=folder)
        yield Run(folder, output, multi, first, strict)
    finally:
        broken.stop()


def test_matrix_verdicts_are_the_gates(run: Run) -> None:
    summary = run.summary()
    assert summary["totals"] == {"PASS": 1, "DEFECT": 1, "NO_VERDICT": 1}
    assert [(c["line"], c["firmware"]) for c in summary["cells"]] == [
        ("nvr", "V4.21.000"), ("nvr", "V4.22.005"), ("ipc", "V5.6.3")]
    clean = run.cell("nvr", CLEAN[2])
    assert (clean["verdict"], clean["passed"], clean["failing"]) == ("PASS", 1, [])
    found = run.cell("ipc", DEFECT[2])
    assert (found["verdict"], found["defects"], found["passed"]) == ("DEFECT", 1, 0)
    [failing] = found["failing"]
    assert failing["kind"] == "product-defect" and failing["device"] == DEFECT[0]
    assert "test_risky_password_refused_by_api[r3-ipc-" in failing["test"]
    blocked = run.cell("nvr", BROKEN[2])
    assert (blocked["verdict"], blocked["defects"], blocked["no_verdict"]) == (
        "NO_VERDICT", 0, 1)
    assert blocked["devices"][0]["reason"].startswith("infrastructure: ")
    # A link names a result of the report the matrix sits beside.
    page, _, ident = failing["link"].partition("#")
    assert page == "allure-report/index.html"
    assert (run.multi / "data" / "test-results" / f"{ident}.json").is_file()
    assert summary["trend"] == "dev" and summary["profile"] == "regression"
    assert summary["firmware_under_test"] == [CLEAN[2], DEFECT[2], BROKEN[2]]


def test_matrix_page_read_in_chromium(run: Run, playwright: Playwright) -> None:
    browser = playwright.chromium.launch(executable_path=CHROMIUM)
    try:
        page = browser.new_page()
        page.goto((run.output / "matrix.html").as_uri())
        rows = {row.locator("th").inner_text(): row.inner_text()
                for row in page.locator("table.matrix tbody tr").all()}
        assert set(rows) == {"nvr", "ipc"}
        assert "V4.21.000\npass\n1 passed" in rows["nvr"]
        assert "V4.22.005\nno verdict" in rows["nvr"]
        assert "V5.6.3\nproduct defect\n0 passed · 1 defect" in rows["ipc"]
        page.locator("td.DEFECT ul.failing a").click()
        page.get_by_text("Parameters").first.wait_for(timeout=30_000)
        text = page.inner_text("#app")
        assert f"test_risky_password_refused_by_api[{DEFECT[0]}-" in text
        assert "harness.errors.ProductDefect" in text
    finally:
        browser.close()


def test_tree_is_line_then_firmware_then_device(run: Run) -> None:
    environments = {e["id"]: e["name"] for e in run.widget("environments.json")}
    assert environments == {"default": "default", "nvr-V4-21-000": "nvr V4.21.000",
                            "nvr-V4-22-005": "nvr V4.22.005", "ipc-V5-6-3": "ipc V5.6.3"}
    tree = run.widget("nvr-V4-21-000", "tree.json")
    groups = tree["groupsById"]
    [line] = [groups[g] for g in tree["root"]["groups"]]
    [firmware] = [groups[g] for g in line["groups"]]
    [device] = [groups[g] for g in firmware["groups"]]
    assert (line["name"], firmware["name"], device["name"]) == ("nvr", CLEAN[2], CLEAN[0])
    assert len(device["leaves"]) == 1
    # Labels for the tree, parameters still for the history's identity.
    mine = [r for r in _results(run) if f"[{CLEAN[0]}-{CLEAN[1]}-" in r["name"]]
    assert len(mine) == 1, [(r["name"], r["status"]) for r in _results(run)]
    result = mine[0]
    labels = {label["name"]: label["value"] for label in result["labels"]}
    assert {k: labels[k] for k in ("product_line", "firmware", "device", "model",
                                   "gui_generation")} == {
        "product_line": "nvr", "firmware": CLEAN[2], "device": CLEAN[0], "model": CLEAN[1],
        "gui_generation": "recorder"}
    parameters = {p["name"] for p in result["parameters"]}
    assert {"device", "model", "firmware"} <= parameters


def test_categories_are_the_failure_kinds(run: Run) -> None:
    nodes = run.widget("categories.json")["nodes"]
    found = {n["name"]: n["statistic"] for n in nodes.values() if n["type"] == "category"}
    assert found == {"Product defect": {"total": 1, "failed": 1},
                     "Infrastructure": {"total": 1, "broken": 1}}
    # A product defect is grouped by where it was found.
    groups = {n["name"] for n in nodes.values() if n["type"] == "group"}
    assert {"product_line: ipc", f"firmware: {DEFECT[2]}"} <= groups


def test_no_fixture_noise_and_the_bring_up_stays(run: Run) -> None:
    results = run.output / "allure-results"
    for path in results.glob("*-container.json"):
        container = json.loads(path.read_text())
        for entry in container.get("befores", []) + container.get("afters", []):
            assert entry.get("steps") or entry.get("status") != "passed", (path, entry["name"])
    shown = [json.loads(p.read_text()) for p in (run.multi / "data" / "test-results").glob("*")]
    ran = [t for t in shown if t["status"] in ("passed", "failed")]
    assert len(ran) == 2
    for test in ran:
        assert [f["name"] for f in test["setup"]] == ["dut"], test["name"]
        assert test["setup"][0]["steps"][0]["name"].startswith("Bring ")
        assert test["teardown"] == []
    fixtures = [f["name"] for t in shown for f in t["setup"] + t["teardown"]]
    assert set(fixtures) == {"dut"}, fixtures


def test_junit_ids_and_properties(run: Run) -> None:
    suite = ET.parse(run.output / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    info = json.loads((run.output / "allure-results" / RUN_INFO_FILE).read_text())
    assert properties["run_id"] == info["run_id"] != ""
    assert properties["inventory"] == str(run.folder / "devices.yaml")
    assert len(properties["inventory_digest"] or "") == 16
    assert properties["firmware_under_test"] == f"{CLEAN[2]}, {DEFECT[2]}, {BROKEN[2]}"
    assert (properties["profile"], properties["trend"]) == ("regression", "dev")
    names = [case.get("name") or "" for case in suite.iter("testcase")]
    assert len(names) == 4 and not [n for n in names if "NOTSET" in n]
    assert "test_below_threshold_api_answers_not_support[no-device]" in names
    skipped = [case for case in suite.iter("testcase") if "[no-device]" in (case.get("name") or "")]
    reason = skipped[0].find("skipped")
    assert reason is not None and "has what the test needs (reset_by_email=False)" in str(
        reason.get("message"))


def test_quality_gate_trend_and_history(run: Run) -> None:
    assert "quality gate: failed (run/maxFailures: The number of failed tests 2 exceeds" in (
        run.first.stdout)
    assert "1 run of trend dev in" in run.first.stdout
    assert "verdict matrix: " in run.first.stdout and "1 product defect" in run.first.stdout
    # Only with --quality-gate does the gate decide the exit status.
    assert run.strict.returncode == 1, run.strict.stdout + run.strict.stderr
    history = run.output / "history"
    assert sorted(p.name for p in history.glob("*.jsonl")) == ["dev.jsonl"]
    assert len((history / "dev.jsonl").read_text().splitlines()) == 1
    info = json.loads((run.output / "allure-results" / RUN_INFO_FILE).read_text())
    assert info["trend"] == "dev" and info["narrowed"].startswith("narrowed by -k")


def test_no_secret_in_the_new_files(run: Run) -> None:
    credentials = [json.loads(p.read_text())["password"]
                   for p in (run.folder / "lab" / "credentials").glob("*.json")]
    assert credentials
    for name in ("summary.json", "matrix.html", f"allure-results/{RUN_INFO_FILE}",
                 "junit.xml"):
        assert (run.output / name).is_file(), name
    assert find_secrets(run.output, [PASSWORD, *credentials]) == []
    # The report's own data; its app bundle is Allure's code, where the defect's accepted
    # Risky password (abcdefgh) happens to be written too.
    for folder in ("data", "widgets"):
        assert find_secrets(run.multi / folder, [PASSWORD, *credentials]) == []


def _results(run: Run) -> list[dict[str, Any]]:
    return [json.loads(p.read_text())
            for p in (run.output / "allure-results").glob("*-result.json")]
