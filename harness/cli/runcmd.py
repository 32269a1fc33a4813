"""`hil run`: the suites of a profile, with live progress and a summary per line/firmware."""

from __future__ import annotations

from typing import Annotated

import typer

from harness.cli.common import (
    EXIT_USAGE,
    DevicesOption,
    OutputOption,
    WorkdirOption,
    check_keyword,
    console,
    default_devices,
    default_output,
    default_workdir,
    fail,
    inventory_or_fail,
)
from harness.cli.pytestrun import (
    EXIT_NO_TESTS,
    RunPaths,
    finished_records,
    log_tail,
    preflight,
    pytest_command,
    run_with_progress,
    summary_table,
    usage_error,
)
from harness.profiles import ProfileError, get_profile

ProfileOption = Annotated[
    str,
    typer.Option(
        "--profile", "-p", help="Run profile from profiles.yaml: regression, nightly, gate."
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


def run(
    ctx: typer.Context,
    profile: ProfileOption = "regression",
    workers: WorkersOption = None,
    devices: DevicesOption = None,
    keyword: KeywordOption = None,
    output: OutputOption = None,
    workdir: WorkdirOption = None,
) -> None:
    """Run the suites of a profile over the inventory (pytest in a subprocess, in parallel),
    writing Allure results, JUnit XML and outcome records into --output.

    Ends with outcomes per product line and firmware: passed, failed by kind
    (product-defect, infrastructure, device, harness), skipped with reason.
    Arguments after `--` go to pytest unchanged (e.g. `-- --headed --mail-timeout 600`).
    Exit status is pytest's: 0 all passed, 1 some failed, 2 interrupted or bad input,
    3 internal error, 4 usage error, 5 nothing selected.
    """
    try:
        chosen = get_profile(profile)
    except ProfileError as exc:
        fail(str(exc))
    check_keyword(keyword)
    path = (devices or default_devices()).resolve()
    inventory_or_fail(path)
    if keyword is not None or ctx.args:
        # A narrowed selection or pytest's own options: checked by collecting only, so a
        # typo is one line and no lab starts for nothing.
        found = preflight([*chosen.pytest_args(keyword=keyword), *ctx.args], devices=path)
        if found.status == EXIT_NO_TESTS:
            fail(f"nothing selected: no test of profile {chosen.name} matches "
                 f"-k {(keyword or '')[:80]!r} {' '.join(ctx.args)[:80]}".rstrip(),
                 code=EXIT_NO_TESTS)
        if found.status != 0:
            fail(f"pytest refused the run: {found.refusal or 'see pytest --help'}",
                 code=found.status if found.status == EXIT_USAGE else EXIT_USAGE)
    paths = RunPaths((output or default_output()).resolve())
    command = pytest_command(
        chosen.pytest_args(keyword=keyword),
        paths,
        devices=path,
        workdir=(workdir or default_workdir()).resolve(),
        workers=chosen.workers if workers is None else workers,
    ) + list(ctx.args)
    status = run_with_progress(command, paths, console, f"hil run --profile {chosen.name}")
    refusal = usage_error(paths) if status == 4 else None
    if refusal is not None:
        # pytest refused to start (e.g. the lab cannot start): its one line, its status.
        fail(f"{refusal} (pytest log: {paths.log})", code=status)
    records = finished_records(paths)
    console.print(summary_table(records))
    if status not in (0, 1) or not records:
        for line in log_tail(paths):
            console.print(f"  {line}", soft_wrap=True, markup=False)
    console.print(
        f"Allure results: {paths.results}\nJUnit XML: {paths.junit}\n"
        f"records: {paths.records / 'records.jsonl'}\npytest log: {paths.log}",
        soft_wrap=True,
    )
    raise typer.Exit(status)
