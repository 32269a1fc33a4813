"""What the cloud, the device shell and the lab controller need from devices and the fleet.

`emulator.device.Device` and `emulator.fleet.Fleet` implement these; `cloud.py`, `psh.py`
and `labctl.py` depend only on these protocols, so each side can be built and read alone.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class PowerState(StrEnum):
    ON = "on"
    OFF = "off"
    BOOTING = "booting"


class DeviceHandle(Protocol):
    name: str
    serial: str
    model: str
    firmware: str
    cloud_key: bytes

    @property
    def power_state(self) -> PowerState: ...

    def hard_info(self) -> dict[str, str]:
        """model, serial, firmware, build, mac, boot_time (ISO), boot_id: for `prtHardInfo`."""
        ...

    def check_admin_password(self, password: str, client_address: str) -> bool:
        """True when `password` is admin's; a wrong one counts towards the illegal-login lock."""
        ...

    def ssh_enabled(self) -> bool: ...

    async def reboot(self) -> None:
        """Reboot: refuse connections for the boot time, then come back with a new boot id."""
        ...

    async def power_off(self) -> None: ...

    async def power_on(self) -> None: ...

    async def press_reset_button(self) -> None:
        """Hold the reset button through a boot: full factory reset (inactive, no e-mail)."""
        ...

    def counters(self) -> dict[str, int]:
        """Device work done since the fleet started: boots, reboots, factory_resets, ..."""
        ...


class FleetHandle(Protocol):
    def devices(self) -> list[DeviceHandle]: ...

    def device(self, name: str) -> DeviceHandle | None: ...

    def by_serial(self, serial: str) -> DeviceHandle | None: ...
