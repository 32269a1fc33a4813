"""Helpers for the tests of the pytest layer: inventories in a temporary directory, and
pytest runs in a subprocess (a run of the suites is a process of its own, with its lab).

Also the fixtures shared by several test modules here, registered in this one place (their
code lives in conftest_clients, gui_conftest_helpers and misbehaving_servers): the emulated
lab of the client tests, the GUI lab with its browser and page, and servers stopped after a
test."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest_clients import EmulatedLab, start_emulated_lab
from gui_conftest_helpers import GuiLab, open_gui_page, start_gui_browser, start_gui_lab
from misbehaving_servers import Server, stop_afterwards
from playwright.sync_api import Browser, Page, Playwright

REPO = Path(__file__).resolve().parents[2]
RunPytest = Callable[..., subprocess.CompletedProcess[str]]
WriteInventory = Callable[..., Path]


def inventory_text(devices: list[dict[str, Any]], leases: Path) -> str:
    """devices.yaml text: these devices, the emulated cloud and sink, leases in `leases`."""
    return yaml.safe_dump({
        "devices": devices,
        "mailbox": {"kind": "smtp-sink"},
        "cloud": {"kind": "emulated", "min_app_version": "3.5.4"},
        "lab_controller": {"kind": "emulated", "username": "lab"},
        "leases": {"kind": "file", "directory": str(leases)},
    }, sort_keys=False)


@pytest.fixture
def write_inventory(tmp_path: Path) -> WriteInventory:
    """`write_inventory(devices, name="devices.yaml")`: an inventory file in tmp_path."""

    def write(devices: list[dict[str, Any]], name: str = "devices.yaml") -> Path:
        path = tmp_path / name
        path.write_text(inventory_text(devices, tmp_path / "leases"))
        return path

    return write


@pytest.fixture
def run_pytest() -> RunPytest:
    """`run_pytest(*args, timeout=...)`: `python -m pytest` in the project root."""

    def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout,
            check=False,
        )

    return run


@pytest.fixture(scope="module")
def emulated_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedLab]:
    yield from start_emulated_lab(tmp_path_factory)


@pytest.fixture(scope="module")
def gui_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GuiLab]:
    yield from start_gui_lab(tmp_path_factory)


@pytest.fixture(scope="module")
def gui_browser(playwright: Playwright) -> Iterator[Browser]:
    yield from start_gui_browser(playwright)


@pytest.fixture
def gui_page(gui_browser: Browser) -> Iterator[Page]:
    yield from open_gui_page(gui_browser)


@pytest.fixture
def started() -> Iterator[list[Server]]:
    yield from stop_afterwards()
