"""Many devices in one asyncio process, plus the vendor cloud and the lab controller.

`Fleet` implements `emulator.interfaces.FleetHandle`. All devices share one aiohttp
Application; each has its own HTTP socket and an SSH port that listens only while SSH is on.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import os
import secrets
import socket
import sys
import time
from pathlib import Path
from typing import Any

from .config import FleetConfig
from .device import Device, DeviceSpec
from .interfaces import DeviceHandle, FleetHandle
from .isapi.routes import build_app
from .isapi.server import HttpFront, bind_socket

log = logging.getLogger(__name__)


def _optional(module: str) -> Any:
    """Import a module another helper provides; None while it does not exist yet."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return None
        raise


def _raise_open_file_limit() -> None:
    # Two sockets per device plus client connections: 1024 descriptors run out near 300.
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, 65536), hard))


class DeviceNet:
    """One device's sockets: implements `device.Listener`."""

    def __init__(self, fleet: Fleet, device: Device, http_port: int, ssh_port: int) -> None:
        self.fleet = fleet
        self.device = device
        self.http_port = http_port
        self.ssh_port = ssh_port
        self._http_open = False
        self._ssh_reservation: socket.socket | None = None
        self._shell: Any = None

    def reserve_ssh(self) -> None:
        # A bound socket that does not listen keeps the port ours and refuses connections.
        if self._ssh_reservation is None:
            self._ssh_reservation = bind_socket(self.fleet.host, self.ssh_port, listen=False)
            self.ssh_port = int(self._ssh_reservation.getsockname()[1])

    def _release_ssh(self) -> None:
        if self._ssh_reservation is not None:
            self._ssh_reservation.close()
            self._ssh_reservation = None

    async def open_http(self) -> None:
        if not self._http_open:
            cert = self.fleet.certs.get(self.device.name)
            self.http_port = await self.fleet.front.open(
                self.device, self.fleet.host, self.http_port,
                cert.server_context() if cert is not None else None)
            self._http_open = True

    async def close_http(self) -> None:
        if self._http_open:
            await self.fleet.front.close(self.http_port)
            self._http_open = False

    async def start_ssh(self) -> None:
        psh = self.fleet.psh
        if psh is None or self._shell is not None:
            return
        self._release_ssh()
        self._shell = await psh.start_device_shell(
            self.device, host=self.fleet.host, port=self.ssh_port,
            host_key=self.fleet.host_key())

    async def stop_ssh(self) -> None:
        if self._shell is not None:
            shell, self._shell = self._shell, None
            await shell.close()
        try:
            self.reserve_ssh()
        except OSError as exc:
            # Not fatal: the port merely stays unreserved until the next stop.
            log.warning("%s: cannot reserve SSH port %d: %s", self.device.name, self.ssh_port,
                        exc)

    async def close(self) -> None:
        await self.close_http()
        if self._shell is not None:
            shell, self._shell = self._shell, None
            await shell.close()
        self._release_ssh()


