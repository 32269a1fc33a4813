"""The order of each device's tests: needs-inactive first, the activating ones next (N of
them cost N - 1 resets), the lockout last; device blocks, other tests in place; and the
real suites collected in that order."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.lab.states import State
from harness.run.ordering import Cost, DeviceTest, arrange, from_marks, minimum, order, replay

RunPytest = Callable[..., subprocess.CompletedProcess[str]]
DEFAULT = Path(__file__).resolve().parents[2] / "devices.yaml"
INACTIVE, ACTIVE, LOCKED = State.INACTIVE, State.ACTIVE, State.LOCKED
RESERVED = State.EMAIL_RESERVED

# A device above the threshold as the suites see it, in pytest's own order (function by
# function, module by module).
SUITES_DEVICE = [
    DeviceTest("test_strength_bar_levels", INACTIVE),
    DeviceTest("test_confirm_mismatch_refused", INACTIVE),
    DeviceTest("test_risky_password_refused_in_gui", INACTIVE),
    DeviceTest("test_risky_password_refused_by_api", INACTIVE),
    DeviceTest("test_activate_in_gui_without_email", INACTIVE, leaves=ACTIVE),
    DeviceTest("test_activate_in_gui_with_email", INACTIVE, leaves=RESERVED),
    DeviceTest("test_at_or_above_threshold_api_offers_reset", RESERVED),
    DeviceTest("test_reserve_email_in_gui", ACTIVE, leaves=RESERVED),
    DeviceTest("test_wrong_admin_password_refused_and_counted", RESERVED),
    DeviceTest("test_reset_by_email_api", RESERVED),
    DeviceTest("test_lockout_after_configured_wrong_passwords", ACTIVE, leaves=LOCKED),
    DeviceTest("test_code_is_single_use", RESERVED),
    DeviceTest("test_code_void_after_reboot", RESERVED, reboots=1),
    DeviceTest("test_code_void_after_new_qr", RESERVED),
]


def _names(tests: list[DeviceTest]) -> list[str]:
    return [tests[i].name for i in order(tests)]


def test_marks_declare_what_a_test_needs_and_leaves() -> None:
    marks = [pytest.mark.state("active").mark, pytest.mark.leaves("locked").mark,
             pytest.mark.state("inactive").mark]  # nearest first: the module's comes last
    assert from_marks("t", marks) == DeviceTest("t", ACTIVE, leaves=LOCKED)
    assert from_marks("t", [pytest.mark.reboots().mark]).reboots == 1
    assert from_marks("t", [pytest.mark.reboots(times=2).mark]).reboots == 2
    assert from_marks("t", [pytest.mark.flow("x").mark]) == DeviceTest("t")
    for bad in (pytest.mark.leaves("half-active"), pytest.mark.state("locked"),
                pytest.mark.reboots(0), pytest.mark.leaves()):
        with pytest.raises(HarnessError, match="t: "):
            from_marks("t", [bad.mark])


def test_the_lockout_runs_last_and_costs_no_power_cycle() -> None:
    names = _names(SUITES_DEVICE)
    assert names[-1] == "test_lockout_after_configured_wrong_passwords"
    assert names[-2] == "test_code_void_after_reboot"
    as_collected = replay(SUITES_DEVICE)
    assert as_collected.power_cycles == 1  # the lockout in the middle locks the next test out
    ordered = replay(SUITES_DEVICE[i] for i in order(SUITES_DEVICE))
    assert ordered == Cost(factory_resets=1, power_cycles=0, reboots=1)
    assert ordered == minimum(SUITES_DEVICE)


def test_needs_inactive_first_and_activating_tests_cost_one_reset_fewer_than_them() -> None:
    tests = [
        DeviceTest("activates_with_email", INACTIVE, leaves=RESERVED),
        DeviceTest("needs_active", ACTIVE),
        DeviceTest("activates", INACTIVE, leaves=ACTIVE),
        DeviceTest("looks_at_the_activation_page", INACTIVE),
        DeviceTest("activates_too", INACTIVE, leaves=ACTIVE),
        DeviceTest("refuses_a_risky_password", INACTIVE),
    ]
    assert _names(tests) == ["looks_at_the_activation_page", "refuses_a_risky_password",
                             "activates", "activates_too", "activates_with_email",
                             "needs_active"]
    # Replaying the states: 3 activating tests, 2 resets; the collection order pays 3.
    assert replay(tests[i] for i in order(tests)) == Cost(factory_resets=2)
    assert replay(tests) == Cost(factory_resets=3)
    assert minimum(tests) == Cost(factory_resets=2)


def test_a_locked_device_is_reset_not_power_cycled_when_it_must_become_inactive() -> None:
    lockout = DeviceTest("lockout", ACTIVE, leaves=LOCKED)
    assert replay([lockout, DeviceTest("needs_inactive", INACTIVE)]) == Cost(factory_resets=1)
    assert replay([lockout, DeviceTest("needs_reserved", RESERVED)]) == Cost(power_cycles=1)
    assert replay([lockout, DeviceTest("no_state")]) == Cost()


def test_more_lockouts_than_one_go_before_a_reset_that_clears_them() -> None:
    tests = [DeviceTest("lockout_api", ACTIVE, leaves=LOCKED),
             DeviceTest("lockout_gui", ACTIVE, leaves=LOCKED),
             DeviceTest("activates", INACTIVE, leaves=ACTIVE),
             DeviceTest("activates_with_email", INACTIVE, leaves=RESERVED),
             DeviceTest("needs_reserved", RESERVED)]
    assert _names(tests) == ["activates", "lockout_api", "activates_with_email",
                             "needs_reserved", "lockout_gui"]
    assert replay(tests[i] for i in order(tests)) == minimum(tests) == Cost(factory_resets=1)


def test_ties_keep_the_collection_order() -> None:
    tests = [*(DeviceTest(f"reserved_{k}", RESERVED) for k in range(5)),
             DeviceTest("active", ACTIVE)]
    assert order(tests) == [5, 0, 1, 2, 3, 4]
    assert order(tests) == order(list(tests))  # the same input, the same order


def test_devices_become_blocks_and_tests_without_a_device_keep_their_places() -> None:
    entries: list[tuple[str | None, DeviceTest]] = [
        ("nvr", DeviceTest("nvr_lockout", ACTIVE, leaves=LOCKED)),
        (None, DeviceTest("unit_test_1")),
        ("ipc", DeviceTest("ipc_lockout", ACTIVE, leaves=LOCKED)),
        ("nvr", DeviceTest("nvr_activation_page", INACTIVE)),
        (None, DeviceTest("unit_test_2")),
        ("ipc", DeviceTest("ipc_activation_page", INACTIVE)),
        ("nvr", DeviceTest("nvr_reserved", RESERVED)),
    ]
    ran = [entries[i][1].name for i in arrange(entries)]
    assert ran == ["nvr_activation_page", "unit_test_1", "nvr_reserved", "nvr_lockout",
                   "unit_test_2", "ipc_activation_page", "ipc_lockout"]
    assert arrange([]) == []


def test_the_real_suites_collect_in_the_cheapest_order(run_pytest: RunPytest,
                                                       tmp_path: Path) -> None:
    # A workdir of its own: a collection clears the quarantine of the workdir it uses.
    result = run_pytest("suites", "--collect-only", "-q", "--devices", str(DEFAULT),
                        "--lab-workdir", str(tmp_path / "lab"))
    assert result.returncode == 0, result.stdout + result.stderr
    ids = [line for line in result.stdout.splitlines() if "::" in line]
    device = [i for i, line in enumerate(ids) if "[nvr-v4.21.000-" in line]
    assert device == list(range(device[0], device[0] + len(device))), "one block per device"
    names = [ids[i].split("::", 1)[1].split("[", 1)[0] for i in device]
    assert set(names[:6]) == {"test_strength_bar_levels", "test_confirm_mismatch_refused",
                              "test_risky_password_refused_in_gui",
                              "test_risky_password_refused_by_api",
                              "test_password_length_refused_by_api",
                              "test_reset_wizard_leads_to_activation_while_inactive"}
    # The three tests that use up an inactive device, one factory reset apart.
    assert names[6:9] == ["test_activate_in_gui_without_email",
                          "test_recorder_password_rules_by_firmware",
                          "test_activate_in_gui_with_email"]
    # The tests that leave a lock, a reset or a reboot behind go last.
    assert names[-3:] == ["test_lockout_after_configured_wrong_passwords",
                          "test_basic_factory_reset_keeps_password_and_email",
                          "test_code_void_after_reboot"]
    assert len(names) == 32  # every suite test of an NVR at its threshold
