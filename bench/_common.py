"""Helpers shared by the harness benchmarks (overhead, scaling, device_work, evidence).

Each benchmark prints a readable table and, as its LAST line, one JSON object with its
figures and targets (the style of bench/fleet). The helpers here: derived inventories
(latency, boot time, a subset of devices), a lab started once and stopped at the end,
pytest runs of the suites timed from outside (wall and CPU of the whole process tree),
the device counters of the lab controller, medians and the table.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

REPO: Final = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as `python bench/x.py`: the harness is importable
    sys.path.insert(0, str(REPO))

from harness.errors import InfrastructureError  # noqa: E402
from harness.inventory.load import load_inventory  # noqa: E402
from harness.lab.endpoints import LabEndpoints  # noqa: E402
from harness.lab.host import start_lab, stop_lab  # noqa: E402
from harness.lab.session import LabSession  # noqa: E402

DEVICES_YAML: Final = REPO / "devices.yaml"
CHROMIUM: Final = os.environ.get("HIL_CHROMIUM", "/usr/lib/chromium/chromium")
# One device of each GUI generation with the reserved-e-mail reset (from devices.yaml).
ONE_PER_GENERATION: Final = ("nvr-v4.21.000", "ipc-v5.6.0", "ipc-v5.7.10")
START_ATTEMPTS: Final = 3


def derived_devices(dest: Path, *, latency_ms: int = 0, boot_seconds: float = 0,
                    names: Sequence[str] | None = None, copies: int = 1,
                    source: Path = DEVICES_YAML) -> Path:
    """Write an inventory derived from `source`: only `names` (all when None), each device
    `copies` times (suffix `-cK` from the second copy), with latency and boot time set."""
    data: dict[str, Any] = yaml.safe_load(source.read_text())
    chosen = [d for d in data["devices"] if names is None or d["name"] in names]
    if names is not None:
        missing = set(names) - {d["name"] for d in chosen}
        if missing:
            raise SystemExit(f"bench: {source} has no device {', '.join(sorted(missing))}")
    devices = []
    for k in range(copies):
        for d in chosen:
            copy = dict(d, latency_ms=latency_ms, boot_seconds=boot_seconds)
            if k:
                copy["name"] = f"{d['name']}-c{k}"
            devices.append(copy)
    data["devices"] = devices
    data["leases"] = {"kind": "file", "directory": str(dest.parent / "leases")}
    dest.write_text(yaml.safe_dump(data, sort_keys=False))
    return dest


@contextlib.contextmanager
def running_lab(devices: Path, workdir: Path) -> Iterator[tuple[LabEndpoints, float]]:
    """Start the emulated lab of `devices` in `workdir` (pytest runs with the same
    --lab-workdir reuse it and leave it running); its endpoints and start time; stopped
    at the end."""
    inventory = load_inventory(devices)
    t0 = time.perf_counter()
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            endpoints = start_lab(inventory, workdir)
            break
        except InfrastructureError as exc:
            # On a loaded machine the fleet can miss the lab host's ready deadline; a
            # benchmark should measure the suites, not die of a slow start.
            stop_lab(workdir)
            if attempt == START_ATTEMPTS:
                raise SystemExit(f"bench: the emulated lab did not start {attempt} times: "
                                 f"{exc}") from None
            print(f"bench: lab start attempt {attempt} failed ({exc}); retrying",
                  file=sys.stderr)
    started = time.perf_counter() - t0
    try:
        yield endpoints, started
    finally:
        stop_lab(workdir)


def lab_for(devices: Path, workdir: Path, endpoints: LabEndpoints) -> LabSession:
    """The harness's view of a running lab (as the fixtures build it)."""
    return LabSession(inventory=load_inventory(devices), workdir=workdir, endpoints=endpoints,
               run_id=f"bench-{os.getpid()}")


def device_counters(lab: LabSession) -> dict[str, dict[str, int]]:
    """Per device, the emulator's own counters, read through the lab controller's
    `status` over SSH (the way a real lab's controller would be asked)."""
    with lab.lab_controller() as controller:
        rows = controller.status()
    return {str(r["name"]): {k: int(v) for k, v in r.items()
                             if isinstance(v, int) and not isinstance(v, bool)}
            for r in rows}


