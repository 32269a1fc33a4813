"""Harness efficacy: every named firmware defect the emulator can play is caught by the
suites, and the same test passes on a clean twin.

One devices file holds, for every defect `python -m emulator defects` lists, an emulated
device carrying it (alone, or in a group of defects whose catching tests differ and that
do not disturb each other's tests: a group costs one device's run instead of several),
plus clean twins of the same models and firmware; the suites run on it
once, in a subprocess with two xdist workers, and the JUnit XML is the evidence. A defect
counts as caught only by a failure of the kind product-defect, as the run records
(`harness.run.records`) classify the exception in the process that raised it: a timeout, a
lab outage or a harness bug on the defective device proves nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from typing import Any, Final

import pytest
import yaml

from harness.errors import FailureKind
from harness.run.records import read_records

REPO: Final = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S: Final = 1500
# Each defect on the device that can show it: the reserved-e-mail gate's off-by-one only
# shows one minor version below the NVR threshold (V4.21.000), the recorders' stricter
# password rules only from V4.30, everything else on an NVR at the threshold. A clean twin
# of each model and firmware runs beside them.
AT_THRESHOLD: Final = {"model": "DS-7608NI-K2", "firmware": "V4.21.000"}
BELOW_THRESHOLD: Final = {"model": "DS-7604NI-E1", "firmware": "V4.20.000"}
STRICT_RULES: Final = {"model": "DS-7608NI-K2", "firmware": "V4.30.005"}
TWIN_AT, TWIN_BELOW, TWIN_STRICT = "twin-nvr", "twin-old", "twin-strict"
TWINS: Final = {TWIN_AT: AT_THRESHOLD, TWIN_BELOW: BELOW_THRESHOLD, TWIN_STRICT: STRICT_RULES}
PLACED: Final = {"gate_off_by_one": TWIN_BELOW, "recorder_2020_rules_missing": TWIN_STRICT}


def twin_of(defect: str) -> str:
    """The clean twin of the device that carries `defect` (same model and firmware)."""
    return PLACED.get(defect, TWIN_AT)
# Defects that share a device. In a group every defect has catching tests of its own, and
# none breaks the bring-up of the others' tests (a lost feature fails the e-mail tests at
# their bring-up, so it shares only with defects caught without an address).
GROUPS: Final[dict[str, tuple[str, ...]]] = {
    "g-no-feature": ("feature_lost_at_threshold", "password_length_unchecked",
                     "reactivation_allowed", "lock_settings_unchecked",
                     "lock_survives_reboot"),
    "g-after-state-a": ("lock_defaults_wrong", "code_case_sensitive",
                        "session_survives_password_reset", "email_lost_on_reboot",
                        "reserved_email_format_unchecked", "email_shown_unmasked",
                        "code_validity_short", "gui_reset_page_before_activation",
                        "gui_cookies_unchecked"),
    "g-after-state-b": ("code_prefix_compared", "lock_count_survives_reset",
                        "basic_reset_drops_email", "reset_skips_password_rules",
                        "reserved_email_length_unchecked", "full_reset_keeps_email"),
}
# QA's claim: the test(s) meant to catch each defect. Any one of them catching it counts.
CATCHING: Final[dict[str, tuple[str, ...]]] = {
    "code_mail_never_sent": ("test_reset_by_email_api", "test_reset_by_email_in_gui"),
    "code_reusable": ("test_code_is_single_use",),
    "code_survives_email_change": ("test_code_void_after_email_change",),
    "code_survives_new_qr": ("test_code_void_after_new_qr",),
    "code_survives_reboot": ("test_code_void_after_reboot",),
    "email_change_without_password": ("test_wrong_admin_password_refused_and_counted",
                                      "test_wrong_admin_password_refused_in_gui"),
    "gate_off_by_one": ("test_below_threshold_api_answers_not_support",
                        "test_below_threshold_gui_has_no_reserved_email_option"),
    "gui_confirm_mismatch": ("test_confirm_mismatch_refused",),
    "lockout_never_engages": ("test_lockout_after_configured_wrong_passwords",),
    "old_password_valid_after_reset": ("test_reset_by_email_api", "test_reset_by_email_in_gui",
                                       "test_reset_by_export_channel"),
    "qr_not_regenerated": ("test_code_void_after_new_qr",),
    "risky_password_accepted": ("test_risky_password_refused_by_api",
                                "test_risky_password_refused_in_gui"),
    "strength_bar_wrong": ("test_strength_bar_levels",),
    "gui_reset_page_before_activation": ("test_reset_wizard_leads_to_activation_while_inactive",),
    "gui_cookies_unchecked": ("test_login_refused_without_cookies",),
    "recorder_2020_rules_missing": ("test_recorder_password_rules_by_firmware",),
    "wrong_code_limit_missing": ("test_wrong_code_limit",),
    "feature_lost_at_threshold": ("test_at_or_above_threshold_api_offers_reset",
                                  "test_at_or_above_threshold_gui_offers_reserved_email"),
    "password_length_unchecked": ("test_password_length_refused_by_api",),
    "reactivation_allowed": ("test_activate_again_refused",),
    "lock_settings_unchecked": ("test_lock_settings_range",),
    "lock_survives_reboot": ("test_lockout_after_configured_wrong_passwords",),
    "lock_defaults_wrong": ("test_full_factory_reset_clears_password_and_email",),
    "code_case_sensitive": ("test_code_format_rules",),
    "session_survives_password_reset": ("test_reset_by_email_api",),
    "email_lost_on_reboot": ("test_code_void_after_reboot",),
    "reserved_email_format_unchecked": ("test_invalid_reserved_email_refused",),
    "email_shown_unmasked": ("test_reserve_email_api_plain_and_encrypted",),
    "code_validity_short": ("test_at_or_above_threshold_api_offers_reset",),
    "code_prefix_compared": ("test_code_format_rules",),
    "lock_count_survives_reset": ("test_reset_by_email_api",),
    "basic_reset_drops_email": ("test_basic_factory_reset_keeps_password_and_email",),
    "reset_skips_password_rules": ("test_reset_refuses_risky_password",),
    "reserved_email_length_unchecked": ("test_invalid_reserved_email_refused",),
    "full_reset_keeps_email": ("test_full_factory_reset_clears_password_and_email",),
    "email_dropped_after_reset": ("test_reset_by_email_api",),
    "crash_on_email_save": ("test_reserve_email_api_plain_and_encrypted",
                            "test_invalid_reserved_email_refused",
                            "test_code_void_after_email_change"),
}


def emulator_defects() -> list[str]:
    """The named defects, as the emulator's command line lists them."""
    listing = subprocess.run([sys.executable, "-m", "emulator", "defects"], cwd=REPO,
                             capture_output=True, text=True, timeout=60, check=True).stdout
    return [line.split()[0] for line in listing.splitlines() if line.strip()]


