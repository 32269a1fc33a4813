"""The rehearsal lab: a lab on loopback that looks real to the harness (issue 15 item 5).

`python -m emulator rehearsal up DIR` starts, in one background process (`serve`):

- three emulated devices, one per GUI generation, over HTTPS: the recorder with a
  certificate signed by the lab CA (`DIR/certs/lab-ca.crt`), the cameras self-signed (the
  inventory pins their keys); SSH host key pinned;
- the lab controller (real SSH, password login, the same pinned host key);
- the vendor cloud, whose recovery SMTP is a submission server (STARTTLS, then AUTH);
- Dovecot (emulator/mailserver.py) holding the reserved mailbox, IMAP over TLS with a
  certificate of the lab CA, and LMTP;
- the lab's mail relay (emulator/mailrelay.py): the cloud's code mails go to it and it
  delivers them into Dovecot by LMTP, as a lab's Postfix would.

and writes `DIR/devices.yaml` (every device `kind: real`) and `DIR/secrets.env` (0600:
`export HIL_..._PASSWORD=...`), so that the harness is run with the very commands of a
real lab. How the devices are found: activated with the password of their `password_env`
and no reserved address, as a lab's devices are once installed (whoever installed them put
the passwords in the CI's secret store); from then on the harness keeps the passwords it
sets in its state folder (HIL_STATE_DIR) and recovers a device it lost with the lab
controller's reset button. The passwords and ports are
made once and kept in DIR, as are the devices' flash, certificates and host key, so a lab
brought down and up again is the same lab (the harness's state folder, keyed by names and
addresses, stays valid). `down DIR` stops everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import ConfigError, FleetConfig, validate_config
from .device import Device, DeviceSpec
from .errors import DeviceError
from .mailserver import Dovecot, Introspection, MailServerError, ServerCert, start_dovecot
from .tlscerts import device_cert

HOST = "127.0.0.1"
READY_FILE = "ready.json"
PID_FILE = "serve.pid"
PORTS_FILE = "ports.json"
SECRETS_FILE = "secrets.env"
INVENTORY_FILE = "devices.yaml"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0

MAILBOX_USER = "hil-reset@rehearsal.test"
LABCTL_USER = "lab"
IMAP_PASSWORD_ENV = "HIL_REHEARSAL_IMAP_PASSWORD"
SMTP_PASSWORD_ENV = "HIL_REHEARSAL_SMTP_PASSWORD"
LABCTL_PASSWORD_ENV = "HIL_REHEARSAL_LABCTL_PASSWORD"


class RehearsalError(Exception):
    """The rehearsal lab cannot be started or stopped; one line saying why."""


@dataclass(frozen=True)
class LabDevice:
    """One device of the rehearsal lab and how a real lab would have it."""

    name: str
    model: str
    firmware: str
    ca_signed: bool  # certificate signed by the lab CA; otherwise self-signed and pinned
    # Found activated with its env password (a lab's installed device); False: fresh from
    # the box (every device of DEVICES is found activated: see the module's docstring).
    activated: bool
    session_id_version: str = "2"

    @property
    def password_env(self) -> str:
        return "HIL_" + self.name.upper().replace("-", "_").replace(".", "_") + "_PASSWORD"


DEVICES = (
    LabDevice("nvr-lab-1", "DS-7608NI-K2", "V4.21.000", ca_signed=True, activated=True),
    LabDevice("ipc-lab-1", "DS-2CD3725G0-IZS", "V5.6.3", ca_signed=False, activated=True),
    LabDevice("ipc-lab-2", "DS-2CD2143G2-I", "V5.7.10 build 240120", ca_signed=False,
              activated=True, session_id_version="2.1"),
)


# --- the lab folder -------------------------------------------------------------------------


def _password() -> str:
    """A password every emulated firmware accepts: four classes, no runs or repeats."""
    from .passwords import check_new_password

    while True:
        candidate = "Rh-" + secrets.token_urlsafe(6) + "7a!"  # 14 characters
        if not check_new_password(candidate, refuse_risky=True, recorder_2020_rules=True,
                                  max_length=16):
            return candidate


def _secret_names() -> list[str]:
    return [d.password_env for d in DEVICES] + [IMAP_PASSWORD_ENV, SMTP_PASSWORD_ENV,
                                                 LABCTL_PASSWORD_ENV]


def read_secrets(folder: Path) -> dict[str, str]:
    """The `export NAME=value` lines of DIR/secrets.env."""
    found: dict[str, str] = {}
    with contextlib.suppress(FileNotFoundError):
        for line in (folder / SECRETS_FILE).read_text(encoding="utf-8").splitlines():
            name, sep, value = line.removeprefix("export ").partition("=")
            if sep and not line.startswith("#"):
                found[name.strip()] = value.strip().strip("'")
    return found


def ensure_secrets(folder: Path) -> dict[str, str]:
    """DIR/secrets.env, made once (mode 0600) and kept: the lab's passwords."""
    known = read_secrets(folder)
    if all(name in known for name in _secret_names()):
        return known
    values = {name: known.get(name) or _password() for name in _secret_names()}
    lines = ["# The rehearsal lab's secrets: `source` this file before the hil commands.",
             "# A real lab keeps them in its CI's secret store under the same names."]
    lines += [f"export {name}='{value}'" for name, value in values.items()]
    path = folder / SECRETS_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    os.chmod(path, 0o600)
    return values


