"""Selection by capability: a test declares what it needs (`needs(line=...,
reset_by_email=True)`) and the inventory answers, never by identity."""

from __future__ import annotations

from typing import Final

from harness.errors import HarnessError
from harness.inventory.model import (
    AnyDevice,
    Inventory,
)

CAPABILITIES: Final = ("reset_by_email", "generation", "line", "recorder", "kind")


def _as_set(value: object) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, list | tuple | set | frozenset):
        return {str(v) for v in value}
    return {str(value)}


def satisfies_needs(entry: AnyDevice, needs: dict[str, object]) -> bool:
    """Whether `entry` has every capability in `needs` (see `CAPABILITIES`).

    `reset_by_email` (bool): QA expects "Verify by Reserved Email" at its firmware;
    `generation` / `line` (one value or several): GUI generation, product line id;
    `recorder` (bool): DVR/NVR rather than camera; `kind`: `emulated` or `real`.
    """
    unknown = set(needs) - set(CAPABILITIES)
    if unknown:
        raise HarnessError(
            f"unknown capability {', '.join(sorted(unknown))} in needs(); "
            f"known: {', '.join(CAPABILITIES)}"
        )
    checks: dict[str, object] = {
        "reset_by_email": entry.supports_reserved_email_reset,
        "generation": entry.gui_generation.value,
        "line": entry.line.id.value,
        "recorder": entry.line.is_recorder,
        "kind": entry.kind,
    }
    for key, wanted in needs.items():
        have = checks[key]
        if isinstance(have, bool):
            if have != bool(wanted):
                return False
        elif str(have) not in _as_set(wanted):
            return False
    return True


def select_by_needs(inventory: Inventory, needs: dict[str, object]) -> list[AnyDevice]:
    """The inventory's devices that satisfy `needs`, in inventory order."""
    return [d for d in inventory.devices if satisfies_needs(d, needs)]
