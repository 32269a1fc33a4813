"""lab.json: where a running emulated lab answers (devices, cloud, lab controller,
mail), written by the lab host (harness/lab/host.py) and read by everything
that needs an address. Knows nothing of how the lab was started."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

from harness.lab.processes import alive

LAB_JSON: Final = "lab.json"
SECRETS_FILE: Final = "secrets.json"


@dataclass(frozen=True)
class DeviceEndpoint:
    """Where one emulated device answers, and what it says it is."""

    name: str
    http: str
    http_port: int
    ssh_port: int
    model: str
    firmware: str
    serial: str
    device_type: str
    generation: str


@dataclass(frozen=True)
class LabEndpoints:
    """Everything lab.json says: addresses of the devices, cloud, lab controller and mail."""

    inventory_digest: str
    host_pid: int
    fleet_pid: int
    smtp_host: str
    smtp_port: int
    maildir: str
    cloud_http: str | None
    cloud_smtp_host: str | None
    cloud_smtp_port: int | None
    recovery_address: str | None
    lab_controller_host: str | None
    lab_controller_ssh_port: int | None
    lab_controller_username: str | None
    secrets_file: str
    devices: tuple[DeviceEndpoint, ...]
    # The emulated cloud's submission server (AUTH + STARTTLS), when the inventory's
    # cloud is `export` without an smtp section; its password is in the secrets file.
    cloud_smtp_user: str | None = None
    cloud_smtp_ca_file: str | None = None

    def device(self, name: str) -> DeviceEndpoint:
        """The endpoint of device `name`."""
        for device in self.devices:
            if device.name == name:
                return device
        raise KeyError(f"no device {name!r} in the running lab")

    def lab_controller_password(self) -> str:
        """The generated lab controller password, read from the 0600 secrets file."""
        data = json.loads(Path(self.secrets_file).read_text())
        return str(data["lab_controller_password"])

    def cloud_smtp_password(self) -> str:
        """The generated password of the emulated cloud's submission server."""
        data = json.loads(Path(self.secrets_file).read_text())
        return str(data["cloud_smtp_password"])

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LabEndpoints:
        data = json.loads(text)
        data["devices"] = tuple(DeviceEndpoint(**d) for d in data["devices"])
        return cls(**data)


def lab_status(workdir: Path | str) -> LabEndpoints | None:
    """The running lab in `workdir`, or None when none is up (or its processes died)."""
    path = Path(workdir) / LAB_JSON
    try:
        endpoints = LabEndpoints.from_json(path.read_text())
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if alive(endpoints.host_pid) and alive(endpoints.fleet_pid):
        return endpoints
    return None
