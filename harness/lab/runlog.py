"""What a run records about its devices in the lab's state folder, for every worker: the
transitions run (`TransitionLog`) and the devices quarantined (`Quarantine`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Final

from filelock import FileLock

from harness.evidence import Secrets, mask_text
from harness.lab.statedir import private_dir

if TYPE_CHECKING:
    from harness.lab.states import State

QUARANTINE_DIR: Final = "quarantine"
TRANSITIONS_DIR: Final = "transitions"


class TransitionLog:
    """Transitions run in a lab, one JSON line each, kept in the lab's state folder
    (`LabSession.state_dir`: the workdir of an emulated-only lab) as one file per run,
    `transitions/<run>.jsonl`, shared by the run's workers: the summary at the end of a run
    reads its own run's file, not the lab's whole history."""

    def __init__(self, folder: Path, run_id: str = "") -> None:
        self.directory = Path(folder) / TRANSITIONS_DIR
        self.run_id = run_id
        # A run id is made by the run (fixtures/lab.py: time and random hex); a stray
        # path separator in a caller's id must not leave the folder.
        name = (run_id or "unnamed-run").replace(os.sep, "_")
        self.path = self.directory / f"{name}.jsonl"

    def record(self, device: str, name: str, source: State, seconds: float) -> None:
        """Append one transition, under the file's lock (every worker of the run writes),
        to a file only its owner reads."""
        line = json.dumps({"run": self.run_id, "device": device, "transition": name,
                           "from": source.value, "seconds": round(seconds, 3),
                           "pid": os.getpid()}) + "\n"
        private_dir(self.directory)
        lock = FileLock(str(self.path.with_name(f".{self.path.name}.lock")), timeout=30,
                        mode=0o600)
        with lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)

    def entries(self, *, this_run: bool = True) -> list[dict[str, object]]:
        """The recorded transitions: this run's file, or every run's (`this_run=False`)."""
        paths = [self.path] if this_run else sorted(self.directory.glob("*.jsonl"))
        rows: list[dict[str, object]] = []
        for path in paths:
            try:
                lines = path.read_text().splitlines()
            except FileNotFoundError:
                continue
            rows.extend(json.loads(line) for line in lines if line.strip())
        return rows


class Quarantine:
    """Devices whose bring-up failed this run: `<workdir>/quarantine/<device>` says why."""

    def __init__(self, workdir: Path) -> None:
        self.directory = Path(workdir) / QUARANTINE_DIR

    def clear(self) -> None:
        """Forget every quarantine (at the start of a run, in the controller only)."""
        if self.directory.is_dir():
            for marker in self.directory.iterdir():
                marker.unlink(missing_ok=True)

    def mark(self, device: str, reason: str, secrets: Secrets | None = None) -> None:
        """Quarantine `device` for the rest of the run with a one-line `reason`.

        The reason becomes the skip reason of the device's later tests, in every report:
        it is masked (secret fields, and `secrets` when given) and the file is private.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        line = mask_text(reason.splitlines()[0] if reason else "?", secrets)
        fd = os.open(self.directory / device, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)  # an older marker may have been created readable by all
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    def lift(self, device: str) -> None:
        """Forget `device`'s quarantine (a health probe passed)."""
        (self.directory / device).unlink(missing_ok=True)

    def reason(self, device: str) -> str | None:
        """Why `device` is quarantined, or None."""
        try:
            return (self.directory / device).read_text()
        except FileNotFoundError:
            return None
