"""Issue 17 item 5, progress: what `hil run` shows while tests run. Where stdout is not a
terminal, one line per finished test (outcome, test, device, duration) and a line at
least every heartbeat while nothing finishes, naming what each worker waits for and
how long it may still wait; on a terminal, a live view with the same wait counted down.
Long waits (mail, boot, leases) announce themselves. The views are tested with a clock
of their own; real runs show a mail wait in a log and on a pseudo-terminal (bounded by
their subprocess limits, no elapsed time asserted)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cli_helpers import HIL, emulated, hil, run_on_a_terminal, write_inventory

from harness.run.progress import PlainProgress, activity_text, describe, duration
from harness.run.records import Activity, OutcomeRecord, read_activity
from harness.waits import Wait, add_listener, remove_listener, waiting

T0 = 1_000_000.0


def record(nodeid: str, outcome: str = "passed", *, worker: str = "gw0", finished: float = T0,
           **extra: object) -> OutcomeRecord:
    return OutcomeRecord.from_dict({"nodeid": nodeid, "outcome": outcome, "worker": worker,
                                    "finished": finished, "duration_s": 2.5, **extra})


def test_one_line_per_finished_test_with_outcome_device_and_duration() -> None:
    plain = PlainProgress("hil run", started=T0)
    first = record("suites/t.py::test_a[nvr-x]", device="nvr-x")
    assert plain.update(T0 + 1, [], None, []) == []
    lines = plain.update(T0 + 2, [first], 3, [])
    assert lines == ["hil run: 3 tests collected",
                     "[1/3] PASSED on nvr-x in 2.5 s: suites/t.py::test_a[nvr-x]"]
    failed = record("suites/t.py::test_b[ipc-y]", "failed", worker="gw1", device="ipc-y",
                    kind="product-defect", reason="no mail", finished=T0 + 3)
    assert plain.update(T0 + 4, [first, failed], 3, []) == [
        "[2/3] FAILED (product-defect) on ipc-y in 2.5 s: suites/t.py::test_b[ipc-y]: no mail"]
    # Nothing new: nothing said again.
    assert plain.update(T0 + 5, [first, failed], 3, []) == []


def test_records_of_two_workers_are_each_said_once_whatever_their_order() -> None:
    """Workers append to their own files: the read order is by worker, not by time."""
    plain = PlainProgress("hil run", started=T0)
    a = record("t.py::a", worker="gw0", finished=T0 + 1)
    c = record("t.py::c", worker="gw1", finished=T0 + 2)
    plain.update(T0 + 2, [a, c], 3, [])
    b = record("t.py::b", worker="gw0", finished=T0 + 3)
    assert plain.update(T0 + 4, [a, b, c], 3, []) == ["[3/3] PASSED in 2.5 s: t.py::b"]


def test_a_heartbeat_while_nothing_finishes_names_each_wait() -> None:
    plain = PlainProgress("hil run", started=T0, every=60)
    busy = [
        Activity("gw0", "suites/r.py::test_reset[nvr-x]", "nvr-x", started=T0 + 5,
                 wait="a mail to nvr-x@hil.test", wait_started=T0 + 50, wait_deadline=T0 + 110),
        Activity("gw1"),
    ]
    assert plain.update(T0 + 10, [], 2, busy) == ["hil run: 2 tests collected"]
    assert plain.update(T0 + 69, [], 2, busy) == []
    lines = plain.update(T0 + 71, [], 2, busy)
    assert lines == [
        "... 0/2 finished (0 passed, 0 failed, 0 skipped), 1m11s elapsed; gw0: test_reset[nvr-x] "
        "on nvr-x for 1m06s, waiting for a mail to nvr-x@hil.test (39.0 s left)"]
    # The next one a heartbeat later, not at every poll.
    assert plain.update(T0 + 100, [], 2, busy) == []
    assert len(plain.update(T0 + 131, [], 2, busy)) == 1


def test_a_heartbeat_before_collection_says_so() -> None:
    plain = PlainProgress("hil run", started=T0, every=60)
    assert plain.update(T0 + 61, [], None, []) == [
        "... 0/? finished (0 passed, 0 failed, 0 skipped), 1m01s elapsed; "
        "starting (lab, collection)"]


def test_countdown_text() -> None:
    waiting_worker = Activity("main", "a.py::test_x", None, started=T0, wait="a lease on nvr-x",
                              wait_started=T0, wait_deadline=T0 + 900)
    assert activity_text(waiting_worker, T0 + 30) == (
        "main: test_x for 30.0 s, waiting for a lease on nvr-x (14m30s left)")
    assert activity_text(waiting_worker, T0 + 1000).endswith("(0.0 s left)")
    assert activity_text(Activity("gw3"), T0) == "gw3: between tests"
    assert duration(7322) == "2h02m"
    assert describe(record("a.py::t", "skipped", reason="quarantined")) == (
        "SKIPPED in 2.5 s: a.py::t: quarantined")


def test_waits_announce_themselves_innermost_first() -> None:
    seen: list[Wait | None] = []
    with waiting("nobody listens", 5):
        pass  # free: no listener, nothing recorded
    add_listener(seen.append)
    try:
        with waiting("a reboot", 120), waiting("the device to answer", 60):
            pass
    finally:
        remove_listener(seen.append)
    assert [w.what if w else None for w in seen] == [
        "a reboot", "the device to answer", "a reboot", None]
    first = seen[0]
    assert first is not None and first.deadline - first.started == 120


def test_a_real_mail_wait_shows_in_a_log(tmp_path: Path) -> None:
    """A device whose cloud never mails the code: while the test waits for the mail, the
    log's heartbeat names the wait and its time left, then the failure's line follows."""
    inventory = write_inventory(tmp_path, "mail.yaml", [
        emulated("prog-nvr", "DS-7608NI-K2", "V4.21.000", "code_mail_never_sent")])
    output = tmp_path / "out"
    result = hil("run", "--devices", inventory, "--workdir", tmp_path / "lab", "-o", output,
                 "-n", "0", "-k", "test_reset_by_email_api", "--", "--mail-timeout", "15",
                 cwd=tmp_path, env={"HIL_HEARTBEAT_S": "1"}, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    waits = [i for i, ln in enumerate(lines)
             if ln.startswith("... 0/1 finished") and "on prog-nvr for" in ln
             and "waiting for a mail to prog-nvr@" in ln and " left)" in ln]
    assert waits, result.stdout
    failed = next(i for i, ln in enumerate(lines)
                  if ln.startswith("[1/1] FAILED (product-defect) on prog-nvr in "))
    assert waits[-1] < failed
    # The workers' activity files are gone with the run.
    assert read_activity(output / "records") == []
    records = (output / "records" / "records.jsonl").read_text().splitlines()
    assert [json.loads(r)["outcome"] for r in records] == ["failed"]


def test_the_live_view_counts_a_mail_wait_down(tmp_path: Path) -> None:
    """On a terminal: the live view's line for the worker names the test, the device and
    the mail it waits for with the time left; the failure is printed as it happens."""
    inventory = write_inventory(tmp_path, "mail.yaml", [
        emulated("live-nvr", "DS-7608NI-K2", "V4.21.000", "code_mail_never_sent")])
    argv = [str(HIL), "run", "--devices", str(inventory), "--workdir", str(tmp_path / "lab"),
            "-o", str(tmp_path / "out"), "-n", "0", "-k", "test_reset_by_email_api", "--",
            "--mail-timeout", "15"]
    status, shown = run_on_a_terminal(argv, tmp_path, bound_s=300)
    assert status == 1, shown[-3000:]
    assert re.search(r"main: test_reset_by_email_api\[live-nvr-\S+\] on live-nvr for "
                     r"[\d.]+ s, waiting for a mail to live-nvr@\S+ \([\d.]+ s left\)", shown), (
        shown[-3000:])
    assert "FAILED (product-defect) on live-nvr in " in shown
    assert "Outcomes per product line and firmware" in shown
    assert "Traceback" not in shown