def _free_port(taken: set[int]) -> int:
    from .mailserver import free_port

    port = free_port()
    while port in taken:
        port = free_port()
    taken.add(port)
    return port


def ensure_ports(folder: Path) -> dict[str, int]:
    """The lab's ports, chosen free once and kept in DIR/ports.json: the inventory and the
    harness's state folder (named by the devices' addresses) stay valid across restarts."""
    path = folder / PORTS_FILE
    with contextlib.suppress(FileNotFoundError, ValueError):
        ports = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(ports, dict) and all(isinstance(v, int) for v in ports.values()):
            return ports
    names = ["relay", "imaps", "imap", "lmtp", "cloud_http", "cloud_smtp", "labctl"]
    names += [f"{d.name}.{what}" for d in DEVICES for what in ("https", "ssh")]
    taken: set[int] = set()
    ports = {name: _free_port(taken) for name in names}
    path.write_text(json.dumps(ports, indent=2) + "\n", encoding="utf-8")
    return ports


# --- serve: the lab's process ---------------------------------------------------------------


def fleet_config(folder: Path, ports: dict[str, int]) -> FleetConfig:
    """The emulated part: devices over HTTPS, the cloud's submission server, the lab
    controller, code mails to the relay."""
    data: dict[str, Any] = {
        "host": HOST, "state_dir": str(folder / "state"),
        "mail_relay": {"host": HOST, "port": ports["relay"]},
        "cloud": {"http_port": ports["cloud_http"], "smtp_port": ports["cloud_smtp"],
                  "submission": {"user": MAILBOX_USER, "password_env": SMTP_PASSWORD_ENV,
                                 "tls_dir": str(folder / "certs")}},
        "lab_controller": {"ssh_port": ports["labctl"], "username": LABCTL_USER,
                           "password_env": LABCTL_PASSWORD_ENV},
        "tls": {"dir": str(folder / "certs"), "ca": False},
        "devices": [{"name": d.name, "model": d.model, "firmware": d.firmware,
                     "http_port": ports[f"{d.name}.https"], "ssh_port": ports[f"{d.name}.ssh"],
                     "session_id_version": d.session_id_version, "tls_ca": d.ca_signed}
                    for d in DEVICES],
    }
    return validate_config(data, "rehearsal lab")


def install_devices(config: FleetConfig, passwords: dict[str, str]) -> None:
    """Devices found activated are activated once with their env password, before their
    first boot (a flash file already there is the lab's later state and is kept)."""
    for entry, lab_device in zip(config.devices, DEVICES, strict=True):
        if not lab_device.activated or (config.state_dir / f"{entry.name}.json").exists():
            continue
        device = Device(DeviceSpec(entry.name, entry.model, entry.firmware,
                                   session_id_version=entry.session_id_version),
                        config.state_dir)
        try:
            device.activate_as_installed(passwords[lab_device.password_env])
        except DeviceError as exc:
            raise RehearsalError(f"{entry.name}: the firmware refuses the password in "
                                 f"{lab_device.password_env} ({exc})") from None


def _mail_cert(folder: Path) -> ServerCert:
    """Dovecot's certificate, signed by the lab CA as the devices' and the cloud's."""
    cert = device_cert(folder / "certs", "imap", HOST, signed_by_ca=True)
    assert cert.ca_file is not None
    return ServerCert(ca_file=cert.ca_file, cert_file=cert.cert, key_file=cert.key)


