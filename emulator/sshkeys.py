"""The SSH host key every emulated device shell and the lab controller present.

Kept in the fleet's state directory so that clients see the same host key across restarts
of the emulator (a changed key would look like a different machine).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import asyncssh

HOST_KEY_FILE = "ssh_host_ecdsa_key"
HOST_KEY_ALGORITHM = "ecdsa-sha2-nistp256"


def fleet_host_key(state_dir: Path) -> asyncssh.SSHKey:
    """Load the fleet's host key from `state_dir`, creating it once if it is missing.

    Creation is safe against concurrent starts: the key is written to a private temporary
    file and hard-linked into place, so the first writer wins and the others read its key.
    """
    path = state_dir / HOST_KEY_FILE
    if path.exists():
        return asyncssh.read_private_key(path)
    state_dir.mkdir(parents=True, exist_ok=True)
    key = asyncssh.generate_private_key(HOST_KEY_ALGORITHM)
    fd, temp_name = tempfile.mkstemp(prefix=".host-key-", dir=state_dir)
    try:
        with os.fdopen(fd, "wb") as temp:  # mkstemp made it 0600
            temp.write(key.export_private_key())
            temp.flush()
            os.fsync(temp.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temp_name, path)
    finally:
        os.unlink(temp_name)
    return asyncssh.read_private_key(path)
