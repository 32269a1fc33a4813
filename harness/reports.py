"""The Allure HTML report, built offline by the npm `allure` package pinned in package.json.

Allure 3 keeps the trend between runs in a history file (JSON lines, one line per report
generation) given by `--history-path` (or `historyPath` in an allurerc): each generation
reads it for the trend and appends the new run. The history file lives outside the report
folder, so a report can be rebuilt or published without losing it; CI jobs cache or publish
it beside the report.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Final

from harness.profiles import PROJECT_ROOT

GENERATE_TIMEOUT: Final = 300.0
HISTORY_FILE: Final = "history.jsonl"
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


def generate_report(
    results: Path | str,
    output: Path | str,
    *,
    history: Path | str,
    single_file: bool = False,
    name: str = "HIL password reset",
    timeout: float = GENERATE_TIMEOUT,
) -> Report:
    """Build the Allure Awesome report of `results` into `output`, reading and appending
    the trend history in `history`. The output folder is replaced."""
    results_dir = Path(results).resolve()
    output_dir = Path(output).resolve()
    history_file = Path(history).resolve()
    if not results_dir.is_dir() or not _has_results(results_dir):
        raise ReportError(
            f"{results_dir}: no Allure results (run `hil run` or `hil gate` first, "
            "or pass --results DIR)"
        )
    command = allure_command()
    history_file.parent.mkdir(parents=True, exist_ok=True)
    if output_dir.exists():
        shutil.rmtree(output_dir)
    args = [
        *command,
        "awesome",
        str(results_dir),
        "--output",
        str(output_dir),
        "--history-path",
        str(history_file),
        "--name",
        name,
    ]
    if single_file:
        args.append("--single-file")
    fingerprint = results_fingerprint(results_dir)
    seen_file = history_file.with_name(history_file.name + ".runs")
    already = fingerprint in _lines(seen_file)
    if already:
        # The same run again (a rebuild, another format): show the trend, add no point.
        config = output_dir.parent / f".allurerc-{os.getpid()}.json"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(json.dumps({"appendHistory": False}), encoding="utf-8")
        args += ["--config", str(config)]
    try:
        done = subprocess.run(
            args,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise ReportError(f"allure did not finish the report within {timeout:g} s") from None
    finally:
        if already:
            config.unlink(missing_ok=True)
    index = output_dir / "index.html"
    if done.returncode != 0 or not index.exists():
        lines = [ln for ln in (done.stderr + done.stdout).splitlines() if ln.strip()]
        last = lines[-1] if lines else f"exit status {done.returncode}"
        raise ReportError(f"allure could not build the report: {last}")
    if not already:
        with seen_file.open("a", encoding="utf-8") as seen:
            seen.write(fingerprint + "\n")
    strip_analytics(index)
    return Report(output_dir, index, history_file, single_file)


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
