"""A small emulated lab on loopback for the client tests, started as real hardware is met.

The emulator runs as a separate process (`python -m emulator fleet CONFIG`), reached only
through its ports and its one JSON ready line; the code mails go to a real SMTP sink.
tests/harness/conftest.py makes `start_emulated_lab` the module-scoped `emulated_lab`
fixture: each module that asks for it gets its own fleet.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.clients.mail import MaildirMailbox, SmtpSink
from harness.lab.host import launch_fleet, stop_fleet

HOST = "127.0.0.1"
READY_TIMEOUT_S = 60.0
REPO = Path(__file__).resolve().parents[2]

# name -> (model, firmware): a recorder and a camera that support the reserved-e-mail reset,
# and one camera below the threshold (V5.6.0).
DEVICES: dict[str, tuple[str, str]] = {
    "nvr": ("DS-7608NI-K2", "V4.21.000"),
    "nvr-lock": ("DS-7616NI-I2", "V4.22.005"),
    "ipc": ("DS-2CD2143G2-I", "V5.7.10 build 240120"),
    "ipc-old": ("DS-2CD2043G2-I", "V5.5.82"),
    "ipc-beat": ("DS-2CD3725G0-IZS", "V5.6.3"),
}
# The per-device settings of docs/device-api.md where a device differs from the defaults
# (MD5 Digest, session login version 2, sessions living 120 s): one of each kind.
SESSION_TIMEOUT_S = 2.0
EMULATION: dict[str, dict[str, object]] = {
    "nvr-lock": {"digest_algorithm": "SHA-256"},
    "ipc": {"session_id_version": "2.1"},
    "ipc-beat": {"session_timeout_s": SESSION_TIMEOUT_S},
}


@dataclass(frozen=True)
class EmulatedLab:
    """Addresses of the running fleet and the secrets the test made for it."""

    ready: dict[str, Any]
    mailbox: MaildirMailbox
    smtp_port: int
    labctl_password: str

    def device(self, name: str) -> dict[str, Any]:
        """The ready line's entry of device `name` (http, ssh_port, serial, ...)."""
        for device in self.ready["devices"]:
            if device["name"] == name:
                return dict(device)
        raise KeyError(name)

    def http(self, name: str) -> str:
        """Base URL of device `name`."""
        return str(self.device(name)["http"])

    @property
    def cloud_url(self) -> str:
        return str(self.ready["cloud"]["http"])

    @property
    def labctl(self) -> tuple[str, int, str]:
        controller = self.ready["lab_controller"]
        return str(controller.get("host", HOST)), int(controller["ssh_port"]), "lab"


@contextmanager
def fleet_with_sink(workdir: Path, devices: list[dict[str, Any]],
                    labctl_env: str) -> Iterator[tuple[dict[str, Any], SmtpSink, str]]:
    """A fleet of `devices` (entries without ports; ports, boot and latency 0), its cloud and
    lab controller (password a fresh secret passed in `labctl_env`), mailing into an SMTP
    sink: (ready line, sink, lab-controller password); both stopped afterwards."""
    sink = SmtpSink(workdir / "maildir", host=HOST).start()
    password = secrets.token_urlsafe(18)
    config = {
        "host": HOST,
        "state_dir": str(workdir / "state"),
        "mail_relay": {"host": HOST, "port": sink.port},
        "cloud": {"http_port": 0, "smtp_port": 0, "min_app_version": "3.5.4"},
        "lab_controller": {"ssh_port": 0, "username": "lab", "password_env": labctl_env},
        "defect_modules": [],
        "devices": [{"http_port": 0, "ssh_port": 0, "defects": [], "boot_seconds": 0,
                     "latency_ms": 0, **device} for device in devices],
    }
    config_path = workdir / "fleet.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    try:
        proc, ready = launch_fleet(config_path, workdir / "fleet.log", cwd=REPO,
                                   env={**os.environ, labctl_env: password},
                                   timeout=READY_TIMEOUT_S)
    except BaseException:
        sink.stop()
        raise
    try:
        yield ready, sink, password
    finally:
        stop_fleet(proc)
        sink.stop()


def start_emulated_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedLab]:
    """A fleet of `DEVICES`, its cloud and lab controller, mailing into an SMTP sink."""
    devices = [{"name": name, "model": model, "firmware": firmware, **EMULATION.get(name, {})}
               for name, (model, firmware) in DEVICES.items()]
    with fleet_with_sink(tmp_path_factory.mktemp("fleet"), devices,
                         "HIL_TEST_LABCTL") as (ready, sink, password):
        yield EmulatedLab(
            ready=ready, mailbox=sink.mailbox(), smtp_port=sink.port, labctl_password=password
        )
