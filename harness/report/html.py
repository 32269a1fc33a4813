"""The Allure HTML report, built offline by the npm `allure` package pinned in package.json,
configured the Allure 3 way by the project's `allurerc.mjs`.

`allure generate --config allurerc.mjs` builds the awesome report: its tree grouped by
product line, firmware and device, the failure kinds of the failure table as categories,
one environment per product line and firmware under test, the trend's history. What
depends on the run reaches the allurerc as a JSON context file (HIL_REPORT_CONTEXT):
`report_context` writes it from the results. `allure quality-gate` checks the allurerc's
quality gate (`check_quality_gate`).

Allure 3 keeps the trend between runs in a history file (JSON lines, one line per report
generation, at most the allurerc's `historyLimit`): each generation reads it for the trend
and appends the new run. There is one file per trend (harness.report.runinfo: nightly, gate,
regression, dev), outside the report folder, so a report can be rebuilt or published
without losing it; CI jobs cache or publish it beside the report.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Final

from harness.catalogue import FirmwareFormatError, LineId, parse_firmware
from harness.report.allure import allure3_categories
from harness.run.profiles import PROJECT_ROOT

GENERATE_TIMEOUT: Final = 300.0
ALLURERC: Final = PROJECT_ROOT / "allurerc.mjs"
CONTEXT_VARIABLE: Final = "HIL_REPORT_CONTEXT"
REPORT_NAME: Final = "HIL password reset"
# The labels describe_device gives a test, which the environments are made of.
_DEVICE_LABELS: Final = ("product_line", "firmware", "device", "model", "gui_generation")
# How `allure quality-gate` marks each failed rule, one a line, before its message.
_FAILED_RULE: Final = "\N{VECTOR OR CROSS PRODUCT}"
_ANSI: Final = re.compile(r"\x1b\[[0-9;]*m")
# allure 3.18's awesome template always embeds Google Analytics (`analyticsEnable: true`),
# a request off the lab's network at every page view: the block is removed after generation.
_ANALYTICS: Final = re.compile(
    r'<script async src="https://www\.googletagmanager\.com/[^"]*"></script>\s*'
    r"<script>\s*window\.dataLayer.*?</script>",
    re.DOTALL,
)


class ReportError(Exception):
    """The report cannot be built or served, as one line saying what to do."""


@dataclass(frozen=True)
class Report:
    """A generated report: its folder, its entry page and the history file it appended to."""

    directory: Path
    index: Path
    history: Path
    single_file: bool


@dataclass(frozen=True)
class QualityGate:
    """The allurerc's quality gate over a run's results: passed, and the failed rules."""

    passed: bool
    failures: tuple[str, ...] = field(default=())


def allure_command(root: Path = PROJECT_ROOT) -> list[str]:
    """The command that runs the pinned allure (node_modules), or `ReportError`."""
    binary = root / "node_modules" / ".bin" / "allure"
    if not binary.exists():
        raise ReportError(
            f"{binary} is missing: install the report generator with scripts/ensure.sh "
            "(npm ci in the project root)"
        )
    if shutil.which("node") is None:
        raise ReportError("node is not on PATH: the Allure report generator needs Node.js")
    return [str(binary)]


def _has_results(results: Path) -> bool:
    return any(results.glob("*-result.json"))


def _results(results: Path) -> Iterator[dict[str, Any]]:
    for path in sorted(results.glob("*-result.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            yield data


def _labels(result: Mapping[str, Any]) -> dict[str, str]:
    return {str(label.get("name")): str(label.get("value"))
            for label in result.get("labels") or () if isinstance(label, dict)}


def _firmware_key(text: str) -> tuple[int, ...]:
    try:
        return parse_firmware(text).numbers
    except FirmwareFormatError:
        return ()


def _line_key(line: str) -> int:
    order = [item.value for item in LineId]
    return order.index(line) if line in order else len(order)


def environments(results: Path) -> list[dict[str, Any]]:
    """One Allure environment per product line and firmware the results ran on, in line
    order then by version: an id Allure accepts, a name, and its variables."""
    found: dict[tuple[str, str], dict[str, dict[str, None]]] = {}
    for result in _results(results):
        labels = _labels(result)
        line, firmware = labels.get("product_line"), labels.get("firmware")
        if not line or not firmware:
            continue
        seen = found.setdefault((line, firmware), {name: {} for name in _DEVICE_LABELS})
        for name in _DEVICE_LABELS:
            if labels.get(name):
                seen[name][labels[name]] = None
    envs = []
    for (line, firmware), seen in sorted(
            found.items(), key=lambda kv: (_line_key(kv[0][0]), _firmware_key(kv[0][1]), kv[0])):
        envs.append({
            "id": re.sub(r"[^A-Za-z0-9_-]+", "-", f"{line}-{firmware}").strip("-"),
            "name": f"{line} {firmware}",
            "line": line,
            "firmware": firmware,
            "variables": {
                "product line": line,
                "firmware": firmware,
                "devices": ", ".join(sorted(seen["device"])),
                "models": ", ".join(sorted(seen["model"])),
                "GUI generation": ", ".join(sorted(seen["gui_generation"])),
            },
        })
    return envs


def _categories(results: Path) -> list[dict[str, Any]]:
    # The run's own categories.json was written where every exception class of the suites
    # was loaded; this process knows the failure table's classes only.
    try:
        written = json.loads((results / "categories.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return allure3_categories()
    if not isinstance(written, list) or not all(isinstance(c, dict) for c in written):
        return allure3_categories()
    try:
        return allure3_categories(written)
    except KeyError:
        return allure3_categories()


def report_context(
    results: Path,
    *,
    history: Path,
    trend: str,
    single_file: bool = False,
    append_history: bool = True,
    name: str = REPORT_NAME,
) -> dict[str, Any]:
    """What allurerc.mjs takes from the run: history file and trend, categories of the
    failure table, environments of the lines and firmware the results ran on."""
    return {
        "name": name,
        "historyPath": str(history),
        "trend": trend,
        "appendHistory": append_history,
        "singleFile": single_file,
        "categories": _categories(results),
        "environments": environments(results),
    }


def _run_allure(args: list[str], context: Mapping[str, Any], timeout: float,
                what: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="hil-report-") as folder:
        context_file = Path(folder) / "context.json"
        context_file.write_text(json.dumps(context), encoding="utf-8")
        try:
            return subprocess.run(
                [*allure_command(), *args, "--config", str(ALLURERC)],
                cwd=PROJECT_ROOT,
                env={**os.environ, CONTEXT_VARIABLE: str(context_file)},
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise ReportError(f"allure did not finish {what} within {timeout:g} s") from None


def _last_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = [_ANSI.sub("", ln).strip() for ln in (done.stderr + done.stdout).splitlines()]
    lines = [ln for ln in lines if ln]
    return lines[-1] if lines else f"exit status {done.returncode}"


def _checked_results(results: Path | str) -> Path:
    results_dir = Path(results).resolve()
    if not results_dir.is_dir() or not _has_results(results_dir):
        raise ReportError(
            f"{results_dir}: no Allure results (run `hil run` or `hil gate` first, "
            "or pass --results DIR)"
        )
    return results_dir


def _failed_rule(line: str) -> str:
    # "<message>    <rule id>": the message padded to the longest, then the rule.
    message, _, rule = line.strip().rpartition("    ")
    return f"{rule.strip()}: {' '.join(message.split())}" if message else " ".join(rule.split())


def generate_report(
    results: Path | str,
    output: Path | str,
    *,
    history: Path | str,
    trend: str = "dev",
    single_file: bool = False,
    name: str = REPORT_NAME,
    timeout: float = GENERATE_TIMEOUT,
) -> Report:
    """Build the Allure Awesome report of `results` into `output` with allurerc.mjs,
    reading and appending the history of `trend` in `history`. The output folder is
    replaced."""
    results_dir = _checked_results(results)
    output_dir = Path(output).resolve()
    history_file = Path(history).resolve()
    allure_command()
    history_file.parent.mkdir(parents=True, exist_ok=True)
    if output_dir.exists():
        shutil.rmtree(output_dir)
    fingerprint = results_fingerprint(results_dir)
    seen_file = history_file.with_name(history_file.name + ".runs")
    # The same run again (a rebuild, another format): show the trend, add no point.
    already = fingerprint in _lines(seen_file)
    context = report_context(results_dir, history=history_file, trend=trend,
                             single_file=single_file, append_history=not already, name=name)
    done = _run_allure(["generate", str(results_dir), "--output", str(output_dir)],
                       context, timeout, "the report")
    index = output_dir / "index.html"
    if done.returncode != 0 or not index.exists():
        raise ReportError(f"allure could not build the report: {_last_line(done)}")
    if not already:
        with seen_file.open("a", encoding="utf-8") as seen:
            seen.write(fingerprint + "\n")
    strip_analytics(index)
    return Report(output_dir, index, history_file, single_file)


def check_quality_gate(
    results: Path | str, *, history: Path | str, trend: str = "dev",
    timeout: float = GENERATE_TIMEOUT,
) -> QualityGate:
    """The allurerc's quality gate over `results` (`allure quality-gate`), without adding
    to the history."""
    results_dir = _checked_results(results)
    context = report_context(results_dir, history=Path(history).resolve(), trend=trend,
                             append_history=False)
    done = _run_allure(["quality-gate", str(results_dir)], context, timeout,
                       "the quality gate")
    if done.returncode == 0:
        return QualityGate(passed=True)
    text = _ANSI.sub("", done.stderr + done.stdout)
    failures = tuple(_failed_rule(ln.strip().removeprefix(_FAILED_RULE))
                     for ln in text.splitlines() if ln.strip().startswith(_FAILED_RULE))
    if not failures:
        raise ReportError(f"allure could not check the quality gate: {_last_line(done)}")
    return QualityGate(passed=False, failures=failures)


def strip_analytics(index: Path) -> bool:
    """Remove the analytics script block from a generated report page; True if found."""
    text = index.read_text(encoding="utf-8")
    cleaned, count = _ANALYTICS.subn("", text, count=1)
    if count:
        index.write_text(cleaned, encoding="utf-8")
    return bool(count)


def results_fingerprint(results: Path) -> str:
    """A stable name for one run's results: a hash of its result files' names (uuids)."""
    names = sorted(path.name for path in results.glob("*-result.json"))
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:32]


def _lines(path: Path) -> set[str]:
    try:
        return {line.strip() for line in path.read_text(encoding="utf-8").splitlines()}
    except OSError:
        return set()


def history_runs(history: Path | str) -> int:
    """How many runs the history file holds (one JSON line each)."""
    try:
        text = Path(history).read_text(encoding="utf-8")
    except OSError:
        return 0
    return sum(1 for line in text.splitlines() if line.strip())


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        # A report viewer's requests are not worth a line each.
        return


def serve_report(
    directory: Path | str, *, host: str = "127.0.0.1", port: int = 0
) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve `directory` over HTTP on loopback in a background thread.

    A multi-file Allure report must be served, not opened as a file. Returns the server
    (call `shutdown()`) and its address.
    """
    folder = Path(directory).resolve()
    if not (folder / "index.html").exists():
        raise ReportError(f"{folder}: no report to serve (run `hil report` first)")
    if host not in ("127.0.0.1", "::1", "localhost"):
        raise ReportError(f"refusing to serve on {host}: the report is served on loopback only")
    handler = partial(_QuietHandler, directory=str(folder))
    try:
        server = http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise ReportError(f"cannot serve on {host}:{port} ({exc.strerror})") from None
    thread = threading.Thread(target=server.serve_forever, name="report-server", daemon=True)
    thread.start()
    bound = server.server_address[1]
    return server, f"http://{host}:{bound}/"
