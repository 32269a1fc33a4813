"""`hil gate`: the release gate of one firmware, with a verdict a pipeline can act on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from harness.cli.common import (
    EXIT_ERROR,
    EXIT_NO_TESTS,
    PYTEST_USAGE,
    DeviceNameOption,
    DevicesOption,
    LineOption,
    OutputOption,
    WorkdirOption,
    check_keyword,
    console,
    default_devices,
    default_output,
    default_workdir,
    fail,
    inventory_or_fail,
    new_table,
)
from harness.inventory.model import AnyDevice, Inventory
from harness.report.merge import MergeError, merge_runs
from harness.run.gate import (
    GateInputError,
    GateResult,
    Verdict,
    judge,
    select_by_firmware,
)
from harness.run.profiles import GATE_PROFILE, Profile, ProfileError, get_profile
from harness.run.pytestrun import (
    RunPaths,
    device_matrix,
    finished_records,
    log_tail,
    preflight,
    pytest_command,
    run_with_progress,
    usage_error,
)
from harness.run.selection import SelectionError, check_names, parse_lines

VERDICT_TEXT = {
    Verdict.PASS: "[green]PASS[/]",
    Verdict.DEFECT: "[red]PRODUCT DEFECT[/]",
    Verdict.NO_VERDICT: "[yellow]NO VERDICT[/]",
    Verdict.NO_MATCH: "[yellow]NO MATCHING DEVICE[/]",
}


def verdict_table(result: GateResult) -> Table:
    """One row per gated device: passes, verdict and the first reason it is not a pass."""
    scope = f"{result.firmware}" + (f", line {result.line}" if result.line else "")
    table = new_table(
        f"Release gate of {scope}",
        *("device", "line", "model", "firmware", "passed", "verdict", "reason"),
    )
    for device in result.devices:
        table.add_row(
            device.device,
            device.line,
            device.model,
            device.firmware,
            str(device.passed),
            VERDICT_TEXT[device.verdict],
            device.reason,
        )
    return table


def _write_verdict(result: GateResult, paths: RunPaths) -> None:
    data = {
        "firmware": result.firmware,
        "line": result.line,
        "verdict": result.verdict.name,
        "exit_code": int(result.verdict),
        "run_problem": result.run_problem,
        "other_failures": result.stray,
        "devices": [
            {
                "device": d.device,
                "model": d.model,
                "firmware": d.firmware,
                "line": d.line,
                "passed": d.passed,
                "verdict": d.verdict.name,
                "defects": d.defects,
                "blocked": d.blocked,
            }
            for d in result.devices
        ],
    }
    (paths.output / "gate-verdict.json").write_text(json.dumps(data, indent=2) + "\n")


def gate(
    ctx: typer.Context,
    firmware: Annotated[
        str, typer.Option("--firmware", "-f", help="Firmware to gate, e.g. V4.21.000.")
    ],
    line: LineOption = None,
    device: DeviceNameOption = None,
    workers: Annotated[
        int | None, typer.Option("-n", "--workers", min=0, help="xdist workers.")
    ] = None,
    keyword: Annotated[
        str | None,
        typer.Option("-k", help="Narrow the gate profile with a pytest -k expression."),
    ] = None,
    devices: DevicesOption = None,
    output: OutputOption = None,
    workdir: WorkdirOption = None,
    merge: Annotated[
        list[Path] | None,
        typer.Option("--merge", help="Judge the runs of several runners (their output "
                     "folders, repeated) instead of running: one verdict for all."),
    ] = None,
) -> None:
    """Run the gate profile on every device with FIRMWARE (and LINE, and DEVICE names) and
    print the verdict. With --merge DIR (twice or more), judge the runs several runners of
    a shared lab made, merged into --output, without running anything.

    Writes Allure results, JUnit XML and gate-verdict.json into --output. Exit 0 when
    every test passed on every matching device, 1 when a product defect was found, 2 when
    infrastructure, a device or the harness prevented a verdict (failures of those kinds,
    skipped or quarantined devices, an interrupted run, bad input: an unknown line or
    device name, pytest refusing its arguments), 3 when no device has that firmware (and
    line and name). Arguments after `--` go to pytest unchanged.
    """
    # Bad input is "no verdict" (2) for a gate, before the inventory or a lab is touched.
    check_keyword(keyword, code=EXIT_ERROR)
    path = (devices or default_devices()).resolve()
    inventory = inventory_or_fail(path)
    try:
        profile = get_profile(GATE_PROFILE)
        check_names(inventory, device or [], str(path))
        lines = parse_lines(line or [])
        at_firmware = select_by_firmware(inventory, firmware)
    except (GateInputError, ProfileError, SelectionError) as exc:
        fail(str(exc))
    chosen = [d for d in at_firmware
              if (not lines or d.line.id in lines) and (not device or d.name in device)]
    scope_line = ", ".join(line or []) or None
    if not chosen:
        scope = f"firmware {firmware}" + (f" and line {scope_line}" if scope_line else "")
        scope += f" and name {', '.join(device)}" if device else ""
        print(f"no device with {scope} in {path}", flush=True)
        raise typer.Exit(int(Verdict.NO_MATCH))
    paths = RunPaths((output or default_output()).resolve())
    if merge:
        try:
            status = merge_runs(list(merge), paths.output).exit_status or 0
        except MergeError as exc:
            fail(str(exc))
        console.print(f"gating {firmware} on the runs of {', '.join(str(m) for m in merge)}",
                      soft_wrap=True)
    else:
        status = _run_gate(ctx, firmware, chosen, profile, keyword, workers, path, inventory,
                           paths, (workdir or default_workdir()).resolve())
    result = judge(
        chosen, finished_records(paths), firmware=firmware, line=scope_line, pytest_exit=status
    )
    _report_verdict(result, paths, firmware, status)


def _run_gate(ctx: typer.Context, firmware: str, chosen: list[AnyDevice], profile: Profile,
              keyword: str | None, workers: int | None, path: Path, inventory: Inventory,
              paths: RunPaths, folder: Path) -> int:
    """Run the gate profile on `chosen`; pytest's exit status."""
    selection = profile.pytest_args(keyword=keyword)
    narrow = [arg for d in chosen for arg in ("--lab-device", d.name)]
    if keyword is not None or ctx.args:
        # pytest's own options, or a narrowed selection: a refusal is one line (no verdict)
        # and a selection matching nothing is said before a lab starts.
        found = preflight([*selection, *narrow, *ctx.args], devices=path)
        if found.status != 0:
            what = ("nothing selected: no gate test matches "
                    f"-k {(keyword or '')[:80]!r} {' '.join(ctx.args)[:80]}".rstrip()
                    if found.status == EXIT_NO_TESTS
                    else f"pytest refused the run: {found.refusal or 'see pytest --help'}")
            fail(what)
    # A lab of this inventory already running (`hil lab up`) is reused, with its
    # credentials; otherwise the run's inventory is just the matching devices.
    devices_file, narrow = device_matrix(
        inventory, path, chosen, workdir=folder, subset=paths.output / "gate-devices.yaml"
    )
    command = pytest_command(
        selection,
        paths,
        devices=devices_file,
        workdir=folder,
        workers=min(profile.workers, len(chosen)) if workers is None else workers,
    ) + narrow + list(ctx.args)
    names = ", ".join(d.name for d in chosen)
    console.print(f"gating {firmware} on {names}", soft_wrap=True)
    return run_with_progress(command, paths, console, f"hil gate --firmware {firmware}")


def _report_verdict(result: GateResult, paths: RunPaths, firmware: str, status: int) -> None:
    _write_verdict(result, paths)
    console.print(verdict_table(result))
    # Every missing verdict, not just each device's first: a lab without a phone step
    # skips several tests per device, and the release manager needs the whole list.
    for device in result.devices:
        for text in device.blocked:
            console.print(f"[yellow]missing verdict:[/] {device.device}: {text}",
                          soft_wrap=True)
    for problem in ([result.run_problem] if result.run_problem else []) + result.stray:
        console.print(f"[yellow]no verdict:[/] {problem}", soft_wrap=True)
    refusal = usage_error(paths) if status == PYTEST_USAGE else None
    if refusal is not None:
        console.print(f"[yellow]no verdict:[/] {refusal}", soft_wrap=True)
    elif result.run_problem:
        for text in log_tail(paths):
            console.print(f"  {text}", soft_wrap=True, markup=False)
    console.print(
        f"GATE {result.verdict.name} for {firmware}: exit {int(result.verdict)} "
        f"(JUnit XML: {paths.junit}; Allure results: {paths.results})",
        soft_wrap=True,
    )
    raise typer.Exit(int(result.verdict))
