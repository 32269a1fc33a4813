"""What the reports are made of, without a run of the suites (a few seconds): the trend a
run keeps, the run record a collect-only run of the real plugins writes, the matrix's
cells against the gate's own verdicts, the fixture entries kept, the categories in
Allure 3's form, and the history limit of allurerc.mjs through the real allure."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.inventory.load import DEFAULT_INVENTORY, load_inventory
from harness.report.allure import allure3_categories, categories, prune_fixtures
from harness.report.html import generate_report, history_runs
from harness.report.matrix import allure_key, build_matrix, render_html, summary
from harness.report.runinfo import RUN_INFO_FILE, RunInfo, device_entry, read_run_info, trend_of
from harness.run.gate import Verdict, judge
from harness.run.profiles import PROJECT_ROOT, get_profile
from harness.run.records import OutcomeRecord

RunPytest = Callable[..., subprocess.CompletedProcess[str]]
WriteInventory = Callable[..., Path]
INVENTORY = load_inventory(DEFAULT_INVENTORY)
PLUGIN_ARGS = ("-p", "no:playwright", "-p", "pytest_playwright.pytest_playwright",
               "-p", "fixtures.lab", "-p", "fixtures.matrix", "-p", "fixtures.devices",
               "-p", "fixtures.browser", "-p", "fixtures.reporting")


# --- the trend a run keeps --------------------------------------------------------------------


def _trend(profile: str | None, *, keyword: str = "", markers: str | None = None,
           paths: list[str] | None = None) -> tuple[str, str]:
    chosen = get_profile(profile) if profile else None
    own = chosen.pytest_args() if chosen else []
    return trend_of(
        chosen,
        keyword=keyword,
        markers=(chosen.markers or "") if markers is None and chosen else (markers or ""),
        paths=paths if paths is not None else [a for a in own if not a.startswith("-")
                                               and a != (chosen.markers if chosen else "")],
        invoked_from=PROJECT_ROOT,
    )


@pytest.mark.parametrize("profile", ["nightly", "gate", "regression"])
def test_a_profile_run_keeps_its_own_trend(profile: str) -> None:
    assert _trend(profile) == (profile, "")


@pytest.mark.parametrize(
    ("profile", "change", "reason"),
    [
        ("nightly", {"keyword": "(reset)"}, "narrowed by -k '(reset)'"),
        ("gate", {"keyword": "(nvr-v4.21.000)"}, "narrowed by -k"),
        ("nightly", {"markers": "not slow"}, "markers 'not slow' instead of the profile's"),
        ("regression", {"paths": ["suites/test_gating.py"]}, "test paths other than"),
        ("regression", {"paths": ["suites", "suites/test_x.py::test_y"]},
         "test paths other than"),
        (None, {}, "not run through a profile"),
    ],
)
def test_a_narrowed_run_is_a_dev_run(profile: str | None, change: dict[str, Any],
                                     reason: str) -> None:
    trend, why = _trend(profile, **change)
    assert trend == "dev"
    assert why.startswith(reason), why


def test_profiles_tell_the_run_their_name() -> None:
    assert "--hil-profile=nightly" in get_profile("nightly").pytest_args(keyword="x")


@pytest.mark.parametrize(("extra", "trend"), [((), "gate"), (("-k", "reset"), "dev")])
def test_a_run_writes_its_record_and_trend(
    run_pytest: RunPytest, write_inventory: WriteInventory, tmp_path: Path,
    extra: tuple[str, ...], trend: str,
) -> None:
    """The real plugins on the gate profile's selection, collected only (no lab)."""
    devices = write_inventory([
        {"name": "rec-nvr", "kind": "emulated", "model": "DS-7608NI-K2",
         "firmware": "V4.21.000"},
        {"name": "rec-ipc", "kind": "emulated", "model": "DS-2CD2043G2-I", "firmware": "V5.5.82"},
    ])
    alluredir = tmp_path / "allure"
    result = run_pytest(*PLUGIN_ARGS, *get_profile("gate").pytest_args(), *extra,
                        "--devices", str(devices), "--lab-workdir", str(tmp_path / "lab"),
                        "--alluredir", str(alluredir), "--collect-only", "-q",
                        f"--junitxml={tmp_path / 'junit.xml'}")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    info = read_run_info(alluredir)
    assert info is not None
    assert (info.profile, info.trend) == ("gate", trend)
    assert [d["name"] for d in info.devices] == ["rec-nvr", "rec-ipc"]
    assert info.firmware_under_test == ["V4.21.000", "V5.5.82"]
    assert info.inventory == str(devices) and info.exit_status == 0
    assert f"profile=gate\ntrend={trend}\n" in (alluredir / "environment.properties").read_text()
    junit = (tmp_path / "junit.xml").read_text()
    assert f'<property name="trend" value="{trend}" />' in junit


