"""`hil devices list|probe`: the inventory, and what the devices say about themselves."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from harness.cli.common import (
    EXIT_ERROR,
    EXIT_FINDING,
    DevicesOption,
    WorkdirOption,
    console,
    default_devices,
    default_workdir,
    fail,
    inventory_or_fail,
)
from harness.cli.probe import probe_lab
from harness.lab import EmulatedDevice, RealDevice
from harness.labhost import lab_status

devices_app = typer.Typer(
    help="List the lab inventory and probe its devices.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)


@devices_app.command("list")
def devices_list(devices: DevicesOption = None, workdir: WorkdirOption = None) -> None:
    """List the devices of the inventory: line, model, firmware, GUI generation, whether QA
    expects the reserved-e-mail reset, and where each answers."""
    path = devices or default_devices()
    inventory = inventory_or_fail(path)
    endpoints = lab_status(workdir or default_workdir())
    table = Table(title=f"Devices of {path}")
    for column in ("name", "kind", "line", "model", "firmware", "GUI", "reset by e-mail"):
        table.add_column(column)
    table.add_column("address")
    for device in inventory.devices:
        if isinstance(device, RealDevice):
            address = device.base_url
        elif endpoints is not None and device.name in {d.name for d in endpoints.devices}:
            address = endpoints.device(device.name).http
        else:
            address = "(lab not running)"
        kind: str = device.kind
        if isinstance(device, EmulatedDevice) and device.defects:
            kind += f" [red]defects: {', '.join(device.defects)}[/]"
        table.add_row(
            device.name,
            kind,
            device.line.title,
            device.model,
            device.firmware,
            device.gui_generation.value,
            "yes" if device.supports_reserved_email_reset else "no",
            address,
        )
    console.print(table)


@devices_app.command("probe")
def devices_probe(
    names: Annotated[
        list[str] | None, typer.Argument(help="Device names; all devices when none.")
    ] = None,
    devices: DevicesOption = None,
    workdir: WorkdirOption = None,
) -> None:
    """Read model, firmware, serial and activation status from each device over ISAPI and
    show them beside devices.yaml's claims, flagging every mismatch.

    Activation status needs no login; deviceInfo is read with the password the harness
    knows (lab credential store, or the device's password_env), one attempt, never
    retried. Exit 0 all agree, 1 a mismatch, 2 a device unreachable or unknown name.
    """
    path = devices or default_devices()
    inventory = inventory_or_fail(path)
    known = {d.name for d in inventory.devices}
    unknown = [n for n in names or [] if n not in known]
    if unknown:
        fail(f"no device {', '.join(unknown)} in {path} (known: {', '.join(sorted(known))})")
    folder = (workdir or default_workdir()).resolve()
    results = probe_lab(inventory, folder, lab_status(folder), list(names or []))
    table = Table(title=f"Probe of {path}")
    for column in ("name", "address", "activated", "model", "firmware", "serial", "status"):
        table.add_column(column)
    for result in results:
        claimed = result.device
        info = result.info
        model = claimed.model if info is None else info.model
        firmware = claimed.firmware if info is None else info.firmware_version
        if info is not None and info.model != claimed.model:
            model = f"[red]{info.model}[/] (claims {claimed.model})"
        if info is not None and any(m.startswith("firmware") for m in result.mismatches):
            firmware = f"[red]{info.firmware_version}[/] (claims {claimed.firmware})"
        elif info is None:
            model, firmware = f"[dim]{model} (claimed)[/]", f"[dim]{firmware} (claimed)[/]"
        activated = "-" if result.activated is None else ("yes" if result.activated else "no")
        colour = {"ok": "green", "partial": "yellow"}.get(result.status, "red")
        status = f"[{colour}]{result.status}[/]"
        details = [*result.mismatches, result.note]
        status += "".join(f"\n{d}" for d in details if d)
        table.add_row(
            claimed.name,
            result.address or "-",
            activated,
            model,
            firmware,
            info.serial_number if info is not None else "-",
            status,
        )
    console.print(table)
    if any(r.status == "unreachable" for r in results):
        raise typer.Exit(EXIT_ERROR)
    if any(r.status == "mismatch" for r in results):
        raise typer.Exit(EXIT_FINDING)