def device_name(defect: str) -> str:
    """The device that carries `defect`: its group's, else one of its own."""
    group = next((name for name, members in GROUPS.items() if defect in members), None)
    return group or "d-" + defect.replace("_", "-")


def efficacy_inventory(defects: list[str], leases: Path) -> dict[str, Any]:
    carried: dict[str, list[str]] = defaultdict(list)
    for d in defects:
        carried[device_name(d)].append(d)
    devices = [
        {"name": name, "kind": "emulated", "defects": members,
         **TWINS[twin_of(members[0])]}
        for name, members in carried.items()
    ]
    devices += [{"name": twin, "kind": "emulated", **spec} for twin, spec in TWINS.items()]
    return {"devices": devices, "mailbox": {"kind": "smtp-sink"},
            "cloud": {"kind": "emulated"}, "lab_controller": {"kind": "emulated"},
            "leases": {"kind": "file", "directory": str(leases)}}


def case_key(name: str) -> tuple[str, str]:
    """(test function, device name) of a test name or node id such as
    `suites/test_x.py::test_y[d-code-reusable-DS-7608NI-K2-V4.21.000]`."""
    function, _, params = name.rpartition("::")[2].partition("[")
    return function, params.split("-DS-")[0] if params else ""


def failure_kinds(records: Path) -> dict[tuple[str, str], FailureKind | None]:
    """(test function, device name) → the failure kind of each failed or erred test, as
    the run records classified its exception."""
    return {case_key(r.nodeid): r.kind for r in read_records(records)
            if r.outcome in ("failed", "error")}