class RunningLab:
    """Everything `serve` started, stopped in reverse."""

    def __init__(self) -> None:
        self.dovecot: Dovecot | None = None
        self.introspection: Introspection | None = None
        self.relay: asyncio.Server | None = None
        self.fleet: Any = None

    async def close(self) -> None:
        if self.fleet is not None:
            with contextlib.suppress(Exception):
                await self.fleet.close()
        if self.relay is not None:
            self.relay.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.relay.wait_closed(), STOP_TIMEOUT_S)
        if self.dovecot is not None:
            self.dovecot.stop()
        if self.introspection is not None:
            self.introspection.stop()


async def _serve(folder: Path) -> None:
    from .fleet import Fleet
    from .mailrelay import start_relay

    ports = ensure_ports(folder)
    passwords = ensure_secrets(folder)
    # The fleet reads the SMTP and lab controller passwords from the environment.
    os.environ.update(passwords)
    config = fleet_config(folder, ports)
    config.state_dir.mkdir(parents=True, exist_ok=True)
    install_devices(config, passwords)
    lab = RunningLab()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        # Dovecot's folder must be reachable by its own users (dovenull, nobody), which a
        # private DIR may not be: a temporary folder of its own, removed at stop.
        dovecot, lab.introspection = await asyncio.to_thread(
            start_dovecot, {MAILBOX_USER: passwords[IMAP_PASSWORD_ENV]},
            cert=_mail_cert(folder), folder=Path(tempfile.mkdtemp(prefix="hil-rehearsal-mail-")),
            log_file=folder / "logs" / "dovecot.log", imaps_port=ports["imaps"],
            imap_port=ports["imap"], lmtp_port=ports["lmtp"])
        lab.dovecot = dovecot
        lab.relay, _ = await start_relay(HOST, ports["relay"], HOST, ports["lmtp"])
        lab.fleet = Fleet(config)
        info = await lab.fleet.start()
        write_inventory(folder, info, dovecot, lab.fleet)
        ready = folder / READY_FILE
        ready.write_text(json.dumps({"pid": os.getpid(), "devices": info["devices"]}) + "\n",
                         encoding="utf-8")
        logging.getLogger(__name__).info("rehearsal lab ready in %s", folder)
        await stop.wait()
    finally:
        with contextlib.suppress(FileNotFoundError):
            (folder / READY_FILE).unlink()
        await lab.close()


def serve(folder: Path) -> int:
    """The lab's process, in the foreground until SIGTERM: what `up` starts."""
    folder = folder.resolve()
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=folder / "logs" / "lab.log", level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # aiosmtpd's INFO lines are per connection; the cloud and the relay say what matters.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    try:
        asyncio.run(_serve(folder))
    except (RehearsalError, MailServerError, ConfigError, ValueError) as exc:
        print(f"emulator: error: rehearsal lab: {exc}", file=sys.stderr, flush=True)
        return 2
    except OSError as exc:
        print(f"emulator: error: rehearsal lab: cannot listen: {exc.strerror or exc} (a port "
              f"of {folder / PORTS_FILE} in use? delete that file to choose new ones)",
              file=sys.stderr, flush=True)
        return 2
    return 0


# --- the inventory --------------------------------------------------------------------------


def _known_hosts(folder: Path, fleet: Any, port: int) -> Path:
    """An OpenSSH known_hosts file for the lab controller (the other form of ssh_host_key)."""
    key = fleet.host_key().export_public_key("openssh").decode().split()[:2]
    path = folder / "certs" / "known_hosts"
    path.write_text(f"[{HOST}]:{port} {' '.join(key)}\n", encoding="utf-8")
    return path


