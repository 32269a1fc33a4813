"""The matrix view of a run: each product line at each firmware → verdict, for a release manager.

Each cell is judged by the release gate's own rules (`harness.run.gate.judge`) over the outcome
records of the cell's devices (`harness.run.records`): PASS when every test of every device
passed, DEFECT when a product defect was found, NO_VERDICT when infrastructure, a device or
the harness kept a test from giving one (or no test ran, or pytest did not finish). The
same data goes to `summary.json` for dashboards and to one self-contained HTML page beside
the Allure report, whose failing tests link into that report.
"""

from __future__ import annotations

import hashlib
import html
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from harness.catalogue import FirmwareFormatError, LineId, parse_firmware
from harness.inventory.model import AnyDevice
from harness.report.runinfo import RunInfo
from harness.run.gate import DeviceVerdict, Verdict, judge
from harness.run.records import OutcomeRecord

SUMMARY_FILE: Final = "summary.json"
MATRIX_FILE: Final = "matrix.html"
VERDICT_TEXT: Final = {
    Verdict.PASS: "pass",
    Verdict.DEFECT: "product defect",
    Verdict.NO_VERDICT: "no verdict",
}


@dataclass(frozen=True)
class FailingTest:
    """A test of a cell that did not pass, with where to read it in the report."""

    test: str
    device: str
    outcome: str
    kind: str | None
    reason: str
    link: str | None


@dataclass
class Cell:
    """One product line at one firmware: its verdict, counts, devices and failing tests."""

    line: str
    firmware: str
    verdict: Verdict
    devices: list[DeviceVerdict]
    failing: list[FailingTest] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(d.passed for d in self.devices)

    @property
    def defects(self) -> int:
        return sum(len(d.defects) for d in self.devices)

    @property
    def no_verdict(self) -> int:
        return sum(len(d.blocked) for d in self.devices)


@dataclass
class Matrix:
    """The verdicts of a run per product line and firmware."""

    info: RunInfo
    cells: list[Cell]
    run_problem: str | None
    other_failures: list[str]

    @property
    def lines(self) -> list[str]:
        return list(dict.fromkeys(cell.line for cell in self.cells))

    @property
    def totals(self) -> dict[str, int]:
        counts = {verdict.name: 0 for verdict in VERDICT_TEXT}
        for cell in self.cells:
            counts[cell.verdict.name] += 1
        return counts


def _line_rank(line: str) -> int:
    order = [item.value for item in LineId]
    return order.index(line) if line in order else len(order)


def _firmware_rank(text: str) -> tuple[int, ...]:
    try:
        return parse_firmware(text).numbers
    except FirmwareFormatError:
        return ()


