"""Helpers of the `hil` command's tests: run the installed console script for real, and
write small inventories whose device names and lease folder are the test's own (so a test
never waits on a lease another run holds)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import subprocess
import sys
import termios
import time
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


def unreachable_real(name: str, model: str, firmware: str, password_env: str) -> dict[str, object]:
    """A real device entry at a loopback port nothing listens on (9, discard)."""
    return {"name": name, "kind": "real", "model": model, "firmware": firmware,
            "base_url": "http://127.0.0.1:9", "password_env": password_env}


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single `error: ...` line a bad input gives, asserting there is nothing more."""
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return lines[0]


def run_on_a_terminal(argv: list[str], cwd: Path, bound_s: float, *,
                      env: dict[str, str] | None = None,
                      controlling: bool = False) -> tuple[int, str]:
    """Run `argv` with a pseudo-terminal as stdout and stderr (and, `controlling`, as its
    controlling terminal: /dev/tty, stdin included); its status and output."""
    master, slave = pty.openpty()
    environment = {**os.environ, **(env or {}), "COLUMNS": "220", "LINES": "40",
                   "TERM": "xterm"}

    def take_the_terminal() -> None:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(argv, cwd=cwd, env=environment,
                            stdin=slave if controlling else subprocess.DEVNULL,
                            stdout=slave, stderr=slave, close_fds=True,
                            preexec_fn=take_the_terminal if controlling else None)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + bound_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        status = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return status, b"".join(chunks).decode("utf-8", errors="replace")
