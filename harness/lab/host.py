"""The emulated lab as one background process, started once per run.

`python -m harness.lab.host up --devices devices.yaml --workdir .lab` starts the SMTP sink,
writes the emulator's fleet config from the inventory's emulated devices, starts
`python -m emulator fleet CONFIG`, waits for its ready line, writes `<workdir>/lab.json`
(every address the harness needs) and runs until SIGTERM; `start_lab` spawns it so (the
command line for people is `hil lab up|down|status`). This module is the only place in
`harness` that knows the emulator exists, and it knows only its command line and ports.

Fixtures use `start_lab` (spawns the host detached, or reuses a live one built from the
same inventory), `lab_status` and `stop_lab`. Secrets made here (the lab controller's
password) go to `<workdir>/secrets.json` (mode 0600), never to lab.json or a log.

Long (~450 lines) on purpose: the host's whole life (fleet config, spawn, ready line,
lab.json, stop) in one module, the only one that knows the emulator's command line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import yaml
from filelock import FileLock
from filelock import Timeout as FileLockTimeout

from harness.clients.mail import SmtpSink
from harness.errors import HarnessError, InfrastructureError
from harness.inventory.fields import InventoryError
from harness.inventory.load import load_inventory
from harness.inventory.model import (
    EmulatedCloud,
    EmulatedLabController,
    ExportCloud,
    Inventory,
    SmtpSinkConfig,
)
from harness.lab.endpoints import LAB_JSON, SECRETS_FILE, DeviceEndpoint, LabEndpoints, lab_status
from harness.lab.processes import STOP_TIMEOUT, alive, terminate, write_atomic
from harness.waits import wait_until

HOST_ENV: Final = "HIL_LAB_HOST"


def lab_host() -> str:
    """The address the emulated lab listens on: loopback, or $HIL_LAB_HOST (the lab's own
    address in a network namespace that a shared-lab test made, where runners in other
    namespaces reach it over a bridge)."""
    return os.environ.get(HOST_ENV) or "127.0.0.1"
PID_FILE: Final = "labhost.pid"
LOG_FILE: Final = "labhost.log"
FLEET_LOG: Final = "fleet.log"
FLEET_CONFIG: Final = "fleet.yaml"
INVENTORY_COPY: Final = "inventory.json"
LABCTL_PASSWORD_ENV: Final = "HIL_LABCTL_PASSWORD"
CLOUD_SMTP_PASSWORD_ENV: Final = "HIL_CLOUD_SMTP_PASSWORD"
CLOUD_SMTP_USER: Final = "hil-export"
FLEET_READY_TIMEOUT: Final = 60.0
START_TIMEOUT: Final = 90.0


# --- helpers ------------------------------------------------------------------------------


def _own_submission(inventory: Inventory) -> bool:
    """The Export channel goes through the emulated cloud's own submission server (AUTH +
    STARTTLS): an `export` cloud without an smtp section."""
    return isinstance(inventory.cloud, ExportCloud) and inventory.cloud.smtp is None


def fleet_config(inventory: Inventory, workdir: Path, smtp_port: int) -> dict[str, Any]:
    """The emulator's fleet config (its documented contract) for the inventory's emulated part."""
    cloud = inventory.cloud
    controller = inventory.lab_controller
    return {
        "host": lab_host(),
        "state_dir": str(workdir / "state"),
        "mail_relay": {"host": lab_host(), "port": smtp_port},
        "cloud": {
            "http_port": 0,
            "smtp_port": 0,
            "min_app_version": cloud.min_app_version
            if isinstance(cloud, EmulatedCloud)
            else "3.5.4",
            **({"submission": {"user": CLOUD_SMTP_USER, "password_env": CLOUD_SMTP_PASSWORD_ENV,
                               "tls_dir": str(workdir / "cloud-tls")}}
               if _own_submission(inventory) else {}),
        },
        "lab_controller": {
            "ssh_port": 0,
            "username": controller.username
            if isinstance(controller, EmulatedLabController)
            else "lab",
            "password_env": LABCTL_PASSWORD_ENV,
        },
        "defect_modules": [],
        "devices": [
            {
                "name": d.name,
                "model": d.model,
                "firmware": d.firmware,
                "http_port": 0,
                "ssh_port": 0,
                "defects": list(d.defects),
                "boot_seconds": d.boot_seconds,
                "latency_ms": d.latency_ms,
                **d.emulation.fleet_keys(),
            }
            for d in inventory.emulated_devices
        ],
    }


def _read_ready_line(proc: subprocess.Popen[bytes], timeout: float) -> dict[str, Any]:
    """The fleet's one JSON ready line, or InfrastructureError with its own error line."""
    assert proc.stdout is not None
    # Not harness.waits.wait_until: select() on the fleet's pipe waits for output, not a poll.
    deadline = time.monotonic() + timeout
    buffer = b""
    while b"\n" not in buffer:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise InfrastructureError(
                f"the emulator fleet printed no ready line within {timeout:g} s"
            )
        ready, _, _ = select.select([proc.stdout], [], [], min(remaining, 0.5))
        if ready:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buffer += chunk
        elif proc.poll() is not None:
            break
    line, _, _ = buffer.partition(b"\n")
    try:
        data = json.loads(line) if line.strip() else None
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("ready") is True:
        return data
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
    raise InfrastructureError(f"the emulator fleet did not start: {_fleet_error(proc)}")


