"""What a run was, for its reports: profile and trend, inventory and devices, exit status.

The pytest session writes it at its end (`fixtures.reporting`) as `hil-run.json` in the
alluredir, where `hil report` finds it beside the results: the trend the run belongs to
(its history file), the devices of its matrix (the matrix view's rows, judged by the
release gate's rules) and whether pytest finished. Allure ignores the file.

Trends are kept per profile: a run of `hil run --profile nightly` lands in the nightly
trend, `hil gate` in the gate's. A run narrowed to some tests (a `-k` beyond the profile's,
other markers, other test paths) or run by pytest directly lands in the `dev` trend, so
a developer's `-k reset` never shows in the nightly trend as a night where most tests
vanished. Choosing devices (an inventory of some devices, `--lab-device`) keeps the
profile's trend: Allure's history is per test and device, and the gate runs only the
devices of its firmware by design.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from pydantic import TypeAdapter, ValidationError

from harness.inventory.model import AnyDevice, Device
from harness.run.profiles import PROJECT_ROOT, Profile

RUN_INFO_FILE: Final = "hil-run.json"
DEV_TREND: Final = "dev"
_DEVICE: Final = TypeAdapter(Device)


@dataclass(frozen=True)
class RunInfo:
    """One run, as its reports need it."""

    run_id: str
    profile: str | None
    trend: str
    narrowed: str = ""
    inventory: str = ""
    inventory_digest: str = ""
    devices: tuple[dict[str, Any], ...] = field(default=())
    exit_status: int | None = None

    @property
    def firmware_under_test(self) -> list[str]:
        """The firmware of the run's devices, each once, in inventory order."""
        return list(dict.fromkeys(str(d.get("firmware", "")) for d in self.devices))

    def device_entries(self) -> list[AnyDevice]:
        """The run's devices as inventory entries (what the gate's `judge` takes)."""
        entries = []
        for data in self.devices:
            try:
                entries.append(_DEVICE.validate_python(data))
            except ValidationError:
                continue  # written by another version of the harness: not ours to guess
        return entries

    def write(self, folder: Path) -> Path:
        """Write the record as `hil-run.json` in `folder`, whole or not at all."""
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / RUN_INFO_FILE
        partial = folder / f".{RUN_INFO_FILE}.{os.getpid()}.tmp"
        partial.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        partial.replace(target)
        return target


def read_run_info(folder: Path) -> RunInfo | None:
    """The run record in `folder` (an alluredir), or None when there is none to read."""
    try:
        data = json.loads((Path(folder) / RUN_INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    known = RunInfo.__dataclass_fields__
    values = {k: v for k, v in data.items() if k in known}
    values["devices"] = tuple(d for d in values.get("devices", ()) if isinstance(d, dict))
    try:
        return RunInfo(**values)
    except TypeError:
        return None


def device_entry(device: AnyDevice) -> dict[str, Any]:
    """An inventory entry as the run record keeps it (names of variables, never values)."""
    return device.model_dump(mode="json", exclude_defaults=True)


def trend_of(
    profile: Profile | None,
    *,
    keyword: str,
    markers: str,
    paths: Iterable[str],
    invoked_from: Path,
    root: Path = PROJECT_ROOT,
) -> tuple[str, str]:
    """(trend, why it is a dev run) of a run of `profile` with pytest's `-k`, `-m` and
    test paths: the profile's name when the run selected the profile's tests, `dev` with
    the reason otherwise."""
    if profile is None:
        return DEV_TREND, "not run through a profile (hil run, hil gate)"
    own_keyword = f"({profile.keyword})" if profile.keyword else ""
    if keyword != own_keyword:
        return DEV_TREND, f"narrowed by -k {keyword!r}"
    if markers != (profile.markers or ""):
        return DEV_TREND, f"markers {markers!r} instead of the profile's"
    wanted = {(root / suite).resolve() for suite in profile.suites}
    given = {(invoked_from / path).resolve() for path in paths}
    if given != wanted:
        extra = sorted(str(p) for p in given - wanted)
        return DEV_TREND, f"test paths other than the profile's ({', '.join(extra[:3])})"
    return profile.name, ""


def history_file(folder: Path, trend: str) -> Path:
    """The history file of `trend` in `folder` (one JSON line per run)."""
    return folder / f"{_safe(trend)}.jsonl"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name) or DEV_TREND

