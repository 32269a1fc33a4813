"""Process utilities of the emulated-lab host: is a pid alive (a zombie is not),
write a file atomically, stop a process politely then firmly."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import Final

from harness.waits import wait_until

STOP_TIMEOUT: Final = 20.0


def alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie does not)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still "exists"; it is not a running lab.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    """Write `text` to `path` through a temporary file and a rename: a reader sees the
    old file or the new one, never half of it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def terminate(pid: int, timeout: float = STOP_TIMEOUT) -> bool:
    """SIGTERM `pid`, SIGKILL after `timeout` s; True if it stopped on the SIGTERM."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)

    def gone() -> bool:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it when it is our child
        return not alive(pid)

    if wait_until(gone, timeout, f"process {pid} to stop"):
        return True
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return False