def outcomes(junit: Path, messages: dict[tuple[str, str], str] | None = None
             ) -> dict[tuple[str, str], str]:
    """(test function, device name) → passed / failure / error / skipped; the first line
    of each failure's message into `messages` when given."""
    found: dict[tuple[str, str], str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        function, device = case_key(case.get("name", ""))
        kinds = [child.tag for child in case]
        status = next((k for k in ("failure", "error", "skipped") if k in kinds), "passed")
        if messages is not None and status in ("failure", "error"):
            bad = next(child for child in case if child.tag == status)
            messages[(function, device)] = (bad.get("message") or "").splitlines()[0][:300]
        # A test can both fail and error (in teardown): the worst outcome wins.
        if (function, device) not in found or found[(function, device)] == "passed":
            found[(function, device)] = status
    return found


@pytest.mark.timeout(RUN_TIMEOUT_S + 60)
def test_every_defect_is_caught_and_clean_twins_pass(tmp_path: Path) -> None:
    defects = emulator_defects()
    unclaimed = sorted(set(defects) - set(CATCHING))
    assert not unclaimed, f"no catching test named for defects {unclaimed}"
    devices = tmp_path / "efficacy.yaml"
    devices.write_text(yaml.safe_dump(efficacy_inventory(defects, tmp_path / "leases")))
    junit = tmp_path / "junit.xml"
    records = tmp_path / "records"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "suites", "--devices", str(devices), "-n", "2",
         "--dist", "loadgroup", "-p", "no:cacheprovider", "-q", "--junitxml", str(junit),
         "-p", "fixtures.records", "--run-records", str(records),
         "--lab-workdir", str(tmp_path / "lab"), "--mail-timeout", "8", "--timeout", "300"],
        cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}, check=False,
    )
    assert junit.is_file(), run.stdout[-3000:] + run.stderr[-3000:]
    messages: dict[tuple[str, str], str] = {}
    results = outcomes(junit, messages)
    assert (records / "records.jsonl").is_file() or any(records.glob("records-*.jsonl")), (
        "the run wrote no outcome records: " + run.stdout[-3000:] + run.stderr[-3000:])
    kinds = failure_kinds(records)

    def caught_by(test: str, device: str) -> bool:
        # A failed call whose exception is a product defect (an AssertionError of a suite
        # or harness.errors.ProductDefect); any other failure is not the defect showing.
        return (results.get((test, device)) == "failure"
                and kinds.get((test, device)) == "product-defect")

    table: dict[str, list[str]] = defaultdict(list)
    missed = []
    for defect in defects:
        twin = twin_of(defect)
        for test in CATCHING[defect]:
            if caught_by(test, device_name(defect)) and results.get((test, twin)) == "passed":
                table[defect].append(test)
        if not table[defect]:
            seen = {t: (results.get((t, device_name(defect))),
                        kinds.get((t, device_name(defect))),
                        messages.get((t, device_name(defect))),
                        results.get((t, twin)))
                    for t in CATCHING[defect]}
            missed.append(f"{defect}: (defective, its failure kind, message, twin) = {seen}")
    print("\ndefect -> catching test(s) (a product-defect failure on the defective device, "
          "passed on its twin)")
    for defect in defects:
        print(f"  {defect:32} {', '.join(table[defect]) or 'NOT CAUGHT'}")

    clean_problems = sorted(f"{test}[{device}]: {status}: {messages.get((test, device))}"
                            for (test, device), status in results.items()
                            if device in TWINS
                            and status in ("failure", "error"))
    # A twin that skips a test its defective siblings ran gives no clean baseline: the
    # defect cannot be told from the model and firmware then.
    ran_on_defective = {(test, twin_of(defect))
                        for (test, device), status in results.items() if status != "skipped"
                        for defect in defects if device == device_name(defect)}
    clean_problems += sorted(
        f"{test}[{device}]: skipped on the twin but ran on a defective device of its model "
        f"and firmware"
        for (test, device), status in results.items()
        if status == "skipped" and (test, device) in ran_on_defective)
    assert not clean_problems, f"clean twins failed or skipped: {clean_problems}"
    assert not missed, "defects not caught:\n" + "\n".join(missed)
