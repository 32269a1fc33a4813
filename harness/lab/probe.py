"""`hil devices probe`: what each device says it is, beside what devices.yaml claims.

`/SDK/activateStatus` needs no login. `/ISAPI/System/deviceInfo` (model, firmware, serial,
type) does: the probe logs in once with the password the harness knows (the lab workdir's
credential store, or a real device's `password_env`) and never retries, since devices lock
a client out after a few wrong passwords. Without a known password it reports what it can
read without login and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.catalogue import FirmwareFormatError, parse_firmware
from harness.clients.isapi import DeviceInfo, IsapiClient, LoginRejected
from harness.errors import failure_kind
from harness.inventory.fields import MissingSecret
from harness.inventory.model import AnyDevice, EmulatedDevice, Inventory
from harness.lab.endpoints import LabEndpoints
from harness.lab.session import LabSession

PROBE_TIMEOUT = 5.0


@dataclass
class ProbeResult:
    """One device: the claims, what it answered, and every disagreement."""

    device: AnyDevice
    address: str | None
    reachable: bool = False
    activated: bool | None = None
    info: DeviceInfo | None = None
    note: str = ""
    mismatches: list[str] = field(default_factory=list)
    # devices.yaml names a password variable that is not set: bad input, not a device fault.
    missing_secret: bool = False

    @property
    def status(self) -> str:
        """`unreachable`, `no password`, `mismatch`, `partial` (no login) or `ok`."""
        if not self.reachable:
            return "unreachable"
        if self.missing_secret:
            return "no password"
        if self.mismatches:
            return "mismatch"
        if self.info is None:
            return "partial"
        return "ok"


def _same_firmware(claimed: str, answered: str) -> bool:
    try:
        return parse_firmware(claimed) == parse_firmware(answered)
    except FirmwareFormatError:
        return claimed.strip() == answered.strip()


def compare(device: AnyDevice, info: DeviceInfo) -> list[str]:
    """Every field where the device's deviceInfo disagrees with devices.yaml."""
    found: list[str] = []
    if info.model != device.model:
        found.append(f"model: devices.yaml says {device.model}, device says {info.model}")
    answered = f"{info.firmware_version} {info.firmware_released_date}".strip()
    if not _same_firmware(device.firmware, info.firmware_version):
        found.append(f"firmware: devices.yaml says {device.firmware}, device says {answered}")
    if info.device_type and info.device_type != device.line.device_type:
        found.append(
            f"deviceType: {device.line.title} expects {device.line.device_type}, "
            f"device says {info.device_type}"
        )
    return found


def probe_device(lab: LabSession, device: AnyDevice) -> ProbeResult:
    """Probe one device: activation without login, then deviceInfo with the known password."""
    try:
        dut = lab.device(device.name)
    except Exception as exc:  # the lab is not running, or the device is not in it
        hint = " (start it: hil lab up)" if isinstance(device, EmulatedDevice) else ""
        return ProbeResult(device, None, note=f"{exc}{hint}")
    result = ProbeResult(device, dut.base_url)
    client = IsapiClient(
        dut.base_url, verify=dut.verify, timeout=PROBE_TIMEOUT, secrets=dut.secrets
    )
    with client:
        try:
            result.activated = client.activated()
        except Exception as exc:  # classified, shown in one line
            result.note = f"{failure_kind(exc)}: {exc}"
            return result
        result.reachable = True
        if not result.activated:
            result.note = "not activated: deviceInfo needs a login; activation status only"
            return result
        try:
            password = dut.known().password
        except MissingSecret as exc:
            result.note = f"no login ({exc}); activation status only"
            result.missing_secret = True
            return result
        if password is None:
            result.note = "the harness knows no password for it; activation status only"
            return result
        try:
            result.info = client.login_digest(password)
        except LoginRejected as exc:
            result.note = f"the known password was refused ({exc}); activation status only"
            return result
        except Exception as exc:  # classified, shown in one line
            result.note = f"deviceInfo failed: {failure_kind(exc)}: {exc}"
            return result
    result.mismatches = compare(device, result.info)
    return result


def probe_lab(
    inventory: Inventory, workdir: Path, endpoints: LabEndpoints | None, names: list[str]
) -> list[ProbeResult]:
    """Probe the named devices (all when `names` is empty), in inventory order."""
    lab = LabSession(inventory=inventory, workdir=workdir, endpoints=endpoints)
    chosen = [d for d in inventory.devices if not names or d.name in names]
    return [probe_device(lab, device) for device in chosen]
