"""fixtures.devices: a GUI test's device is brought into state while the worker's browser
starts, in a run of its own (real lab, real Chromium).

The emulated device answers each request after seconds, so its bring-up is still running
when the browser's launch arguments are asked for, after Playwright's driver has started:
a conftest in the run's folder records which bring-up threads are alive at that moment
(a bring-up thread ends with its bring-up).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_report import PLUGIN_ARGS, RunPytest, WriteInventory

NVR = {"name": "nvr", "kind": "emulated", "model": "DS-7608NI-K2", "firmware": "V4.21.000"}

RECORDING_CONFTEST = '''
import json
import os
import threading

import pytest


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    alive = sorted(t.name for t in threading.enumerate() if t.name.startswith("bring-"))
    with open(os.environ["BRING_THREADS_FILE"], "a") as record:
        record.write(json.dumps(alive) + "\\n")
    return browser_type_launch_args
'''

SUITE = '''
import os
import pytest

STATE = os.environ["BRING_STATE"]


@pytest.mark.state(STATE)
def test_gui_first(dut, page):
    page.goto(dut.base_url.rstrip("/") + "/SDK/guiConfig.js")


@pytest.mark.state(STATE)
def test_api_second(dut):
    pass
'''


def _run(run_pytest: RunPytest, write_inventory: WriteInventory, tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch, *extra: str, state: str, latency_ms: int
         ) -> tuple[int, str, list[Any]]:
    devices = write_inventory([{**NVR, "latency_ms": latency_ms}])
    monkeypatch.setenv("BRING_STATE", state)
    (tmp_path / "conftest.py").write_text(RECORDING_CONFTEST)
    (tmp_path / "test_bringup.py").write_text(SUITE)
    record = tmp_path / "threads.jsonl"
    monkeypatch.setenv("BRING_THREADS_FILE", str(record))
    result = run_pytest(*PLUGIN_ARGS, str(tmp_path / "test_bringup.py"), "-q", "-rA",
                        "--devices", str(devices), "--lab-workdir", str(tmp_path / "lab"),
                        "--lease-timeout", "60", *extra)
    seen = [json.loads(line) for line in record.read_text().splitlines()] \
        if record.is_file() else []
    return result.returncode, result.stdout[-4000:] + result.stderr[-2000:], seen


def _containers_with_before(alluredir: Path, fixture: str) -> list[dict[str, Any]]:
    befores = []
    for path in alluredir.glob("*-container.json"):
        for before in json.loads(path.read_text()).get("befores", []):
            if before.get("name") == fixture:
                befores.append(before)
    return befores


def test_the_browser_starts_while_the_device_is_brought_up(
    run_pytest: RunPytest, write_inventory: WriteInventory, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alluredir = tmp_path / "allure"
    # An inactive device's bring-up is one probe request: 4 s.
    code, out, seen = _run(run_pytest, write_inventory, tmp_path, monkeypatch,
                           "--alluredir", str(alluredir), state="inactive", latency_ms=4000)
    assert code == 0 and "2 passed" in out, out
    assert seen == [["bring-nvr"]], f"bring-up threads alive at the browser's start: {seen}"
    # The bring-up's Allure step stays on the dut fixture of each test, thread or not.
    steps = [step["name"] for before in _containers_with_before(alluredir, "dut")
             for step in before.get("steps", [])]
    assert steps == ["Bring nvr to inactive"] * 2, steps


def test_a_browser_that_cannot_start_fails_the_test_after_the_bring_up(
    run_pytest: RunPytest, write_inventory: WriteInventory, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The browser's error is the test's; its device's activation (several requests of
    1.5 s, under way when the browser fails) ends before the lease is released, so the
    next test on the device finds it active and activates nothing."""
    monkeypatch.setenv("HIL_CHROMIUM", str(tmp_path / "no-such-chromium"))
    code, out, _ = _run(run_pytest, write_inventory, tmp_path, monkeypatch,
                        state="active", latency_ms=1500)
    assert code == 1 and "1 passed, 1 error" in out, out
    assert "no Chromium at" in out and "no-such-chromium" in out, out
    assert any(line.startswith("PASSED") and "test_api_second" in line
               for line in out.splitlines()), out
    (run_file,) = (tmp_path / "lab" / "transitions").glob("*.jsonl")  # this run's only
    transitions = [json.loads(line)["transition"] for line in run_file.read_text().splitlines()]
    assert transitions == ["activate"], transitions
