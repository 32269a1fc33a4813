"""Several runners, one verdict: two real `hil run`s on different devices (as two runners
of one lab would make), merged by `hil report --merge` and `hil gate --merge`."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import emulated, hil, write_inventory

from harness.report.merge import MergeError, merge_runs
from harness.run.records import read_records

NVR = ("DS-7608NI-K2", "V4.21.000")


def _run(tmp_path: Path, inventory: Path, device: str, output: Path) -> None:
    done = hil("run", "--devices", inventory, "--workdir", tmp_path / f"lab-{device}",
               "-o", output, "--device", device, "-n", "0",
               "-k", "test_risky_password_refused_by_api", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def test_two_runners_make_one_report_and_one_verdict(tmp_path: Path) -> None:
    inventory = write_inventory(tmp_path, "devices.yaml", [
        emulated("nvr-a", *NVR), emulated("nvr-b", *NVR)])
    runner_a, runner_b = tmp_path / "runner-a", tmp_path / "runner-b"
    _run(tmp_path, inventory, "nvr-a", runner_a)
    _run(tmp_path, inventory, "nvr-b", runner_b)
    merged = tmp_path / "merged"

    report = hil("report", "--merge", runner_a, "--merge", runner_b, "-o", merged,
                 cwd=tmp_path)
    assert report.returncode == 0, report.stdout + report.stderr
    assert "merged 2 runners' results" in report.stdout
    summary = json.loads((merged / "summary.json").read_text())
    assert "nvr-a" in json.dumps(summary) and "nvr-b" in json.dumps(summary)
    runners = set()
    for result in (merged / "allure-results").glob("*-result.json"):
        labels = {label["name"]: label["value"]
                  for label in json.loads(result.read_text())["labels"]}
        runners.add((labels["runner"], labels["device"]))
    assert runners == {("runner-a", "nvr-a"), ("runner-b", "nvr-b")}
    assert {r.worker.split("/")[0] for r in read_records(merged / "records")} == {
        "runner-a", "runner-b"}

    gate = hil("gate", "--firmware", "V4.21.000", "--devices", inventory,
               "--merge", runner_a, "--merge", runner_b, "-o", tmp_path / "gated",
               cwd=tmp_path)
    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert "GATE PASS for V4.21.000" in gate.stdout


def test_what_cannot_be_merged_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for sources, says in (([tmp_path / "empty"], "at least two runners"),
                          ([tmp_path / "empty", tmp_path / "empty"], "not a run's output")):
        try:
            merge_runs(sources, tmp_path / "out")
        except MergeError as exc:
            assert says in str(exc) and "\n" not in str(exc)
        else:
            raise AssertionError(f"merged {sources}")
    refused = hil("report", "--merge", tmp_path / "empty", "--merge", tmp_path / "empty",
                  "-o", tmp_path / "out", cwd=tmp_path)
    assert refused.returncode == 2 and "not a run's output" in refused.stderr
