"""Waiting for a device to boot, and telling that it did (part of `IsapiClient`).

A device answers the reboot request before it goes down, so "it answers" proves nothing.
deviceInfo names no boot on real firmware (§10); `GET /ISAPI/System/status` does: its
`deviceUpTime` goes back at a reboot, and the boot instant (`currentDeviceTime` minus
`deviceUpTime`) moves.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from typing import Final

from harness.clients.isapi.documents import (
    DeviceStatus,
    as_bool,
    find_text,
    parse_device_status,
    parse_xml,
)
from harness.clients.isapi.errors import IsapiError
from harness.clients.isapi.transport import IsapiTransport
from harness.errors import DeviceError, InfrastructureError
from harness.waits import waiting

# Both the clock and the up time are read to the second: a boot instant that moved by
# less than this is the same boot.
BOOT_INSTANT_TOLERANCE_S: Final = 2.0


def rebooted_since(before: DeviceStatus, now: DeviceStatus) -> bool:
    """Whether `now` is of a later boot than `before`: the up time went back, or the boot
    instant moved by more than the clocks' resolution."""
    if before.up_time_s is not None and now.up_time_s is not None and (
        now.up_time_s < before.up_time_s
    ):
        return True
    if before.boot_instant is not None and now.boot_instant is not None:
        return abs(now.boot_instant - before.boot_instant) > BOOT_INSTANT_TOLERANCE_S
    return False


class RebootWaits(IsapiTransport):
    """The waits of `IsapiClient` that poll a booting device."""

    def device_status(self) -> DeviceStatus:
        """`GET /ISAPI/System/status` (login): the device's clock and up time."""
        return parse_device_status(self._call("GET", "/ISAPI/System/status").text)

    def boot_identity(self) -> DeviceStatus:
        """What identifies the current boot (login): take it before a reboot and give it to
        `wait_until_rebooted`."""
        return self.device_status()

    def wait_until_rebooted(
        self, before: DeviceStatus, timeout: float, *, interval: float = 0.2
    ) -> bool:
        """Wait until the device has rebooted since `before` and answers; its activation state.

        Waits for a later boot (`rebooted_since`), or for the device to come back inactive
        (after a full factory reset, which needs no login to tell). Needs the login used
        for `before`.
        """
        with waiting(f"{self.base_url} to reboot", timeout):
            return self._wait_until_rebooted(before, timeout, interval)

    # Not harness.waits.wait_until, here and in _wait_until_up: each try gets the time
    # left as its own timeout, the last answer goes into the error, and no try starts
    # within `interval` of the deadline.
    def _wait_until_rebooted(self, before: DeviceStatus, timeout: float, interval: float) -> bool:
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        went_down: list[bool] = []
        while True:
            try:
                if not self.wait_until_up(max(0.1, deadline - time.monotonic()),
                                          interval=interval, went_down=went_down):
                    return False
                # A device seen down after it accepted the reboot has rebooted, even when
                # it came back within the clocks' one-second resolution of its last boot.
                if went_down or rebooted_since(before, self.device_status()):
                    return True
                last = "the same boot as before (deviceUpTime did not go back)"
            except (DeviceError, InfrastructureError, IsapiError) as exc:
                last = str(exc)
            if time.monotonic() + interval > deadline:
                raise DeviceError(
                    f"{self.base_url} did not reboot within {timeout:.0f} s "
                    f"(waited for /ISAPI/System/status to show a new boot; last: {last})"
                )
            time.sleep(interval)

    def wait_until_up(self, timeout: float, *, interval: float = 0.2,
                      went_down: list[bool] | None = None) -> bool:
        """Poll `/SDK/activateStatus` until the device answers; returns its activation state.

        While a device boots it refuses connections or does not answer; that is expected and
        polled through (and noted in `went_down`, when given). Gives up after `timeout`
        seconds with a one-line `DeviceError`.
        """
        with waiting(f"{self.base_url} to answer (booting)", timeout):
            return self._wait_until_up(timeout, interval, went_down)

    def _wait_until_up(self, timeout: float, interval: float,
                       went_down: list[bool] | None) -> bool:
        deadline = time.monotonic() + timeout
        last = "no attempt"
        while True:
            remaining = deadline - time.monotonic()
            per_call = max(0.1, min(self.timeout, remaining))
            try:
                response = self._send("GET", "/SDK/activateStatus", auth=False, timeout=per_call)
                if response.is_success:
                    value = find_text(parse_xml(response.text), "Activated")
                    if value is not None:
                        return as_bool(value)
                last = f"answered {response.status_code}"
                if response.status_code >= 500 and went_down is not None:
                    went_down.append(True)  # up, but still booting its services
            except (DeviceError, InfrastructureError) as exc:
                last = str(exc)
                if went_down is not None:
                    went_down.append(True)
            except ET.ParseError:
                last = "answered something that is not XML"
            if time.monotonic() + interval > deadline:
                raise DeviceError(
                    f"{self.base_url} did not come up within {timeout:.0f} s "
                    f"(waited for /SDK/activateStatus; last: {last})"
                )
            time.sleep(interval)