# --- the matrix judges as the gate does ---------------------------------------------------------


def _record(device: str, outcome: str = "passed", kind: str | None = None,
            test: str = "test_x") -> OutcomeRecord:
    return OutcomeRecord(nodeid=f"suites/test_x.py::{test}[{device}]",
                         outcome=outcome, kind=kind, device=device,  # type: ignore[arg-type]
                         reason=f"{outcome} on {device}")


def _info(names: list[str], exit_status: int | None = 1) -> RunInfo:
    return RunInfo(run_id="r1", profile="nightly", trend="nightly",
                   devices=tuple(device_entry(INVENTORY.device(n)) for n in names),
                   exit_status=exit_status)


def test_cells_are_judged_by_the_gate() -> None:
    # dvr-k-v4.30.005 and nvr-v4.30.005 share a firmware string but not a line: two cells.
    names = ["nvr-v4.21.000", "nvr-v4.30.005", "dvr-k-v4.30.005", "ipc-v5.6.0", "ipc-v5.6.3"]
    records = [
        _record("nvr-v4.21.000"), _record("nvr-v4.21.000", test="test_y"),
        _record("nvr-v4.30.005", "failed", "product-defect"),
        _record("nvr-v4.30.005", "error", "infrastructure", test="test_y"),
        _record("dvr-k-v4.30.005", "skipped"),
        _record("ipc-v5.6.0", "error", "infrastructure"), _record("ipc-v5.6.0"),
        # ipc-v5.6.3 ran nothing.
    ]
    matrix = build_matrix(_info(names), records)
    cells = {(c.line, c.firmware): c for c in matrix.cells}
    assert list(cells) == [("dvr-k", "V4.30.005"), ("nvr", "V4.21.000"),
                           ("nvr", "V4.30.005"), ("ipc", "V5.6.0"), ("ipc", "V5.6.3")]
    for (line, firmware), cell in cells.items():
        devices = [INVENTORY.device(n) for n in names
                   if INVENTORY.device(n).line.id.value == line
                   and INVENTORY.device(n).firmware == firmware]
        mine = [r for r in records if r.device in {d.name for d in devices}]
        assert cell.verdict == judge(devices, mine, firmware=firmware, line=line,
                                     pytest_exit=1).verdict
    assert [c.verdict for c in cells.values()] == [
        Verdict.NO_VERDICT, Verdict.PASS, Verdict.DEFECT, Verdict.NO_VERDICT, Verdict.NO_VERDICT]
    defect = cells[("nvr", "V4.30.005")]
    assert (defect.passed, defect.defects, defect.no_verdict) == (0, 1, 1)
    assert [f.kind for f in defect.failing] == ["product-defect", "infrastructure"]
    assert summary(matrix)["totals"] == {"PASS": 1, "DEFECT": 1, "NO_VERDICT": 3}


def test_a_run_that_did_not_finish_passes_nowhere() -> None:
    matrix = build_matrix(_info(["nvr-v4.21.000"], exit_status=2), [_record("nvr-v4.21.000")])
    assert [c.verdict for c in matrix.cells] == [Verdict.NO_VERDICT]
    assert matrix.run_problem == "the run was interrupted"
    assert "the run gave no verdict: the run was interrupted" in render_html(matrix)


def test_a_failure_on_no_device_of_the_run_is_told_apart() -> None:
    stray = OutcomeRecord(nodeid="suites/test_x.py::test_z", outcome="error",
                          kind="harness", reason="broken fixture")
    matrix = build_matrix(_info(["nvr-v4.21.000"]), [_record("nvr-v4.21.000"), stray])
    assert [c.verdict for c in matrix.cells] == [Verdict.PASS]
    assert matrix.other_failures and "broken fixture" in matrix.other_failures[0]


def test_html_escapes_what_the_run_wrote() -> None:
    record = _record("nvr-v4.21.000", "failed", "product-defect",
                     test="test_x[<script>alert(1)</script>]")
    page = render_html(build_matrix(_info(["nvr-v4.21.000"]), [record]))
    assert "<script>alert" not in page and "&lt;script&gt;" in page


