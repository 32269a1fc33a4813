"""The release gate's verdict on one firmware, from the outcome records of its run.

Exit codes (what CI acts on):

- 0 `PASS`: every device with the firmware ran the gate profile and every test passed.
- 1 `DEFECT`: at least one product defect was found (a finding stands even when other
  devices could not give a verdict).
- 2 `NO_VERDICT`: infrastructure, a device or the harness prevented a verdict: a failure of
  another kind, a skipped or quarantined device, a device with no test at all, a run that
  pytest did not finish (interrupted, usage or internal error).
- 3 `NO_MATCH`: no device in the inventory has that firmware (and line).

A flaky infrastructure failure never becomes a pass: only records whose outcome is `passed`
count as passes, and anything else, including a skip, keeps the gate from passing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path

import yaml

from harness.catalogue import FirmwareFormatError, LineId, parse_firmware
from harness.inventory.model import AnyDevice, Inventory
from harness.run.records import OutcomeRecord


class Verdict(IntEnum):
    """The gate's answer, valued as the exit code of `hil gate`."""

    PASS = 0
    DEFECT = 1
    NO_VERDICT = 2
    NO_MATCH = 3


@dataclass
class DeviceVerdict:
    """One device's part of the gate."""

    device: str
    model: str
    firmware: str
    line: str
    passed: int = 0
    defects: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)  # no verdict: infra/device/harness/skip

    @property
    def verdict(self) -> Verdict:
        """DEFECT if any test found one, NO_VERDICT if any test was blocked or none ran."""
        if self.defects:
            return Verdict.DEFECT
        if self.blocked or self.passed == 0:
            return Verdict.NO_VERDICT
        return Verdict.PASS

    @property
    def reason(self) -> str:
        """One line on why the device is not a pass (empty when it is)."""
        if self.defects:
            return self.defects[0]
        if self.blocked:
            return self.blocked[0]
        if self.passed == 0:
            return "no gate test ran on this device"
        return ""


@dataclass
class GateResult:
    """The verdict of a whole gate run."""

    firmware: str
    line: str | None
    devices: list[DeviceVerdict]
    run_problem: str | None = None
    stray: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        """The worst device verdict; a run pytest did not finish is at best NO_VERDICT."""
        if not self.devices:
            return Verdict.NO_MATCH
        verdicts = {d.verdict for d in self.devices}
        if Verdict.DEFECT in verdicts:
            return Verdict.DEFECT
        if Verdict.NO_VERDICT in verdicts or self.run_problem or self.stray:
            return Verdict.NO_VERDICT
        return Verdict.PASS


class GateInputError(ValueError):
    """A malformed firmware version or unknown product line given to the gate."""


def parse_line(line: str | None) -> LineId | None:
    """`--line` as a product line id; `GateInputError` naming the known ones otherwise."""
    if line is None:
        return None
    try:
        return LineId(line)
    except ValueError:
        known = ", ".join(item.value for item in LineId)
        raise GateInputError(f"unknown product line {line!r} (known: {known})") from None


def select_by_firmware(
    inventory: Inventory, firmware: str, line: str | None = None
) -> list[AnyDevice]:
    """The inventory's devices at `firmware` (compared as versions: `V5.6` == `V5.6.0`,
    builds ignored) and, if given, of product line `line`."""
    try:
        wanted = parse_firmware(firmware)
    except FirmwareFormatError as exc:
        raise GateInputError(str(exc)) from None
    line_id = parse_line(line)
    return [
        device
        for device in inventory.devices
        if device.firmware_version == wanted and (line_id is None or device.line.id == line_id)
    ]


def _describe(record: OutcomeRecord) -> str:
    what = record.kind or record.outcome
    test = record.nodeid.rsplit("::", 1)[-1]
    return f"{what}: {test}: {record.reason}" if record.reason else f"{what}: {test}"


def judge(
    devices: Sequence[AnyDevice],
    records: Iterable[OutcomeRecord],
    *,
    firmware: str,
    line: str | None = None,
    pytest_exit: int = 0,
) -> GateResult:
    """The gate's verdict for `devices` from the outcome records of their run.

    `pytest_exit` is pytest's exit status: 2 (interrupted), 3 (internal error), 4 (usage
    error) and 5 (nothing collected) mean the run itself gave no verdict. Records of tests
    that ran on no gated device still count when they failed (the harness could not show
    the run was sound); skipped ones, such as a test whose capabilities no gated device
    has, do not.
    """
    verdicts = {
        d.name: DeviceVerdict(
            device=d.name, model=d.model, firmware=d.firmware, line=d.line.id.value
        )
        for d in devices
    }
    stray: list[str] = []
    for record in records:
        target = verdicts.get(record.device or "")
        if record.outcome == "passed":
            if target is not None:
                target.passed += 1
            continue
        text = _describe(record)
        if target is None:
            # A test that applies to none of the gated devices (pytest's "got empty
            # parameter set" skip) says nothing about them; a failure anywhere still counts.
            if record.outcome not in ("skipped", "xfailed"):
                stray.append(f"{record.device or 'no device'}: {text}")
        elif record.outcome in ("failed", "error") and record.kind == "product-defect":
            target.defects.append(text)
        else:
            target.blocked.append(text)
    problems = {
        2: "the run was interrupted",
        3: "pytest stopped with an internal error",
        4: "pytest refused its arguments (usage error)",
        5: "no test was collected",
    }
    run_problem = problems.get(pytest_exit)
    if run_problem is None and pytest_exit not in (0, 1):
        run_problem = f"pytest ended with exit status {pytest_exit}"
    return GateResult(
        firmware=firmware,
        line=line,
        devices=list(verdicts.values()),
        run_problem=run_problem,
        stray=stray,
    )


def write_subset_inventory(source: Path, names: Iterable[str], target: Path) -> Path:
    """Write `source` (devices.yaml) to `target` with only the devices called `names`, the
    mailbox, cloud, lab controller and leases unchanged: the gate's matrix is then exactly
    the matching devices, whatever selection options the suites offer."""
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    wanted = set(names)
    data["devices"] = [d for d in data["devices"] if d.get("name") in wanted]
    target.parent.mkdir(parents=True, exist_ok=True)
    header = f"# Subset of {source}: written by `hil run`/`hil gate`, not for editing.\n"
    target.write_text(header + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return target