def launch_fleet(
    config: Path, log: Path, *, env: Mapping[str, str] | None = None,
    cwd: Path | None = None, timeout: float = FLEET_READY_TIMEOUT,
) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """Start `python -m emulator fleet CONFIG` (its stderr appended to `log`) and wait for
    its JSON ready line: the process and that line.

    The one launcher of the emulated fleet: the lab host and the harness's own tests use
    it. `InfrastructureError` with the fleet's last log line when no ready line comes; the
    process is stopped then.
    """
    with log.open("ab") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "emulator", "fleet", str(config)],
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            cwd=cwd or Path.cwd(),
        )
    proc.hil_log = log  # type: ignore[attr-defined]
    try:
        return proc, _read_ready_line(proc, timeout)
    except BaseException:
        stop_fleet(proc)
        raise


def stop_fleet(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """Stop a fleet `launch_fleet` started: SIGTERM, then SIGKILL after `timeout` s."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def _fleet_error(proc: subprocess.Popen[bytes]) -> str:
    code = proc.poll()
    status = f"exit status {code}" if code is not None else "still running"
    log = getattr(proc, "hil_log", None)
    last = ""
    if isinstance(log, Path) and log.exists():
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
        last = lines[-1] if lines else ""
    return f"{last} ({status}; see {log})" if last else f"{status}; see {log}"


def _drain(stream: Any, target: Path) -> None:
    # The fleet may print more after its ready line; a full pipe would block it.
    with target.open("ab") as out:
        for chunk in iter(lambda: stream.read1(65536), b""):
            out.write(chunk)
            out.flush()


# --- the host process ---------------------------------------------------------------------


def run_host(inventory: Inventory, workdir: Path) -> int:
    """Run the emulated lab in this process until SIGTERM/SIGINT; 0 on a clean stop."""
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / LAB_JSON).unlink(missing_ok=True)
    write_atomic(workdir / PID_FILE, f"{os.getpid()}\n")
    stop = threading.Event()
    serving = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()
        if not serving.is_set():
            # Still starting: leave the wait for the fleet now; `finally` cleans up.
            raise SystemExit(1)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)

    mail_config = inventory.mailbox
    port = mail_config.port if isinstance(mail_config, SmtpSinkConfig) else None
    sink = SmtpSink(workdir / "maildir", host=lab_host(), port=port).start()
    proc: subprocess.Popen[bytes] | None = None
    try:
        password = secrets.token_urlsafe(18)
        smtp_password = secrets.token_urlsafe(18)
        write_atomic(
            workdir / SECRETS_FILE,
            json.dumps({"lab_controller_password": password,
                        "cloud_smtp_password": smtp_password}),
            0o600,
        )
        os.chmod(workdir / SECRETS_FILE, 0o600)
        config_path = workdir / FLEET_CONFIG
        config = fleet_config(inventory, workdir, sink.port)
        write_atomic(config_path, yaml.safe_dump(config, sort_keys=False))
        env = {**os.environ, LABCTL_PASSWORD_ENV: password,
               CLOUD_SMTP_PASSWORD_ENV: smtp_password}
        fleet_log = workdir / FLEET_LOG
        proc, ready = launch_fleet(config_path, fleet_log, env=env)
        threading.Thread(target=_drain, args=(proc.stdout, fleet_log), daemon=True).start()
        endpoints = _endpoints(inventory, workdir, sink, proc.pid, ready)
        write_atomic(workdir / LAB_JSON, endpoints.to_json())
        serving.set()
        print(f"lab up: {len(endpoints.devices)} devices, lab.json in {workdir}", flush=True)
        while not stop.wait(0.5):
            if proc.poll() is not None:
                raise InfrastructureError(f"the emulator fleet stopped: {_fleet_error(proc)}")
        return 0
    finally:
        (workdir / LAB_JSON).unlink(missing_ok=True)
        if proc is not None:
            stop_fleet(proc)
        sink.stop()
        (workdir / SECRETS_FILE).unlink(missing_ok=True)
        (workdir / PID_FILE).unlink(missing_ok=True)


def _endpoints(
    inventory: Inventory, workdir: Path, sink: SmtpSink, fleet_pid: int, ready: dict[str, Any]
) -> LabEndpoints:
    cloud = ready.get("cloud") or {}
    controller = ready.get("lab_controller") or {}
    devices = tuple(
        DeviceEndpoint(
            name=str(d["name"]),
            http=str(d["http"]),
            http_port=int(d["http_port"]),
            ssh_port=int(d["ssh_port"]),
            model=str(d["model"]),
            firmware=str(d["firmware"]),
            serial=str(d["serial"]),
            device_type=str(d["device_type"]),
            generation=str(d["generation"]),
        )
        for d in ready.get("devices", [])
    )
    missing = {d.name for d in inventory.emulated_devices} - {d.name for d in devices}
    if missing:
        raise InfrastructureError(
            f"the emulator fleet did not start devices {', '.join(sorted(missing))}"
        )
    username = (
        inventory.lab_controller.username
        if isinstance(inventory.lab_controller, EmulatedLabController)
        else None
    )
    return LabEndpoints(
        inventory_digest=inventory.digest(),
        host_pid=os.getpid(),
        fleet_pid=fleet_pid,
        smtp_host=lab_host(),
        smtp_port=sink.port,
        maildir=str(sink.maildir),
        cloud_http=cloud.get("http"),
        cloud_smtp_host=cloud.get("smtp_host"),
        cloud_smtp_port=cloud.get("smtp_port"),
        recovery_address=cloud.get("recovery_address"),
        lab_controller_host=controller.get("host"),
        lab_controller_ssh_port=controller.get("ssh_port"),
        lab_controller_username=username,
        secrets_file=str(workdir / SECRETS_FILE),
        devices=devices,
        cloud_smtp_user=cloud.get("smtp_user"),
        cloud_smtp_ca_file=cloud.get("smtp_ca_file"),
    )


# --- the API for fixtures -----------------------------------------------------------------


def _host_pid(workdir: Path) -> int | None:
    try:
        return int((workdir / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def start_lab(
    inventory: Inventory, workdir: Path | str, *, timeout: float = START_TIMEOUT
) -> LabEndpoints:
    """The emulated lab for `inventory`: a running one from `workdir` if it was built from
    the same inventory, else a new host process, detached so it outlives the caller.

    Safe to call from several processes at once (xdist workers): a file lock makes one of
    them start the lab and the others reuse it. Raises `InfrastructureError` with one line
    when the lab cannot start, and when a lab built from another inventory is running.
    """
    if not inventory.emulated_devices:
        raise HarnessError("the inventory has no emulated devices: there is no lab to start")
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(workdir / "labhost.lock"), timeout=timeout):
            return _start_locked(inventory, workdir, timeout)
    except FileLockTimeout:
        raise InfrastructureError(
            f"another process held {workdir / 'labhost.lock'} for {timeout:g} s "
            "while starting the lab"
        ) from None


def _start_locked(inventory: Inventory, workdir: Path, timeout: float) -> LabEndpoints:
    running = lab_status(workdir)
    if running is not None:
        if running.inventory_digest == inventory.digest():
            return running
        raise InfrastructureError(
            f"a lab built from another inventory is running in {workdir} (pid {running.host_pid}); "
            f"stop it: hil lab down --workdir {workdir}"
        )
    stale = _host_pid(workdir)
    if stale is not None and alive(stale):
        # A host still starting, or stuck: it owns the workdir's ports and files.
        stop_lab(workdir)
    write_atomic(workdir / INVENTORY_COPY, json.dumps(inventory.model_dump(mode="json")))
    log_path = workdir / LOG_FILE
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "harness.lab.host",
                "up",
                "--devices",
                str(workdir / INVENTORY_COPY),
                "--workdir",
                str(workdir),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # detached: a Ctrl-C of the test run does not kill it
            cwd=Path.cwd(),
        )

    def started() -> LabEndpoints | None:
        endpoints = lab_status(workdir)
        if endpoints is not None and endpoints.host_pid == proc.pid:
            return endpoints
        if proc.poll() is not None:
            raise InfrastructureError(f"the emulated lab did not start: {_last_line(log_path)}")
        return None

    endpoints = wait_until(started, timeout, f"the emulated lab to write {workdir / LAB_JSON}")
    if endpoints is not None:
        return endpoints
    terminate(proc.pid)
    raise InfrastructureError(
        f"the emulated lab wrote no {workdir / LAB_JSON} within {timeout:g} s; see {log_path}"
    )


def _last_line(path: Path) -> str:
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return f"no log at {path}"
    if not lines:
        return f"no output (log: {path})"
    return f"{lines[-1].removeprefix('error: ')} (log: {path})"


def stop_lab(workdir: Path | str) -> bool:
    """Stop the lab host of `workdir` (it stops the fleet and the sink); True if one ran."""
    workdir = Path(workdir).resolve()
    pid = _host_pid(workdir)
    if pid is None or not alive(pid):
        (workdir / LAB_JSON).unlink(missing_ok=True)
        return False
    if not terminate(pid):
        raise InfrastructureError(
            f"the lab host (pid {pid}) did not stop within {STOP_TIMEOUT:g} s"
        )
    return True


# --- command line ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """`up --devices FILE --workdir DIR`: the host's own entry, spawned by `start_lab`
    (people use `hil lab up|down|status`); one clear line on failure, exit status 2."""
    parser = argparse.ArgumentParser(prog="python -m harness.lab.host", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run the emulated lab in the foreground until SIGTERM")
    up.add_argument("--devices", default="devices.yaml", type=Path)
    up.add_argument("--workdir", default=".lab", type=Path)
    args = parser.parse_args(argv)
    try:
        return run_host(load_inventory(args.devices), args.workdir)
    except (InventoryError, InfrastructureError) as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2

if __name__ == "__main__":
    sys.exit(main())