def test_allure_names_of_a_node_id() -> None:
    assert allure_key("suites/test_a.py::test_b[nvr-x-V4]") == (
        "suites.test_a#test_b", "test_b[nvr-x-V4]")
    assert allure_key("suites/sub/test_a.py::TestC::test_d") == (
        "suites.sub.test_a.TestC#test_d", "test_d")


def test_the_run_record_survives_a_round_trip(tmp_path: Path) -> None:
    info = _info(["nvr-v4.21.000", "ipc-v5.7.10"], exit_status=0)
    info.write(tmp_path)
    back = read_run_info(tmp_path)
    assert back == info
    assert [d.name for d in back.device_entries()] == ["nvr-v4.21.000", "ipc-v5.7.10"]
    (tmp_path / RUN_INFO_FILE).write_text("[1, 2]")
    assert read_run_info(tmp_path) is None


# --- fixture entries ----------------------------------------------------------------------------


def _container(befores: list[dict[str, Any]], afters: list[dict[str, Any]]) -> dict[str, Any]:
    return {"uuid": str(uuid.uuid4()), "children": ["t1"], "befores": befores, "afters": afters}


def test_only_the_fixture_entries_that_say_something_are_kept(tmp_path: Path) -> None:
    bring_up = {"name": "dut", "status": "passed",
                "steps": [{"name": "Bring nvr to active", "status": "passed"}]}
    plumbing = [_container([{"name": "browser_type_launch_args", "status": "passed"}],
                           [{"name": "browser_type_launch_args::<lambda>"}]),
                _container([{"name": "page", "status": "passed"}],
                           [{"name": "page::1", "status": "passed"}])]
    telling = [_container([bring_up], [{"name": "dut::<lambda>"}]),
               _container([{"name": "browser", "status": "broken",
                            "statusDetails": {"message": "no Chromium"}}], []),
               _container([], [{"name": "lab::stop", "status": "passed",
                                "attachments": [{"name": "lab log", "source": "a.txt"}]}])]
    for index, container in enumerate(plumbing + telling):
        (tmp_path / f"{index}-container.json").write_text(json.dumps(container))
    assert prune_fixtures(tmp_path) == (3, 5)
    left = sorted(tmp_path.glob("*-container.json"))
    assert [p.name for p in left] == ["2-container.json", "3-container.json", "4-container.json"]
    first = json.loads(left[0].read_text())
    assert (first["befores"], first["afters"], first["children"]) == ([bring_up], [], ["t1"])
    assert prune_fixtures(tmp_path) == (3, 0), "a second pass changes nothing"


# --- categories --------------------------------------------------------------------------------


def test_categories_in_allure_3_form_match_like_allure_2() -> None:
    allure2 = categories()
    rules = allure3_categories()
    assert [r["name"] for r in rules] == [c["name"] for c in allure2]
    assert rules[0] == {"id": "product-defect", "name": "Product defect",
                        "matchers": {"statuses": ["failed"]},
                        "groupBy": [{"label": "product_line"}, {"label": "firmware"}]}
    infrastructure = next(r for r in rules if r["name"] == "Infrastructure")
    message = infrastructure["matchers"]["message"]
    # JavaScript reads it as Python does: no inline flags, anchored at the class name.
    assert "(?s)" not in message and message.startswith("^")
    assert re.search(message, "harness.errors.InfrastructureError: lab down\nmore")
    assert not re.search(message, "KeyError: harness.errors.InfrastructureError: x")
    assert allure3_categories(allure2) == rules


# --- the history limit, through the real allure ---------------------------------------------------


def _one_result_run(folder: Path, index: int) -> Path:
    results = folder / f"results-{index}"
    results.mkdir()
    ident = str(uuid.uuid4())
    (results / f"{ident}-result.json").write_text(json.dumps({
        "uuid": ident, "historyId": "h1", "name": "test_a", "fullName": "suites.t#test_a",
        "status": "passed", "start": 1000 * index, "stop": 1000 * index + 5,
        "labels": [{"name": "product_line", "value": "nvr"},
                   {"name": "firmware", "value": "V4.21.000"}],
    }))
    return results


def test_the_dev_trend_keeps_five_runs(tmp_path: Path) -> None:
    history = tmp_path / "history" / "dev.jsonl"
    for index in range(6):
        generate_report(_one_result_run(tmp_path, index), tmp_path / "report",
                        history=history, trend="dev")
    assert history_runs(history) == 5