def write_inventory(folder: Path, info: dict[str, Any], dovecot: Dovecot, fleet: Any) -> Path:
    """DIR/devices.yaml: the lab as a real one is written (docs/real-lab.md)."""
    ca = folder / "certs" / "lab-ca.crt"
    lines = ["# The rehearsal lab (python -m emulator rehearsal up): every device is declared",
             "# as a real one. Secrets: `source secrets.env` (names only here).",
             "devices:"]
    by_name = {d["name"]: d for d in info["devices"]}
    for lab_device in DEVICES:
        seen = by_name[lab_device.name]
        tls = (f"{{ca_file: {ca}}}" if lab_device.ca_signed
               else f"{{spki_sha256: {json.dumps(seen['tls']['spki_sha256'])}}}")
        lines += [
            f"  - name: {lab_device.name}",
            "    kind: real",
            f"    model: {lab_device.model}",
            f"    firmware: {lab_device.firmware}",
            f"    base_url: {seen['http']}",
            f"    tls: {tls}",
            f"    password_env: {lab_device.password_env}",
            f"    ssh_port: {seen['ssh_port']}",
            f"    ssh_host_key: {json.dumps(seen['ssh_host_key'])}",
            f"    outlet: {lab_device.name}",
        ]
    cloud = info["cloud"]
    labctl = info["lab_controller"]
    lines += [
        "mailbox:",
        "  kind: imap",
        f"  host: {HOST}",
        f"  port: {dovecot.imaps_port}",
        "  tls: ssl",
        f"  ca_file: {dovecot.ca.ca_file}",
        f"  user: {MAILBOX_USER}",
        f"  password_env: {IMAP_PASSWORD_ENV}",
        "  folder: INBOX",
        "cloud:",
        "  kind: export",
        f"  recovery_address: {cloud['recovery_address']}",
        "  smtp:",
        f"    host: {cloud['smtp_host']}",
        f"    port: {cloud['smtp_port']}",
        "    tls: starttls",
        f"    user: {cloud['smtp_user']}",
        f"    password_env: {SMTP_PASSWORD_ENV}",
        f"    ca_file: {cloud['smtp_ca_file']}",
        "lab_controller:",
        "  kind: real",
        f"  host: {labctl['host']}",
        f"  port: {labctl['ssh_port']}",
        f"  user: {LABCTL_USER}",
        f"  password_env: {LABCTL_PASSWORD_ENV}",
        f"  ssh_host_key: {_known_hosts(folder, fleet, labctl['ssh_port'])}",
        f"leases: {{kind: file, directory: {folder / 'leases'}}}",
    ]
    path = folder / INVENTORY_FILE
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- up and down ------------------------------------------------------------------------------


def _running_pid(folder: Path) -> int | None:
    try:
        pid = int((folder / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def _last_line(path: Path) -> str:
    with contextlib.suppress(OSError):
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
        if lines:
            return lines[-1].removeprefix("emulator: error: ").removeprefix("rehearsal lab: ")
    return "(nothing said)"


def up(folder: Path, timeout: float = START_TIMEOUT_S) -> Path:
    """Start the lab in the background; the inventory once everything listens."""
    from . import mailserver

    if not (os.access(mailserver.DOVECOT, os.X_OK)
            and os.access(mailserver.LMTP_SERVICE, os.X_OK)):
        raise RehearsalError(f"no Dovecot with LMTP here ({mailserver.DOVECOT}, "
                             f"{mailserver.LMTP_SERVICE}): install dovecot-imapd and "
                             "dovecot-lmtpd (scripts/ensure.sh)")
    folder.mkdir(parents=True, exist_ok=True)
    folder = folder.resolve()
    pid = _running_pid(folder)
    if pid is not None:
        raise RehearsalError(f"a rehearsal lab already runs from {folder} (pid {pid}); "
                             f"`python -m emulator rehearsal down {folder}` first")
    (folder / "logs").mkdir(exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        (folder / READY_FILE).unlink()
    ensure_secrets(folder)  # made here, so that `up` alone leaves them for `source`
    log = folder / "logs" / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "emulator", "rehearsal", "serve", str(folder)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
    (folder / PID_FILE).write_text(f"{process.pid}\n")
    deadline = time.monotonic() + timeout
    while not (folder / READY_FILE).exists():
        if process.poll() is not None:
            (folder / PID_FILE).unlink(missing_ok=True)
            raise RehearsalError(f"{_last_line(log)} (log: {log})")
        if time.monotonic() > deadline:
            _stop(process.pid)
            (folder / PID_FILE).unlink(missing_ok=True)
            raise RehearsalError(f"not ready within {timeout:.0f} s (see {log})")
        time.sleep(0.1)
    return folder / INVENTORY_FILE


def _stop(pid: int) -> bool:
    """SIGTERM to the lab's process, then SIGKILL to its process group (it leads one) if
    it has not ended within STOP_TIMEOUT_S; True when it was running."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not our child: ask the kernel whether it still runs
            finished = 0 if _alive(pid) else pid
        if finished:
            return True
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):
        # A zombie has ended; only its parent's wait is missing.
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    return True


def down(folder: Path) -> bool:
    """Stop the lab running from `folder`; False when none was running."""
    folder = folder.resolve()
    pid = _running_pid(folder)
    stopped = _stop(pid) if pid is not None else False
    for name in (PID_FILE, READY_FILE):
        (folder / name).unlink(missing_ok=True)
    return stopped
