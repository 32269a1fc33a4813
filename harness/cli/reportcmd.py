"""`hil report`: the Allure HTML report with its trend history, optionally served."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from harness.cli.common import OutputOption, console, default_output, fail
from harness.cli.pytestrun import RunPaths
from harness.reports import ReportError, generate_report, history_runs, serve_report


def report(
    open_: Annotated[
        bool,
        typer.Option("--open", help="Serve the report on 127.0.0.1 until Ctrl-C."),
    ] = False,
    single_file: Annotated[
        bool, typer.Option("--single-file", help="One self-contained index.html.")
    ] = False,
    output: OutputOption = None,
    results: Annotated[
        Path | None, typer.Option("--results", help="Allure results; <output>/allure-results.")
    ] = None,
    report_dir: Annotated[
        Path | None, typer.Option("--report-dir", help="Report folder; <output>/allure-report.")
    ] = None,
    history: Annotated[
        Path | None,
        typer.Option("--history", help="Trend history file; <output>/history/history.jsonl."),
    ] = None,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port for --open.")] = 0,
) -> None:
    """Build the Allure report of the last run offline (npm allure pinned in package.json),
    appending the run to the history file so the trend shows across runs.

    Exit 0 built (and served until Ctrl-C with --open), 2 when it cannot be built or served.
    """
    paths = RunPaths((output or default_output()).resolve())
    try:
        built = generate_report(
            results or paths.results,
            report_dir or paths.report,
            history=history or paths.history,
            single_file=single_file,
        )
    except ReportError as exc:
        fail(str(exc))
    runs = history_runs(built.history)
    plural = "run" if runs == 1 else "runs"
    console.print(
        f"Allure report: {built.index} ({runs} {plural} in {built.history})", soft_wrap=True
    )
    if not open_:
        return
    try:
        server, url = serve_report(built.directory, port=port)
    except ReportError as exc:
        fail(str(exc))
    print(f"serving the report at {url} (Ctrl-C stops)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
