"""`hil devices list|probe`: the inventory, and what the devices say about themselves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from harness.cli.common import (
    EXIT_ERROR,
    EXIT_FINDING,
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
from harness.cli.credentialscmd import register as register_credentials_command
from harness.cli.sharedcmd import register as register_shared_commands
from harness.inventory.model import AnyDevice, EmulatedDevice, RealDevice
from harness.lab.endpoints import LabEndpoints, lab_status
from harness.lab.probe import ProbeResult, probe_lab

devices_app = typer.Typer(
    help="List the lab inventory and probe its devices.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)



def _address(device: AnyDevice, endpoints: LabEndpoints | None) -> str | None:
    """Where the device answers: a real one's URL, an emulated one's while the lab runs."""
    if isinstance(device, RealDevice):
        return device.base_url
    if endpoints is not None and device.name in {d.name for d in endpoints.devices}:
        return endpoints.device(device.name).http
    return None


def _print_json(data: object) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False), flush=True)


def device_json(device: AnyDevice, endpoints: LabEndpoints | None) -> dict[str, object]:
    """One inventory device for `--json`: what devices.yaml says and where it answers;
    never a password nor the variable holding one."""
    return {
        "name": device.name,
        "kind": device.kind,
        "line": device.line.id.value,
        "line_title": device.line.title,
        "model": device.model,
        "firmware": device.firmware,
        "firmware_version": device.firmware_version.version,
        "gui_generation": device.gui_generation.value,
        "reset_by_email": device.supports_reserved_email_reset,
        "address": _address(device, endpoints),
        "defects": list(device.defects) if isinstance(device, EmulatedDevice) else [],
    }


@devices_app.command("list")
def devices_list(
    devices: DevicesOption = None, workdir: WorkdirOption = None, as_json: JsonOption = False
) -> None:
    """List the devices of the inventory: line, model, firmware, GUI generation, whether QA
    expects the reserved-e-mail reset, and where each answers."""
    path = devices or default_devices()
    inventory = inventory_or_fail(path)
    endpoints = lab_status(workdir or default_workdir())
    if as_json:
        _print_json({
            "inventory": str(Path(path).resolve()),
            "lab_running": endpoints is not None,
            "devices": [device_json(d, endpoints) for d in inventory.devices],
        })
        return
    table = new_table(
        f"Devices of {path}",
        *("name", "kind", "line", "model", "firmware", "GUI", "reset by e-mail", "address"),
    )
    for device in inventory.devices:
        address = _address(device, endpoints) or "(lab not running)"
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
    as_json: JsonOption = False,
) -> None:
    """Read model, firmware, serial and activation status from each device over ISAPI and
    show them beside devices.yaml's claims, flagging every mismatch.

    Activation status needs no login; deviceInfo is read with the password the harness
    knows (lab credential store, or the device's password_env), one attempt, never
    retried. Exit 0 all agree, 1 a mismatch, 2 a device unreachable, an unknown name or
    a device whose password_env is not set.
    """
    path = devices or default_devices()
    inventory = inventory_or_fail(path)
    known = {d.name for d in inventory.devices}
    unknown = [n for n in names or [] if n not in known]
    if unknown:
        fail(f"no device {', '.join(unknown)} in {path} (known: {', '.join(sorted(known))})")
    folder = (workdir or default_workdir()).resolve()
    results = probe_lab(inventory, folder, lab_status(folder), list(names or []))
    if as_json:
        _print_json({
            "inventory": str(Path(path).resolve()),
            "devices": [probe_json(result) for result in results],
        })
    else:
        _print_probe(path, results)
    if any(r.status in ("unreachable", "no password") for r in results):
        raise typer.Exit(EXIT_ERROR)
    if any(r.status == "mismatch" for r in results):
        raise typer.Exit(EXIT_FINDING)


def probe_json(result: ProbeResult) -> dict[str, object]:
    """One probed device for `--json`: the claims, what it answered, every disagreement."""
    info = result.info
    return {
        "name": result.device.name,
        "address": result.address,
        "status": result.status,
        "reachable": result.reachable,
        "activated": result.activated,
        "claimed": {"model": result.device.model, "firmware": result.device.firmware,
                    "line": result.device.line.id.value},
        "answered": None if info is None else {
            "model": info.model,
            "firmware": info.firmware_version,
            "firmware_released_date": info.firmware_released_date,
            "serial_number": info.serial_number,
            "device_type": info.device_type,
        },
        "mismatches": list(result.mismatches),
        "note": result.note or None,
    }


def _print_probe(path: Path, results: list[ProbeResult]) -> None:
    table = new_table(
        f"Probe of {path}", "name", "activated", "model", "firmware", "serial", "status"
    )
    notes: list[str] = []
    for result in results:
        claimed = result.device
        info = result.info
        if info is None:
            model, firmware = f"[dim]{claimed.model}?[/]", f"[dim]{claimed.firmware}?[/]"
        else:
            model, firmware = info.model, info.firmware_version
        for mismatch in result.mismatches:
            if mismatch.startswith("model") and info is not None:
                model = f"[red]{info.model}[/] (claims {claimed.model})"
            if mismatch.startswith("firmware") and info is not None:
                firmware = f"[red]{info.firmware_version}[/] (claims {claimed.firmware})"
        activated = "-" if result.activated is None else ("yes" if result.activated else "no")
        colour = {"ok": "green", "partial": "yellow"}.get(result.status, "red")
        table.add_row(
            claimed.name,
            activated,
            model,
            firmware,
            info.serial_number if info is not None else "-",
            f"[{colour}]{result.status}[/]",
        )
        notes += [f"{claimed.name}: {text}" for text in [*result.mismatches, result.note] if text]
    console.print(table)
    console.print("[dim]model? firmware?: as devices.yaml claims, not read from the device[/]")
    for note in notes:
        console.print(note, soft_wrap=True, markup=False)


# `hil devices leases|release|health`: the shared-lab commands, in their own module.
register_shared_commands(devices_app)
register_credentials_command(devices_app)
