"""`hil report`: the Allure HTML report with its trend history, the verdict matrix and
summary.json beside it, the quality gate; optionally served."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer

from harness.cli.common import EXIT_FINDING, OutputOption, console, default_output, fail
from harness.report.html import (
    QualityGate,
    ReportError,
    check_quality_gate,
    generate_report,
    history_runs,
    serve_report,
)
from harness.report.matrix import (
    VERDICT_TEXT,
    Matrix,
    build_matrix,
    render_html,
    result_links,
    summary,
    write_html,
    write_summary,
)
from harness.report.merge import MergeError, merge_runs
from harness.report.runinfo import DEV_TREND, RunInfo, history_file, read_run_info
from harness.run.gate import Verdict
from harness.run.pytestrun import RunPaths
from harness.run.records import read_records


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
        typer.Option("--history", help="Trend history file; <output>/history/<trend>.jsonl."),
    ] = None,
    quality_gate: Annotated[
        bool,
        typer.Option("--quality-gate", help="Exit 1 when the allurerc's quality gate fails."),
    ] = False,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port for --open.")] = 0,
    merge: Annotated[
        list[Path] | None,
        typer.Option("--merge", help="The output folders of several runners (repeated): "
                     "merged into --output, then one report, matrix and summary of them all."),
    ] = None,
) -> None:
    """Build the Allure report of the last run offline (allurerc.mjs; npm allure pinned in
    package.json), appending the run to its trend's history (nightly, gate, regression;
    runs narrowed by -k go to dev), and beside it the verdict per product line and
    firmware (<output>/matrix.html, <output>/summary.json), judged as the release gate
    judges.

    The quality gate of allurerc.mjs (at least one test, none failed or broken) is checked
    and printed; it changes the exit status only with --quality-gate, since the run
    itself already exited 1 on a failure. Exit 0 built (and served until Ctrl-C with
    --open), 1 with --quality-gate when the gate failed, 2 when the report cannot be built
    or served.
    """
    paths = RunPaths((output or default_output()).resolve())
    if merge:
        try:
            merged = merge_runs(list(merge), paths.output)
        except MergeError as exc:
            fail(str(exc))
        console.print(f"merged {len(merge)} runners' results into {paths.output} "
                      f"({len(merged.devices)} devices)", soft_wrap=True)
    results_dir = (results or paths.results).resolve()
    info = read_run_info(results_dir)
    trend = info.trend if info is not None else DEV_TREND
    history_path = history or history_file(paths.output / "history", trend)
    try:
        built = generate_report(
            results_dir,
            report_dir or paths.report,
            history=history_path,
            trend=trend,
            single_file=single_file,
        )
        gate = check_quality_gate(results_dir, history=built.history, trend=trend)
    except ReportError as exc:
        fail(str(exc))
    runs = history_runs(built.history)
    plural = "run" if runs == 1 else "runs"
    console.print(
        f"Allure report: {built.index} ({runs} {plural} of trend {trend} in {built.history})",
        soft_wrap=True,
    )
    _matrix(info, paths, results_dir, built.index, gate)
    if gate.passed:
        console.print("quality gate: passed")
    else:
        console.print(f"quality gate: [red]failed[/] ({'; '.join(gate.failures)})",
                      soft_wrap=True)
    if quality_gate and not gate.passed:
        raise typer.Exit(EXIT_FINDING)
    if open_:
        _serve(built.directory, port)


def _matrix(info: RunInfo | None, paths: RunPaths, results: Path, index: Path,
            gate: QualityGate) -> None:
    """Write matrix.html and summary.json beside the report, and say so in one line."""
    if info is None:
        console.print(f"no verdict matrix: {results} holds no run record (hil-run.json; "
                      "runs of hil run and hil gate write one)", soft_wrap=True)
        return
    report_page = os.path.relpath(index, paths.output)
    records = read_records(paths.records) if paths.records.is_dir() else []
    matrix: Matrix = build_matrix(info, records, links=result_links(results, report_page))
    gate_data = {"passed": gate.passed, "failures": list(gate.failures)}
    write_summary(summary(matrix, quality_gate=gate_data, report=report_page), paths.output)
    page = write_html(render_html(matrix, report=report_page, quality_gate=gate_data),
                      paths.output)
    counts = ", ".join(f"{n} {VERDICT_TEXT[Verdict[name]]}"
                       for name, n in matrix.totals.items())
    console.print(f"verdict matrix: {page} ({counts}); summary: {paths.output / 'summary.json'}",
                  soft_wrap=True)


def _serve(directory: Path, port: int) -> None:
    try:
        server, url = serve_report(directory, port=port)
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
