"""`hil lab up|down|status`: the emulated lab as a background process."""

from __future__ import annotations

from pathlib import Path

import typer

from harness.cli.common import (
    EXIT_ERROR,
    DevicesOption,
    WorkdirOption,
    console,
    default_devices,
    default_workdir,
    fail,
    inventory_or_fail,
    new_table,
)
from harness.errors import HarnessError, InfrastructureError
from harness.lab.endpoints import LabEndpoints, lab_status
from harness.lab.health import lab_health
from harness.lab.host import start_lab, stop_lab

lab_app = typer.Typer(
    help="Start, stop and inspect the emulated lab (fleet, mail sink, cloud, lab controller).",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)


def show_lab(endpoints: LabEndpoints, workdir: Path) -> bool:
    """Print the lab's addresses and health; True when every part answered."""
    health = lab_health(endpoints)
    by_name = {d.name: d for d in endpoints.devices}
    title = f"Emulated lab (pid {endpoints.host_pid}, {workdir / 'lab.json'})"
    services = new_table(title, "part", "address", "health")
    devices = new_table(
        "Emulated devices", "device", "model", "firmware", "GUI", "address", "health"
    )
    for item in health:
        mark = "[green]ok[/]" if item.ok else "[red]FAIL[/]"
        device = by_name.get(item.part)
        if device is None:
            services.add_row(item.part, item.address, f"{mark} {item.detail}")
        else:
            devices.add_row(
                device.name,
                device.model,
                device.firmware,
                device.generation,
                item.address,
                f"{mark} {item.detail}",
            )
    console.print(services)
    console.print(devices)
    console.print(f"mail delivered to {endpoints.maildir}", soft_wrap=True)
    return all(item.ok for item in health)


@lab_app.command("up")
def lab_up(
    devices: DevicesOption = None,
    workdir: WorkdirOption = None,
) -> None:
    """Start the emulated lab in the background (or reuse a running one built from the same
    inventory), then show its addresses and health. Exit 0 when every part answers, 2 when
    the lab cannot start or a part does not answer."""
    inventory = inventory_or_fail(devices or default_devices())
    folder = workdir or default_workdir()
    try:
        endpoints = start_lab(inventory, folder)
    except (InfrastructureError, HarnessError) as exc:
        fail(str(exc))
    if not show_lab(endpoints, folder.resolve()):
        raise typer.Exit(EXIT_ERROR)


@lab_app.command("down")
def lab_down(workdir: WorkdirOption = None) -> None:
    """Stop the emulated lab (fleet, sink, cloud, controller); leases held by its processes
    are released with them. Exit 0 whether or not a lab was running."""
    folder = workdir or default_workdir()
    try:
        stopped = stop_lab(folder)
    except InfrastructureError as exc:
        fail(str(exc))
    console.print("lab stopped" if stopped else f"no lab running in {folder}")


@lab_app.command("status")
def lab_status_command(workdir: WorkdirOption = None) -> None:
    """Show the running lab's addresses and health. Exit 0 healthy, 1 no lab running,
    2 a part does not answer."""
    folder = workdir or default_workdir()
    endpoints = lab_status(folder)
    if endpoints is None:
        console.print(f"no lab running in {folder} (start one: hil lab up)")
        raise typer.Exit(1)
    if not show_lab(endpoints, folder.resolve()):
        raise typer.Exit(EXIT_ERROR)
