"""`hil run`: the suites of a profile, with live progress and a summary per line/firmware."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, NoReturn

import typer

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
    device_filter,
    fail,
    inventory_or_fail,
    selected_or_fail,
)
from harness.inventory.model import AnyDevice
from harness.lab.dut import device_id
from harness.run.profiles import ProfileError, get_profile, load_profiles
from harness.run.pytestrun import (
    RunPaths,
    device_matrix,
    finished_records,
    log_tail,
    preflight,
    pytest_command,
    run_with_progress,
    summary_table,
    usage_error,
)


def _complete_profiles(incomplete: str) -> list[str]:
    try:
        return [name for name in load_profiles() if name.startswith(incomplete)]
    except ProfileError:
        return []


ProfileOption = Annotated[
    str,
    typer.Option(
        "--profile",
        "-p",
        help="Run profile from profiles.yaml: regression, nightly, gate, rehearsal.",
        autocompletion=_complete_profiles,
    ),
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        "-n", "--workers", min=0, help="xdist workers (0: no xdist); the profile's default."
    ),
]
KeywordOption = Annotated[
    str | None, typer.Option("-k", help="pytest -k expression, and-ed with the profile's.")
]
FirmwareOption = Annotated[
    list[str] | None,
    typer.Option(
        "--firmware",
        "-f",
        help="Only devices with this firmware, compared as a version: V5.6 is V5.6.0 "
        "(repeatable).",
        show_default=False,
    ),
]
CollectOnlyOption = Annotated[
    bool,
    typer.Option(
        "--collect-only",
        help="List the tests the selection would run, one per line, and exit; "
        "no lab starts.",
    ),
]


def _list_tests(
    tests: tuple[str, ...], devices: list[AnyDevice], profile: str, inventory: Path
) -> NoReturn:
    """`--collect-only`: the tests that would run on `devices`, then one line of what
    they are (tests no such device can run are collected as skipped: counted apart)."""
    ids = [re.escape(device_id(d)) for d in devices]
    on_device = re.compile(rf"[\[-](?:{'|'.join(ids)})[-\]]")
    runnable = [t for t in tests if on_device.search(t)]
    for test in runnable:
        print(test)
    skipped = len(tests) - len(runnable)
    print(f"{len(runnable)} tests of profile {profile} on {inventory}"
          + (f" ({skipped} more apply to no selected device)" if skipped else ""), flush=True)
    raise typer.Exit(0)


def run(
    ctx: typer.Context,
    profile: ProfileOption = "regression",
    workers: WorkersOption = None,
    devices: DevicesOption = None,
    line: LineOption = None,
    firmware: FirmwareOption = None,
    device: DeviceNameOption = None,
    keyword: KeywordOption = None,
    collect_only: CollectOnlyOption = False,
    output: OutputOption = None,
    workdir: WorkdirOption = None,
) -> None:
    """Run the suites of a profile over the inventory (pytest in a subprocess, in parallel),
    writing Allure results, JUnit XML and outcome records into --output.

    `--line`, `--firmware` and `--device` choose devices (any value of one option, all
    options together; a value the inventory lacks is refused). Ends with outcomes per
    product line and firmware: passed, failed by kind (product-defect, infrastructure,
    device, harness), skipped with reason. Arguments after `--` go to pytest unchanged
    (e.g. `-- --headed --mail-timeout 600`). Exit status: 0 all passed, 1 some failed,
    2 bad input (ours or pytest's) or the run was interrupted, 3 pytest's internal
    error, 5 nothing selected.
    """
    try:
        chosen_profile = get_profile(profile)
    except ProfileError as exc:
        fail(str(exc))
    check_keyword(keyword)
    path = (devices or default_devices()).resolve()
    inventory = inventory_or_fail(path)
    wanted = device_filter(line, firmware, device)
    selection = chosen_profile.pytest_args(keyword=keyword)
    folder = (workdir or default_workdir()).resolve()
    paths = RunPaths((output or default_output()).resolve())
    chosen = selected_or_fail(inventory, wanted, path) if wanted.narrowed else []
    narrow = [arg for d in chosen for arg in ("--lab-device", d.name)]
    if keyword is not None or ctx.args or collect_only:
        # A narrowed selection or pytest's own options: checked by collecting only, so a
        # typo is one line and no lab starts for nothing.
        found = preflight([*selection, *narrow, *ctx.args], devices=path)
        if found.status == EXIT_NO_TESTS:
            told = " ".join(filter(None, (
                wanted.describe(), f"-k {keyword[:80]!r}" if keyword else "",
                " ".join(ctx.args)[:80])))
            fail(f"nothing selected: no test of profile {chosen_profile.name} matches "
                 f"{told}", code=EXIT_NO_TESTS)
        if found.status != 0:
            fail(f"pytest refused the run: {found.refusal or 'see pytest --help'}")
        if collect_only:
            _list_tests(found.tests, chosen or list(inventory.devices), chosen_profile.name,
                        path)
    devices_file = path
    if chosen:
        devices_file, narrow = device_matrix(
            inventory, path, chosen, workdir=folder, subset=paths.output / "run-devices.yaml"
        )
    command = pytest_command(
        selection,
        paths,
        devices=devices_file,
        workdir=folder,
        workers=chosen_profile.workers if workers is None else workers,
    ) + narrow + list(ctx.args)
    status = run_with_progress(command, paths, console, f"hil run --profile {chosen_profile.name}")
    refusal = usage_error(paths) if status == PYTEST_USAGE else None
    if refusal is not None:
        # pytest refused to start (e.g. a lab of another inventory runs): its one line.
        fail(f"{refusal} (pytest log: {paths.log})", code=EXIT_ERROR)
    if status == PYTEST_USAGE:
        status = EXIT_ERROR  # a refusal without its line: still bad input, still 2
    records = finished_records(paths)
    console.print(summary_table(records))
    if status not in (0, 1) or not records:
        for text in log_tail(paths):
            console.print(f"  {text}", soft_wrap=True, markup=False)
    console.print(
        f"Allure results: {paths.results}\nJUnit XML: {paths.junit}\n"
        f"records: {paths.records / 'records.jsonl'}\npytest log: {paths.log}",
        soft_wrap=True,
    )
    raise typer.Exit(status)
