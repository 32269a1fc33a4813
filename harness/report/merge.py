"""The results of several runners as one run: one Allure report, one matrix, one verdict.

Runners sharing a lab (leases in Redis) each write their own output folder (`hil run -o
DIR`: `allure-results/`, `records/`). Merging copies every runner's Allure results into one
folder (result, container and attachment files are named by UUIDs, so they never collide;
each test's `runner` label becomes its runner's folder name), concatenates the outcome
records with each record's worker named `<runner>/<worker>`, and writes one run record
(`hil-run.json`): the union of the runners' devices, the profile they share, and the worst
exit status that still leaves a verdict. The merged folder is then an ordinary run's
output: `hil report` and the gate read it as they read one runner's.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

from harness.report.runinfo import DEV_TREND, RUN_INFO_FILE, RunInfo, read_run_info
from harness.run.records import RECORDS_FILE, read_records

RESULTS_DIR: Final = "allure-results"
RECORDS_DIR: Final = "records"
RUNNER_LABEL: Final = "runner"
# pytest exit statuses that leave no verdict (interrupted, internal error, usage error).
_NO_VERDICT: Final = (2, 3, 4)


class MergeError(Exception):
    """The folders cannot be merged, as one line naming the folder and why."""


def runner_name(folder: Path) -> str:
    """What a runner is called in the merged report: its output folder's name, which a CI
    job names after the runner (`reports-runner-a`)."""
    return folder.name


def _exit_status(statuses: list[int | None]) -> int:
    """One run's exit status for several: no verdict if any runner gave none, else 1 if any
    test failed; a runner that collected nothing (5: others had its devices) is no loss."""
    known = [s for s in statuses if s is not None]
    if len(known) < len(statuses) or any(s in _NO_VERDICT for s in known):
        return next((s for s in known if s in _NO_VERDICT), 2)
    if 1 in known:
        return 1
    return 0 if any(s == 0 for s in known) else 5


def merge_runs(sources: list[Path], into: Path) -> RunInfo:
    """Merge the runners' output folders `sources` into `into` (replacing its results and
    records); the merged run record. `MergeError` for a folder that is not a run's output
    or runs of different profiles."""
    if len(sources) < 2:
        raise MergeError("--merge needs the output folders of at least two runners")
    target = into.resolve()
    runs: list[tuple[Path, RunInfo]] = []
    for source in sources:
        folder = source.resolve()
        if folder == target:
            raise MergeError(f"{folder}: the merged output cannot be one of the runners' folders")
        info = read_run_info(folder / RESULTS_DIR)
        if info is None or not (folder / RECORDS_DIR).is_dir():
            raise MergeError(f"{folder}: not a run's output (no {RESULTS_DIR}/{RUN_INFO_FILE} "
                             f"or {RECORDS_DIR}/; runs of hil run and hil gate write both)")
        runs.append((folder, info))
    names = [runner_name(folder) for folder, _ in runs]
    if len(set(names)) < len(names):
        names = [f"{name}-{i + 1}" for i, name in enumerate(names)]
    profiles = {info.profile for _, info in runs}
    if len(profiles) > 1:
        raise MergeError(f"runs of different profiles cannot make one verdict: "
                         f"{', '.join(sorted(str(p) for p in profiles))}")
    results, records = target / RESULTS_DIR, target / RECORDS_DIR
    for folder in (results, records):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    merged_records: list[str] = []
    for (folder, _info), name in zip(runs, names, strict=True):
        _copy_results(folder / RESULTS_DIR, results, name)
        for record in read_records(folder / RECORDS_DIR):
            merged_records.append(replace(record, worker=f"{name}/{record.worker}").to_json())
    (records / RECORDS_FILE).write_text("".join(r + "\n" for r in merged_records),
                                        encoding="utf-8")
    devices: dict[str, dict[str, Any]] = {}
    for _, info in runs:
        for device in info.devices:
            devices.setdefault(str(device.get("name")), device)
    first = runs[0][1]
    trends = {info.trend for _, info in runs}
    merged = RunInfo(
        run_id="+".join(info.run_id for _, info in runs),
        profile=first.profile,
        trend=first.trend if len(trends) == 1 else DEV_TREND,
        narrowed="" if len(trends) == 1 else "runners of different trends",
        inventory=first.inventory,
        inventory_digest=first.inventory_digest,
        devices=tuple(devices.values()),
        exit_status=_exit_status([info.exit_status for _, info in runs]),
    )
    merged.write(results)
    return merged


def _copy_results(source: Path, target: Path, runner: str) -> None:
    """Copy one runner's Allure files; each test result gets its runner's label. The run
    files (environment, executor, categories, run record) are the merged run's own."""
    for path in source.iterdir():
        if not path.is_file() or path.name == RUN_INFO_FILE or not (
                path.name.endswith(("-result.json", "-container.json", "-attachment"))
                or "-attachment." in path.name):
            continue
        if path.name.endswith("-result.json"):
            data = json.loads(path.read_text(encoding="utf-8"))
            labels = [label for label in data.get("labels", [])
                      if label.get("name") != RUNNER_LABEL]
            data["labels"] = [*labels, {"name": RUNNER_LABEL, "value": runner}]
            (target / path.name).write_text(json.dumps(data), encoding="utf-8")
        else:
            shutil.copy2(path, target / path.name)
