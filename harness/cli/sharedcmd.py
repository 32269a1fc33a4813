"""`hil devices leases|release|health`: who holds which device, an admin's release, and the
health probe that clears a device's shared bad mark.

Leases and bad marks live where devices.yaml's `leases:` says: Redis for a lab several
runners share (harness/lab/redisleases.py, harness/lab/devicehealth.py), lock files for one host.
"""

from __future__ import annotations

import getpass
import json
import socket
import time
from typing import Annotated

import typer

from harness.cli.common import (
    EXIT_ERROR,
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
from harness.clients.isapi import IsapiClient
from harness.errors import HarnessError, InfrastructureError, failure_kind
from harness.lab.endpoints import lab_status
from harness.lab.leases import FileLeaseBackend, backend_for
from harness.lab.probe import PROBE_TIMEOUT
from harness.lab.session import LabSession


def leases(devices: DevicesOption = None, as_json: JsonOption = False) -> None:
    """Who holds each device now, and since when (Redis: every runner of the lab; file
    leases: this host). Exit 0; 2 when the lease store cannot be read."""
    path = devices or default_devices()
    inventory = inventory_or_fail(path)
    rows: list[dict[str, object]]
    try:
        backend = backend_for(inventory.leases)
        if isinstance(backend, FileLeaseBackend):
            rows = [{"device": d.name, "holder": holder}
                    for d in inventory.devices
                    if (holder := backend.holder_of(d.name)) is not None]
        else:
            from harness.lab.redisleases import RedisLeaseBackend

            assert isinstance(backend, RedisLeaseBackend)
            rows = [{"device": r.device, "holder": r.holder, "host": r.host, "pid": r.pid,
                     "run": r.run, "job": r.job, "token": r.token,
                     "since": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.since))}
                    for r in backend.held()]
    except (HarnessError, InfrastructureError) as exc:
        fail(str(exc))
    if as_json:
        print(json.dumps({"inventory": str(path), "leases": rows}, indent=2))
        return
    columns = sorted({key for row in rows for key in row}, key=list(rows[0]).index) if rows \
        else ["device", "holder"]
    table = new_table(f"Leases of {path} ({inventory.leases.kind})", *columns)
    for row in rows:
        table.add_row(*(str(row.get(c, "")) for c in columns))
    console.print(table)
    if not rows:
        console.print("no device is leased")


def release(
    device: Annotated[str, typer.Argument(help="The device whose lease ends.")],
    force: Annotated[bool, typer.Option("--force", help="Required: it ends the holder's "
                                        "test (as infrastructure, no verdict).")] = False,
    devices: DevicesOption = None,
) -> None:
    """End another runner's lease of DEVICE (an admin's act, logged with who did it).
    Redis leases only: a file lock belongs to its live process. Exit 0 released (or was
    free), 2 refused."""
    path = devices or default_devices()
    inventory = inventory_or_fail(path)
    if device not in {d.name for d in inventory.devices}:
        fail(f"no device {device!r} in {path}")
    if not force:
        fail(f"releasing {device}'s lease ends its holder's test: say --force")
    try:
        backend = backend_for(inventory.leases)
    except (HarnessError, InfrastructureError) as exc:
        fail(str(exc))
    if isinstance(backend, FileLeaseBackend):
        fail(f"{path}: file leases belong to the process holding them; end that process "
             "(its lease ends with it)")
    from harness.lab.redisleases import RedisLeaseBackend

    assert isinstance(backend, RedisLeaseBackend)
    admin = f"{getpass.getuser()}@{socket.gethostname()}"
    try:
        was = backend.force_release(device, by=admin)
    except InfrastructureError as exc:
        fail(str(exc))
    told = f"held by {was.describe()}" if was else "it was free"
    print(f"released the lease of {device} ({told}); by {admin}", flush=True)


def health(
    names: Annotated[list[str] | None, typer.Argument(help="Devices; all when none.")] = None,
    devices: DevicesOption = None,
    workdir: WorkdirOption = None,
) -> None:
    """Probe each device cheaply (does it answer /SDK/activateStatus?) and clear the bad
    mark of every one that does: in the lab's Redis (all runners) and in this workdir's
    quarantine. Exit 0 all answer, 2 when one does not (its mark stays or is set)."""
    path = devices or default_devices()
    inventory = inventory_or_fail(path)
    known = {d.name for d in inventory.devices}
    unknown = [n for n in names or [] if n not in known]
    if unknown:
        fail(f"no device {', '.join(unknown)} in {path} (known: {', '.join(sorted(known))})")
    folder = (workdir or default_workdir()).resolve()
    from harness.lab.devicehealth import quarantine_for

    try:
        quarantine = quarantine_for(folder, inventory.leases)
    except (HarnessError, InfrastructureError) as exc:
        fail(str(exc))
    lab = LabSession(inventory=inventory, workdir=folder, endpoints=lab_status(folder))
    table = new_table(f"Health of {path}", "device", "answers", "was marked bad", "now")
    sick = False
    for entry in inventory.devices:
        if names and entry.name not in names:
            continue
        before = quarantine.reason(entry.name)
        problem = _answers(lab, entry.name)
        if problem is None:
            quarantine.lift(entry.name)
            now = "[green]healthy[/]"
        else:
            sick = True
            quarantine.mark(entry.name, f"health probe failed: {problem}")
            now = f"[red]bad[/]: {problem}"
        table.add_row(entry.name, "yes" if problem is None else "no", before or "-", now)
    console.print(table)
    if sick:
        raise typer.Exit(EXIT_ERROR)


def _answers(lab: LabSession, name: str) -> str | None:
    """None when the device answers its activation status, else what went wrong."""
    try:
        dut = lab.device(name)
        with IsapiClient(dut.base_url, verify=dut.verify, timeout=PROBE_TIMEOUT) as client:
            client.activated()
    except Exception as exc:  # classified, shown in one line
        return f"{failure_kind(exc)}: {' '.join(str(exc).split())}"
    return None


def register(app: typer.Typer) -> None:
    """Add the commands to `hil devices`."""
    app.command("leases")(leases)
    app.command("release")(release)
    app.command("health")(health)
