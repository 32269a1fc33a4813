"""Helpers of the `hil` command's tests: run the installed console script for real, and
write small inventories whose device names and lease folder are the test's own (so a test
never waits on a lease another run holds)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Final

import yaml

HIL: Final = Path(sys.executable).parent / "hil"
PROJECT: Final = Path(__file__).resolve().parents[2]


def hil(
    *args: str | Path,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """Run `hil ARGS` in `cwd`; output captured as text, never raising on its status."""
    environment = {**os.environ, "COLUMNS": "200", **(env or {})}
    for variable in ("HIL_DEVICES", "HIL_LAB_DIR", "HIL_REPORTS"):
        environment.pop(variable, None)
    return subprocess.run(
        [str(HIL), *map(str, args)],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def write_inventory(folder: Path, name: str, devices: list[dict[str, object]]) -> Path:
    """An inventory of `devices` with leases in `folder`, written to `folder/name`."""
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "devices": devices,
        "leases": {"kind": "file", "directory": str(folder / "leases")},
    }
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def emulated(name: str, model: str, firmware: str, *defects: str) -> dict[str, object]:
    """An emulated device entry."""
    entry: dict[str, object] = {"name": name, "kind": "emulated", "model": model}
    entry["firmware"] = firmware
    if defects:
        entry["defects"] = list(defects)
    return entry


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single `error: ...` line a bad input gives, asserting there is nothing more."""
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return lines[0]