def result_links(results: Path, report_page: str) -> dict[tuple[str, str], str]:
    """(allure full name, test name) → the test's page in the report, `report_page#id`,
    for every result in `results` (Allure 3 names a result by the md5 of its uuid)."""
    links: dict[tuple[str, str], str] = {}
    for path in sorted(Path(results).glob("*-result.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            key = (str(data["fullName"]), str(data["name"]))
            uuid = str(data["uuid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        links[key] = f"{report_page}#{hashlib.md5(uuid.encode()).hexdigest()}"
    return links


def allure_key(nodeid: str) -> tuple[str, str]:
    """(full name, name) allure-pytest gives the test of `nodeid`."""
    path, *classes, function = nodeid.split("::")
    package = ".".join(part for part in path.removesuffix(".py").split("/") if part)
    owner = "".join(f".{name}" for name in classes)
    return f"{package}{owner}#{function.split('[', 1)[0]}", function


def build_matrix(
    info: RunInfo,
    records: Iterable[OutcomeRecord],
    *,
    links: Mapping[tuple[str, str], str] | None = None,
) -> Matrix:
    """The matrix of the run `info` describes, from its outcome records: one cell per
    product line and firmware of its devices, judged by `harness.run.gate.judge`."""
    devices = info.device_entries()
    all_records = list(records)
    # A run that did not say how it ended is taken as one that did not finish.
    exit_status = info.exit_status if info.exit_status is not None else 2
    whole = judge(devices, all_records, firmware="", pytest_exit=exit_status)
    by_cell: dict[tuple[str, str], list[AnyDevice]] = {}
    for device in devices:
        by_cell.setdefault((device.line.id.value, device.firmware), []).append(device)
    cells = []
    for (line, firmware), members in sorted(
            by_cell.items(), key=lambda kv: (_line_rank(kv[0][0]), _firmware_rank(kv[0][1]))):
        names = {d.name for d in members}
        mine = [r for r in all_records if r.device in names]
        result = judge(members, mine, firmware=firmware, line=line, pytest_exit=exit_status)
        failing = [_failing(r, links or {}) for r in mine if not r.passed]
        cells.append(Cell(line, firmware, result.verdict, result.devices, failing))
    # A failed test on no device of the run (the gate's "stray" records) keeps the run from
    # being shown sound, but belongs to no cell.
    return Matrix(info, cells, whole.run_problem, whole.stray)


def _failing(record: OutcomeRecord, links: Mapping[tuple[str, str], str]) -> FailingTest:
    return FailingTest(
        test=record.nodeid,
        device=record.device or "",
        outcome=record.outcome,
        kind=record.kind,
        reason=record.reason,
        link=links.get(allure_key(record.nodeid)),
    )


# --- summary.json ----------------------------------------------------------------------------


def summary(matrix: Matrix, *, quality_gate: Mapping[str, Any] | None = None,
            report: str | None = None) -> dict[str, Any]:
    """The matrix as one JSON document for dashboards."""
    info = matrix.info
    return {
        "run_id": info.run_id,
        "profile": info.profile,
        "trend": info.trend,
        "inventory": info.inventory,
        "inventory_digest": info.inventory_digest,
        "firmware_under_test": info.firmware_under_test,
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "report": report,
        "run_problem": matrix.run_problem,
        "other_failures": matrix.other_failures,
        "quality_gate": dict(quality_gate) if quality_gate is not None else None,
        "totals": matrix.totals,
        "cells": [
            {
                "line": cell.line,
                "firmware": cell.firmware,
                "verdict": cell.verdict.name,
                "passed": cell.passed,
                "defects": cell.defects,
                "no_verdict": cell.no_verdict,
                "devices": [
                    {
                        "device": d.device,
                        "model": d.model,
                        "verdict": d.verdict.name,
                        "passed": d.passed,
                        "reason": d.reason,
                    }
                    for d in cell.devices
                ],
                "failing": [
                    {"test": f.test, "device": f.device, "outcome": f.outcome,
                     "kind": f.kind, "reason": f.reason, "link": f.link}
                    for f in cell.failing
                ],
            }
            for cell in matrix.cells
        ],
    }


def write_summary(data: Mapping[str, Any], folder: Path) -> Path:
    """`summary.json` in `folder`."""
    path = Path(folder) / SUMMARY_FILE
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


# --- matrix.html -----------------------------------------------------------------------------

_STYLE: Final = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #1d2430; }
h1 { font-size: 20px; margin: 0 0 4px; }
.meta { color: #5b6472; margin: 0 0 16px; }
.meta a { color: #2456c2; }
table.matrix { border-collapse: collapse; margin: 8px 0 20px; table-layout: fixed;
               width: 100%; }
.matrix th:first-child { width: 110px; }
.matrix th, .matrix td { border: 1px solid #d5dae1; padding: 8px 10px; vertical-align: top; }
.matrix th { background: #f3f5f8; text-align: left; }
.matrix td.empty { background: #fafbfc; }
.verdict { font-weight: 600; display: inline-block; padding: 1px 8px; border-radius: 10px; }
.PASS .verdict { background: #d6f5dd; color: #146c2e; }
.DEFECT .verdict { background: #fbd9d9; color: #a11b1b; }
.NO_VERDICT .verdict { background: #fdf0c9; color: #7a5a00; }
.counts { color: #3b4350; margin-top: 4px; }
.devices { color: #5b6472; font-size: 12px; margin-top: 2px; }
ul.failing { margin: 6px 0 0; padding-left: 16px; font-size: 12px; }
ul.failing a { color: #2456c2; }
.legend span { margin-right: 14px; }
.problem { background: #fdf0c9; padding: 8px 12px; border-radius: 6px; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _cell_html(cell: Cell) -> str:
    counts = (f"{cell.passed} passed · {cell.defects} defect"
              f"{'s' if cell.defects != 1 else ''} · {cell.no_verdict} no verdict")
    devices = ", ".join(f"{d.device} ({d.model})" for d in cell.devices)
    items = []
    for test in cell.failing:
        name = test.test.rsplit("::", 1)[-1].split("[", 1)[0]
        label = f"{name} on {test.device}: {test.kind or test.outcome}"
        title = _e(f"{test.test}\n{test.reason}")
        target = (f'<a href="{_e(test.link)}" title="{title}">{_e(label)}</a>'
                  if test.link else f'<span title="{title}">{_e(label)}</span>')
        items.append(f"<li>{target}</li>")
    failing = f'<ul class="failing">{"".join(items)}</ul>' if items else ""
    return (f'<td class="cell {cell.verdict.name}" data-line="{_e(cell.line)}" '
            f'data-firmware="{_e(cell.firmware)}">'
            f'<div class="firmware"><b>{_e(cell.firmware)}</b></div>'
            f'<span class="verdict">{_e(VERDICT_TEXT[cell.verdict])}</span>'
            f'<div class="counts">{_e(counts)}</div>'
            f'<div class="devices">{_e(devices)}</div>{failing}</td>')


def render_html(data_matrix: Matrix, *, report: str | None = None,
                quality_gate: Mapping[str, Any] | None = None) -> str:
    """The matrix as one self-contained page: a row per product line, its firmware from
    the oldest, each cell's verdict, counts, devices and failing tests (linked into the
    report). Nothing is fetched from anywhere."""
    info = data_matrix.info
    widest = max((sum(c.line == line for c in data_matrix.cells)
                  for line in data_matrix.lines), default=0)
    rows = []
    for line in data_matrix.lines:
        cells = [_cell_html(c) for c in data_matrix.cells if c.line == line]
        cells += ['<td class="empty"></td>'] * (widest - len(cells))
        rows.append(f"<tr><th>{_e(line)}</th>{''.join(cells)}</tr>")
    totals = data_matrix.totals
    legend = " ".join(
        f'<span class="{name}"><span class="verdict">{_e(VERDICT_TEXT[Verdict[name]])}</span> '
        f"{count}</span>" for name, count in totals.items())
    notes = []
    if data_matrix.run_problem:
        notes.append(f"the run gave no verdict: {data_matrix.run_problem}")
    notes += [f"a test on no device of the run failed: {text}"
              for text in data_matrix.other_failures[:5]]
    gate_text = _quality_gate_text(quality_gate)
    report_link = f' · <a href="{_e(report)}">Allure report</a>' if report else ""
    problems = "".join(f'<p class="problem">{_e(n)}</p>' for n in notes)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Verdict matrix · {_e(info.profile or info.trend)} · {_e(info.run_id)}</title>
<style>{_STYLE}</style></head>
<body>
<h1>Verdict per product line and firmware</h1>
<p class="meta">run {_e(info.run_id or "-")} · profile {_e(info.profile or "-")} · trend
{_e(info.trend)}{_e(f" ({info.narrowed})" if info.narrowed else "")} · inventory
{_e(info.inventory or "-")}{report_link}</p>
<p class="meta">Judged by the release gate's rules: <b>pass</b> when every test of every
device passed, <b>product defect</b> when the firmware did the wrong thing, <b>no verdict</b>
when the lab, a device or the harness kept a test from telling (or none ran).
{_e(gate_text)}</p>
{problems}
<p class="legend">{legend}</p>
<table class="matrix"><thead><tr><th>product line</th>
<th colspan="{max(widest, 1)}">firmware (oldest first)</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
</body></html>
"""


def _quality_gate_text(quality_gate: Mapping[str, Any] | None) -> str:
    if quality_gate is None:
        return ""
    if quality_gate.get("passed"):
        return "Allure quality gate: passed."
    failures: Sequence[str] = quality_gate.get("failures") or ()
    return "Allure quality gate: failed (" + "; ".join(failures) + ")."


def write_html(text: str, folder: Path) -> Path:
    """`matrix.html` in `folder`."""
    path = Path(folder) / MATRIX_FILE
    path.write_text(text, encoding="utf-8")
    return path
