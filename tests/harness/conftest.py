"""Helpers for the tests of the pytest layer: inventories in a temporary directory, and
pytest runs in a subprocess (a run of the suites is a process of its own, with its lab)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

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
