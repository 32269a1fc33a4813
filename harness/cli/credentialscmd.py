"""`hil devices credentials`: what the harness knows of each device's admin password and
reserved address, and where that knowledge lives; every value masked."""

from __future__ import annotations

import json
import os

import typer

from harness.cli.common import (
    DevicesOption,
    JsonOption,
    WorkdirOption,
    console,
    default_devices,
    default_workdir,
    fail,
    inventory_or_fail,
    new_table,
)
from harness.errors import InfrastructureError
from harness.inventory.model import AnyDevice, RealDevice
from harness.lab.credentials import CredentialRecord, CredentialStore
from harness.lab.statedir import STATE_DIR_ENV, checked_root, persistent_keys

MASK = "****"


def mask_address(address: str | None) -> str | None:
    """The reserved address as the device's GUI shows it: `b****@example.com`."""
    if not address:
        return None
    local, _, domain = address.partition("@")
    return f"{local[:1]}{MASK}@{domain}" if domain else f"{local[:1]}{MASK}"


def _source(device: AnyDevice, record: CredentialRecord) -> str:
    """Where the known password comes from: a run that changed it, the inventory's
    environment variable, or nowhere."""
    if record.password_known:
        by = f"changed by run {record.run}" if record.run else "changed by the harness"
        return f"{by} at {record.changed_at}" if record.changed_at else by
    if isinstance(device, RealDevice):
        there = "set" if os.environ.get(device.password_env) else "not set"
        return f"env {device.password_env} ({there})"
    return "unknown (emulated: the harness activates it)"


def _row(device: AnyDevice, record: CredentialRecord) -> dict[str, object]:
    env_known = isinstance(device, RealDevice) and bool(os.environ.get(device.password_env))
    return {
        "device": device.name,
        "kind": device.kind,
        "password": MASK if record.password_known or env_known else None,
        "changed_at": record.changed_at,
        "run": record.run,
        "source": _source(device, record),
        "reserved_email": mask_address(record.email),
        "file": str(record.path),
    }


def credentials(
    devices: DevicesOption = None, workdir: WorkdirOption = None, as_json: JsonOption = False
) -> None:
    """What the harness knows of each device: password known (masked) and when a run
    changed it, the reserved address masked as the GUI shows it, and the file it is kept
    in (real devices: the lab's state folder, $HIL_STATE_DIR; emulated: the workdir)."""
    path = devices or default_devices()
    inventory = inventory_or_fail(path)
    folder = workdir or default_workdir()
    # Only read: a mistyped HIL_STATE_DIR is reported, never created.
    try:
        state_dir = checked_root() if inventory.real_devices else folder
    except InfrastructureError as exc:
        fail(str(exc))
    missing = bool(inventory.real_devices) and not state_dir.is_dir()
    store = CredentialStore(folder, state_dir=state_dir, persistent=persistent_keys(inventory))
    rows = [_row(d, r) for d, r in zip(inventory.devices,
                                       store.records(d.name for d in inventory.devices),
                                       strict=True)]
    if as_json:
        print(json.dumps({"state_dir": str(state_dir), "state_kept": not missing,
                          "workdir": str(folder.resolve()), "devices": rows}, indent=2),
              flush=True)
        return
    if missing:
        console.print(f"no state kept at {state_dir} yet ({STATE_DIR_ENV}): real devices' "
                      "passwords come from their env variables")
    table = new_table(f"Credentials (lab state: {state_dir}; {STATE_DIR_ENV} moves it)",
                      "device", "password", "source", "reserved e-mail")
    for row in rows:
        table.add_row(str(row["device"]), str(row["password"] or "unknown"),
                      str(row["source"]), str(row["reserved_email"] or "-"))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the command to `hil devices`."""
    app.command("credentials")(credentials)
