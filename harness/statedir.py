"""Where a lab's state outlives a checkout: the admin passwords the harness set on real
devices and the transition log, in `HIL_STATE_DIR` (default `$XDG_STATE_HOME/hik-reset-hil`,
else `~/.local/state/hik-reset-hil`), one folder per lab.

CI checkouts clean ignored files; a password kept in the workdir (`.lab`) would go with
them and the next nightly could not log in to any device the last one changed. A lab is
named by its real devices' addresses, not by the inventory's path: two checkouts of one
lab share its folder, two labs on one runner do not. Emulated devices keep their state in
the lab workdir (their flash lives in `<workdir>/state`), so their passwords stay there.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Final

from harness.errors import InfrastructureError
from harness.lab import Inventory

STATE_DIR_ENV: Final = "HIL_STATE_DIR"
APP_NAME: Final = "hik-reset-hil"


def state_root() -> Path:
    """`$HIL_STATE_DIR`, else the user's XDG state folder for the harness."""
    explicit = os.environ.get(STATE_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "state"
    return base / APP_NAME


def lab_key(inventory: Inventory) -> str:
    """The lab's folder name: a hash of its real devices' names and addresses."""
    real = sorted(f"{d.name} {d.base_url}" for d in inventory.real_devices)
    return "lab-" + hashlib.sha256("\n".join(real).encode()).hexdigest()[:12]


def private_dir(path: Path) -> Path:
    """Make `path` (and its parents) and keep it 0700; one line naming it when impossible."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o700)
    except OSError as exc:
        raise InfrastructureError(
            f"state folder {path}: {exc.strerror or exc}; set {STATE_DIR_ENV} to a writable "
            "folder"
        ) from None
    return path


def lab_state_dir(inventory: Inventory, workdir: Path) -> Path:
    """Where this lab's state lives: the state folder of its real devices, or the workdir
    for a lab of emulated devices only (its devices are gone with the workdir's lab)."""
    if not inventory.real_devices:
        return Path(workdir)
    root = state_root()
    private_dir(root)
    return private_dir(root / lab_key(inventory))