class Fleet:
    """The emulated lab of one process."""

    def __init__(self, config: FleetConfig) -> None:
        self.config = config
        self.host = config.host
        self.state_dir = Path(config.state_dir)
        self.front = HttpFront(build_app())
        self._devices: dict[str, Device] = {}
        self._nets: dict[str, DeviceNet] = {}
        self._serials: dict[str, Device] = {}
        self.psh = _optional("emulator.psh")
        self._host_key: Any = None
        self.cloud: Any = None
        self.lab_controller: Any = None
        self.devices_up_seconds = 0.0
        self.start_seconds = 0.0
        # Device name -> its HTTPS certificate (emulator.tlscerts.DeviceCert) when TLS is on.
        self.certs: dict[str, Any] = {}

    # ---- FleetHandle -------------------------------------------------------------------------

    def devices(self) -> list[DeviceHandle]:
        return list(self._devices.values())

    def device(self, name: str) -> DeviceHandle | None:
        return self._devices.get(name)

    def by_serial(self, serial: str) -> DeviceHandle | None:
        return self._serials.get(serial)

    def emulated(self, name: str) -> Device:
        """The concrete Device (for tests and the CLI)."""
        return self._devices[name]

    def net(self, name: str) -> DeviceNet:
        return self._nets[name]

    # ---- lifecycle ---------------------------------------------------------------------------

    def host_key(self) -> Any:
        if self._host_key is None:
            sshkeys = _optional("emulator.sshkeys")
            if sshkeys is not None:
                self._host_key = sshkeys.fleet_host_key(self.state_dir)
            else:
                import asyncssh
                self._host_key = asyncssh.generate_private_key("ecdsa-sha2-nistp256")
        return self._host_key

    async def start(self) -> dict[str, Any]:
        """Bring every device up, then the cloud and lab controller; answer the ready info."""
        _raise_open_file_limit()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        await self.front.setup()
        self._make_certs()
        specs = [DeviceSpec(entry.name, entry.model, entry.firmware, entry.http_port,
                            entry.ssh_port, list(entry.defects), entry.boot_seconds,
                            entry.latency_ms, entry.digest_algorithm,
                            entry.session_id_version, entry.session_timeout_s)
                 for entry in self.config.devices]
        # Devices power on together, as in a lab: the fleet is up after the longest boot,
        # not after the sum of all boots (14 devices x 5 s would outlast any ready timeout).
        await asyncio.gather(*(self.add_device(spec) for spec in specs))
        self.devices_up_seconds = time.perf_counter() - started
        await self._start_cloud()
        await self._start_lab_controller()
        self.start_seconds = time.perf_counter() - started
        return self.ready_info()

    def _make_certs(self) -> None:
        tls = self.config.tls
        if tls is None:
            return
        from .tlscerts import device_cert

        for entry in self.config.devices:
            signed = tls.ca if entry.tls_ca is None else entry.tls_ca
            self.certs[entry.name] = device_cert(tls.dir, entry.name, self.host,
                                                 signed_by_ca=signed)

    def host_key_fingerprint(self) -> str:
        """`SHA256:...` of the SSH host key every shell here presents (ssh-keygen's form)."""
        return str(self.host_key().get_fingerprint("sha256"))

    async def add_device(self, spec: DeviceSpec) -> Device:
        device = Device(spec, self.state_dir)
        net = DeviceNet(self, device, spec.http_port, spec.ssh_port)
        net.reserve_ssh()
        device.listener = net
        self._devices[spec.name] = device
        self._nets[spec.name] = net
        self._serials[device.serial] = device
        try:
            await device.start()
        except BaseException:
            await net.close()
            raise
        return device

    async def _start_cloud(self) -> None:
        cloud_mod = _optional("emulator.cloud")
        settings = self.config.cloud
        if cloud_mod is None or settings is None:
            return
        submission = None
        if settings.submission is not None:
            wanted = settings.submission
            password = os.environ.get(wanted.password_env)
            if not password:
                raise ValueError(f"cloud.submission: {wanted.password_env} is not set "
                                 "(the SMTP AUTH password)")
            submission = cloud_mod.Submission(user=wanted.user, password=password,
                                              tls_dir=Path(wanted.tls_dir))
        self.cloud = await cloud_mod.start_cloud(
            self, host=self.host, http_port=settings.http_port, smtp_port=settings.smtp_port,
            relay_host=self.config.mail_relay.host, relay_port=self.config.mail_relay.port,
            min_app_version=settings.min_app_version, submission=submission)

    async def _start_lab_controller(self) -> None:
        labctl = _optional("emulator.labctl")
        settings = self.config.lab_controller
        if labctl is None or settings is None:
            return
        password = os.environ.get(settings.password_env)
        if not password:
            # Without the secret nobody can log in; say so once, never print a password.
            print(f"emulator: {settings.password_env} is not set; lab controller logins "
                  "are refused", file=sys.stderr)
            password = secrets.token_hex(16)
        self.lab_controller = await labctl.start_lab_controller(
            self, host=self.host, port=settings.ssh_port, username=settings.username,
            password=password, host_key=self.host_key())

    def ready_info(self) -> dict[str, Any]:
        """The JSON the fleet prints once everything listens."""
        cloud = None
        if self.cloud is not None:
            cloud = {"http": f"http://{self._url_host()}:{self.cloud.http_port}",
                     "smtp_host": self.host, "smtp_port": self.cloud.smtp_port,
                     "recovery_address": self.cloud.recovery_address,
                     **({"smtp_user": self.cloud.submission.user,
                         "smtp_ca_file": str(self.cloud.smtp_ca_file)}
                        if self.cloud.submission is not None else {})}
        lab = None
        fingerprint = self.host_key_fingerprint() if self.psh is not None else None
        if self.lab_controller is not None:
            lab = {"host": self.host, "ssh_port": self.lab_controller.port,
                   "ssh_host_key": fingerprint}
        devices = []
        for name, device in self._devices.items():
            net = self._nets[name]
            cert = self.certs.get(name)
            scheme = "https" if cert is not None else "http"
            entry: dict[str, Any] = {
                "name": name, "http": f"{scheme}://{self._url_host()}:{net.http_port}",
                "http_port": net.http_port, "ssh_port": net.ssh_port, "model": device.model,
                "firmware": device.firmware, "serial": device.serial,
                "device_type": device.device_type, "generation": device.generation,
                "ssh_host_key": fingerprint}
            if cert is not None:
                entry["tls"] = {"cert": str(cert.cert), "spki_sha256": cert.spki_sha256,
                                "ca_file": str(cert.ca_file) if cert.ca_file else None}
            devices.append(entry)
        info = {"ready": True, "pid": os.getpid(), "cloud": cloud, "lab_controller": lab,
                "devices": devices}
        if self.config.tls is not None:
            self._write_pins(info)
        return info

    def _write_pins(self, info: dict[str, Any]) -> None:
        """`<tls dir>/pins.json`: what a lab file declaring these devices as real ones
        needs (address, certificate pin or CA, SSH host key), written once they listen."""
        assert self.config.tls is not None
        pins = {"lab_controller": info["lab_controller"],
                "devices": [{key: d[key] for key in ("name", "http", "ssh_port",
                                                     "ssh_host_key", "tls")}
                            for d in info["devices"]]}
        path = self.config.tls.dir / "pins.json"
        temp = path.with_name(f".pins-{os.getpid()}.json")
        temp.write_text(json.dumps(pins, indent=2) + "\n", encoding="utf-8")
        os.replace(temp, path)

    def _url_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    async def close(self) -> None:
        """Stop everything; safe to call twice."""
        for closer in (self.lab_controller, self.cloud):
            if closer is not None:
                with contextlib.suppress(Exception):
                    await closer.close()
        self.lab_controller = self.cloud = None
        for name, device in list(self._devices.items()):
            await device.shutdown()
            await self._nets[name].close()
        await self.front.cleanup()


async def run_until_signal(fleet: Fleet, on_ready: Any = None) -> None:
    """Start the fleet, report ready, run until SIGTERM/SIGINT, then shut down cleanly."""
    import signal

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        info = await fleet.start()
        if on_ready is not None:
            on_ready(info)
        await stop.wait()
    finally:
        await fleet.close()


def _conforms(device: Device, fleet: Fleet) -> tuple[DeviceHandle, FleetHandle]:
    # mypy checks here that Device and Fleet satisfy the protocols the other helpers use.
    return device, fleet