@dataclass
class PytestRun:
    """One pytest run of the suites, timed from outside."""

    command: list[str]
    returncode: int
    wall_s: float
    cpu_s: float
    outcomes: dict[str, int] = field(default_factory=dict)
    tail: str = ""

    @property
    def ok(self) -> bool:
        """Every collected test passed or was skipped (pytest exit status 0)."""
        return self.returncode == 0


PR_SET_CHILD_SUBREAPER: Final = 36  # linux/prctl.h
ORPHAN_WAIT_S: Final = 10.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _adopt_orphans() -> bool:
    """Make this process the reaper of its descendants' orphans (Linux). Without it the
    CPU of a run misses every Chromium renderer: they are children of Chromium's zygote,
    which outlives its browser and is reaped by init, renderers' CPU and all."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _reap_orphans(others: set[int]) -> None:
    """Reap the children this process adopted (all but `others`), waiting a bounded time
    for those still shutting down, so that their CPU reaches RUSAGE_CHILDREN."""
    import psutil

    deadline = time.monotonic() + ORPHAN_WAIT_S
    while True:
        alive = False
        for child in psutil.Process().children():
            if child.pid in others:
                continue
            try:
                if child.status() == psutil.STATUS_ZOMBIE:
                    os.waitpid(child.pid, 0)
                else:
                    alive = True
            except (psutil.Error, ChildProcessError):
                pass  # gone or reaped meanwhile
        if not alive or time.monotonic() > deadline:
            return
        time.sleep(0.05)


def timed_run(command: Sequence[str], *, timeout: float, cwd: Path = REPO,
              stdin: str | None = None, env: dict[str, str] | None = None
              ) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Run `command` to its end: its wall time, the CPU of its whole process tree (orphans
    included, see `_adopt_orphans`) and the finished process. SystemExit on a timeout."""
    import psutil

    if not _adopt_orphans():
        print("bench: cannot adopt orphaned processes here; CPU figures miss Chromium's "
              "renderers", file=sys.stderr)
    others = {c.pid for c in psutil.Process().children()}
    cpu0, t0 = _children_cpu(), time.perf_counter()
    try:
        proc = subprocess.run(list(command), input=stdin, cwd=cwd, capture_output=True,
                              text=True, timeout=timeout, env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired as exc:
        raise SystemExit(f"bench: {command[0]} did not finish within {timeout:.0f} s: "
                         f"{' '.join(command)}") from exc
    wall = time.perf_counter() - t0
    _reap_orphans(others)
    return wall, _children_cpu() - cpu0, proc


def junit_outcomes(path: Path) -> dict[str, int]:
    """passed / failed / error / skipped counts of a JUnit XML file."""
    counts = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    if not path.is_file():
        return counts
    for case in ET.parse(path).getroot().iter("testcase"):
        kinds = {child.tag for child in case}
        if "failure" in kinds:
            counts["failed"] += 1
        elif "error" in kinds:
            counts["error"] += 1
        elif "skipped" in kinds:
            counts["skipped"] += 1
        else:
            counts["passed"] += 1
    return counts


def run_pytest(selection: Sequence[str], *, devices: Path, workdir: Path, workers: int | None,
               extra: Sequence[str] = (), timeout: float = 7200.0,
               env: dict[str, str] | None = None) -> PytestRun:
    """`pytest SELECTION --devices F --lab-workdir W [-n N]`, as the README runs the suites;
    wall time and the CPU of pytest's whole process tree (workers, browsers, renderers)."""
    junit = workdir / f"junit-{time.monotonic_ns()}.xml"
    command = [sys.executable, "-m", "pytest", *selection, "--devices", str(devices),
               "--lab-workdir", str(workdir), "-p", "no:cacheprovider", "-q",
               f"--junitxml={junit}", *extra]
    if workers is not None:
        command += ["-n", str(workers)]
    wall, cpu, proc = timed_run(command, timeout=timeout, env=env)
    return PytestRun(command=command, returncode=proc.returncode, wall_s=wall,
                     cpu_s=cpu, outcomes=junit_outcomes(junit),
                     tail="\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:]))


def median(values: Sequence[float]) -> float:
    """The median, NaN for no values."""
    return statistics.median(values) if values else float("nan")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain, aligned text table on stdout."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for number, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if number == 0:
            print("  ".join("-" * w for w in widths))


def print_result(result: dict[str, Any]) -> None:
    """The benchmark's LAST line: one JSON object with its figures and targets."""
    sys.stdout.flush()
    print(json.dumps(result, sort_keys=False), flush=True)
