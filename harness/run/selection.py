"""Choosing devices of an inventory by exact name, product line and firmware.

What `hil run` and `hil gate` select with `--device`, `--line` and `--firmware`, and what
the suites' `--lab-device` option narrows the matrix to. Names are exact: `ipc-v5.6`
is no device, where `-k ipc-v5.6` would match `ipc-v5.6.0` and `ipc-v5.6.3` alike.
Firmware is compared as a version (`V5.6` is `V5.6.0`; builds are ignored).

A value the inventory does not hold is a mistake, told in one line naming the inventory
and what it does hold (`SelectionError`); values that each exist but have no device in
common select nothing, which is the caller's "nothing selected".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.catalogue import FirmwareFormatError, LineId, parse_firmware
from harness.inventory.model import AnyDevice, Inventory


class SelectionError(ValueError):
    """A selector value that is malformed or that no device of the inventory has."""


@dataclass(frozen=True)
class DeviceFilter:
    """Selectors of one command line: within one selector any value, across them all."""

    names: tuple[str, ...] = ()
    lines: tuple[str, ...] = ()
    firmware: tuple[str, ...] = ()

    @property
    def narrowed(self) -> bool:
        """True when any selector is given (no selector: every device)."""
        return bool(self.names or self.lines or self.firmware)

    def describe(self) -> str:
        """The selectors as they were typed, e.g. `--line nvr --firmware V4.21.000`."""
        parts = [f"--line {v}" for v in self.lines]
        parts += [f"--firmware {v}" for v in self.firmware]
        parts += [f"--device {v}" for v in self.names]
        return " ".join(parts)


def parse_lines(values: Sequence[str]) -> tuple[LineId, ...]:
    """Product line ids; `SelectionError` naming the known ones for anything else."""
    found: list[LineId] = []
    for value in values:
        try:
            found.append(LineId(value))
        except ValueError:
            known = ", ".join(item.value for item in LineId)
            raise SelectionError(f"unknown product line {value!r} (known: {known})") from None
    return tuple(found)


def _listing(values: Sequence[str], limit: int = 20) -> str:
    shown = ", ".join(values[:limit])
    return shown + (f", ... ({len(values)} in all)" if len(values) > limit else "")


def check_names(inventory: Inventory, names: Sequence[str], where: str) -> None:
    """`SelectionError` for the first names `inventory` has no device of, naming them all."""
    known = [d.name for d in inventory.devices]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SelectionError(
            f"no device {', '.join(map(repr, unknown))} in {where} "
            f"(devices: {_listing(known)})"
        )


def filter_devices(inventory: Inventory, wanted: DeviceFilter, where: str) -> list[AnyDevice]:
    """The devices of `inventory` (read from `where`) that `wanted` selects, in inventory
    order; `SelectionError` when a value is malformed or held by no device."""
    check_names(inventory, wanted.names, where)
    lines = parse_lines(wanted.lines)
    present_lines = sorted({d.line.id.value for d in inventory.devices})
    missing_lines = [line.value for line in lines if line.value not in present_lines]
    if missing_lines:
        raise SelectionError(
            f"no device of product line {', '.join(missing_lines)} in {where} "
            f"(lines there: {', '.join(present_lines)})"
        )
    try:
        versions = [parse_firmware(text) for text in wanted.firmware]
    except FirmwareFormatError as exc:
        raise SelectionError(str(exc)) from None
    present = {d.firmware_version for d in inventory.devices}
    missing = [text for text, v in zip(wanted.firmware, versions, strict=True) if v not in present]
    if missing:
        there = [v.version for v in sorted(present)]
        raise SelectionError(
            f"no device with firmware {', '.join(missing)} in {where} "
            f"(firmware there: {_listing(there)})"
        )
    return [
        device
        for device in inventory.devices
        if (not wanted.names or device.name in wanted.names)
        and (not lines or device.line.id in lines)
        and (not versions or device.firmware_version in versions)
    ]
