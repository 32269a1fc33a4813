"""Where a lab's state outlives a checkout: the admin passwords the harness set on real
devices and the transition log, in `HIL_STATE_DIR` (default `$XDG_STATE_HOME/hik-reset-hil`,
else `~/.local/state/hik-reset-hil`).

CI checkouts clean ignored files; a password kept in the workdir (`.lab`) would go with
them and the next nightly could not log in to any device the last one changed. Each real
device's file is keyed by the device itself (`credentials/<name>@<host>_<port>.json`), not
by the inventory around it: two checkouts of one lab share the files, and adding, removing
or renaming another device, or moving it to a new address, leaves the others' passwords
where they were. Emulated devices keep their state in the lab workdir (their flash lives in
`<workdir>/state`), so their passwords stay there.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final

from harness.errors import InfrastructureError
from harness.inventory.fields import address_of
from harness.inventory.model import Inventory, RealDevice

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


def device_key(device: RealDevice) -> str:
    """A real device's file name in the state folder: its name and normalised address
    (host lower-cased, the scheme's default port filled in), so nothing else in the
    inventory moves it."""
    host, port = address_of(device.base_url)
    return f"{device.name}@{host}_{port}"


def persistent_keys(inventory: Inventory) -> dict[str, str]:
    """Device name -> file key, for every real device of `inventory`."""
    return {d.name: device_key(d) for d in inventory.real_devices}


def _refuse_shared(root: Path) -> None:
    """A root others can write to (/tmp) would let them plant or swap a device's password
    file: one line naming the variable and the path."""
    try:
        mode = root.stat().st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise InfrastructureError(
            f"{STATE_DIR_ENV}={root}: {exc.strerror or exc}") from None
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise InfrastructureError(
            f"{STATE_DIR_ENV}={root} is writable by its group or by others; point "
            f"{STATE_DIR_ENV} at a folder only this user can write (e.g. ~/.local/state/"
            f"{APP_NAME})")


def private_dir(path: Path) -> Path:
    """Make `path` and its missing parents 0700; a folder that already exists keeps its
    mode (it is someone's choice, not ours). One line naming it when impossible."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    try:
        for folder in reversed(missing):
            folder.mkdir(mode=0o700, exist_ok=True)
            os.chmod(folder, 0o700)  # mkdir's mode is cut by the umask
    except OSError as exc:
        raise InfrastructureError(
            f"cannot make the private folder {path}: {exc.strerror or exc} (real devices' "
            f"state: set {STATE_DIR_ENV} to a writable folder)"
        ) from None
    return path


def checked_root() -> Path:
    """The state root, refused when others can write to it (not created)."""
    root = state_root()
    _refuse_shared(root)
    return root


def lab_state_dir(inventory: Inventory, workdir: Path) -> Path:
    """Where this lab's state lives: the state root for a lab with real devices (made
    private when the harness creates it), the workdir for a lab of emulated devices only
    (its devices are gone with the workdir's lab)."""
    if not inventory.real_devices:
        return Path(workdir)
    return private_dir(checked_root())
