"""A device's flash: one JSON file per device, replaced atomically.

A power cut at any moment leaves the old state or the new one, never a mixture: the new
state goes to a temporary file in the same folder, is fsynced, renamed over the old file
with `os.replace` (atomic on POSIX), and the folder is fsynced so the rename is durable.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


class Flash:
    """The state file of one device."""

    def __init__(self, state_dir: Path, device_name: str) -> None:
        self.dir = Path(state_dir)
        self.path = self.dir / f"{device_name}.json"

    def load(self) -> dict[str, Any] | None:
        """The last complete state, or None for a fresh device (or an unreadable file).

        Half-written saves a power cut left behind (`.<name>.json.*.tmp`) are removed: the
        device boots from the last complete state, as firmware discards a torn write.
        """
        self._drop_torn_saves()
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def save(self, state: dict[str, Any]) -> None:
        """Write `state` so that a crash leaves either the old or the new file."""
        self.dir.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(state, sort_keys=True, separators=(",", ":")).encode("utf-8")
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.dir)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(payload)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        dir_fd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def _drop_torn_saves(self) -> None:
        # Only this device's own temporary files: other devices share the folder.
        for torn in self.dir.glob(f".{self.path.name}.*.tmp"):
            with contextlib.suppress(OSError):
                torn.unlink()

    def erase(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
