"""The device state graph against a real emulated lab: only missing transitions run, the
probe tells each state apart, an unknown password and a lockout are recovered through the
lab controller, and a device that cannot be brought up is quarantined for the run."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from harness.clients.isapi import IllegalLoginLock, LoginRejected, rebooted_since
from harness.clients.isapi.documents import DeviceStatus
from harness.errors import DeviceError, HarnessError, retry
from harness.evidence import Secrets
from harness.inventory.load import parse_inventory
from harness.lab.dut import DeviceUnderTest
from harness.lab.host import start_lab, stop_lab
from harness.lab.session import LabSession
from harness.lab.states import (
    ACTIVATE,
    FACTORY_RESET,
    POWER_CYCLE,
    RESERVE_EMAIL,
    RESET_BUTTON,
    Quarantine,
    Quarantined,
    State,
    TransitionLog,
    bring,
    next_transition,
    probe,
    satisfies,
    settle_seen_boot,
    wait_until_inactive,
)

INVENTORY = """
devices:
  - {name: nvr, kind: emulated, model: DS-7608NI-K2, firmware: V4.21.000}
  - {name: ipc-old, kind: emulated, model: DS-2CD2043G2-I, firmware: V5.5.82}
  - {name: nvr-down, kind: emulated, model: DS-7616NI-I2, firmware: V4.22.005}
leases: {kind: file, directory: LEASES}
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabSession]:
    workdir = tmp_path_factory.mktemp("states-lab")
    inventory = parse_inventory(INVENTORY.replace("LEASES", str(workdir / "leases")))
    endpoints = start_lab(inventory, workdir)
    try:
        yield LabSession(inventory=inventory, workdir=workdir, endpoints=endpoints, run_id="test")
    finally:
        stop_lab(workdir)


@pytest.fixture
def log(lab: LabSession) -> TransitionLog:
    return TransitionLog(lab.workdir, run_id="test")


@pytest.fixture
def quarantine(lab: LabSession) -> Quarantine:
    return Quarantine(lab.workdir)


def _bring(dut: DeviceUnderTest, target: State, log: TransitionLog,
           quarantine: Quarantine) -> list[str]:
    return bring(dut, target, log=log, quarantine=quarantine, attempts=2, delay=0.1)


def test_graph_edges() -> None:
    assert next_transition(State.INACTIVE, State.EMAIL_RESERVED) is ACTIVATE
    assert next_transition(State.ACTIVE, State.EMAIL_RESERVED) is RESERVE_EMAIL
    assert next_transition(State.EMAIL_RESERVED, State.INACTIVE) is FACTORY_RESET
    assert next_transition(State.UNKNOWN_PASSWORD, State.ACTIVE) is RESET_BUTTON
    assert next_transition(State.LOCKED, State.ACTIVE) is POWER_CYCLE
    assert next_transition(State.LOCKED, State.EMAIL_RESERVED) is POWER_CYCLE
    # The reset button needs no login: one boot instead of a power cycle and a reset.
    assert next_transition(State.LOCKED, State.INACTIVE) is RESET_BUTTON
    assert satisfies(State.EMAIL_RESERVED, State.ACTIVE)
    assert not satisfies(State.ACTIVE, State.EMAIL_RESERVED)
    assert not satisfies(State.ACTIVE, State.INACTIVE)
    with pytest.raises(HarnessError, match="unknown device state"):
        State.parse("half-active")


def test_only_missing_transitions_run(lab: LabSession, log: TransitionLog,
                                      quarantine: Quarantine) -> None:
    dut = lab.device("nvr")
    assert probe(dut) is State.INACTIVE
    assert _bring(dut, State.EMAIL_RESERVED, log, quarantine) == ["activate", "reserve_email"]
    assert probe(dut) is State.EMAIL_RESERVED
    assert _bring(dut, State.EMAIL_RESERVED, log, quarantine) == []
    assert _bring(dut, State.ACTIVE, log, quarantine) == []  # an address does no harm
    assert _bring(dut, State.INACTIVE, log, quarantine) == ["factory_reset"]
    assert probe(dut) is State.INACTIVE
    assert _bring(dut, State.ACTIVE, log, quarantine) == ["activate"]
    counted = [e["transition"] for e in log.entries() if e["device"] == "nvr"]
    assert counted == ["activate", "reserve_email", "factory_reset", "activate"]


def test_a_probe_expecting_a_state_agrees_with_the_full_probe(
    lab: LabSession, log: TransitionLog, quarantine: Quarantine
) -> None:
    dut = lab.device("nvr")

    def probed() -> State:
        full = probe(dut)
        for expect in (State.ACTIVE, State.EMAIL_RESERVED):
            assert probe(dut, expect=expect) is full, f"expecting {expect}"
        return full

    _bring(dut, State.INACTIVE, log, quarantine)
    assert probed() is State.INACTIVE
    _bring(dut, State.ACTIVE, log, quarantine)
    assert probed() is State.ACTIVE
    _bring(dut, State.EMAIL_RESERVED, log, quarantine)
    assert probed() is State.EMAIL_RESERVED
    # What it saves, before every test: activateStatus. The fast path proves the password
    # with System/status (challenge + answer; its up time and clock also tell the boot)
    # and meanwhile, on a connection of its own, reads the address, which needs no login
    # on real firmware and so proves nothing alone.
    dut.log.clear()
    probe(dut, expect=State.EMAIL_RESERVED)
    fast = [(e.method, e.url.rsplit("/ISAPI/", 1)[-1], e.status) for e in dut.log]
    dut.log.clear()
    probe(dut)
    assert (len(fast), len(dut.log)) == (3, 4)
    assert [f for f in fast if f[1] == "System/status"] == [
        ("GET", "System/status", 401), ("GET", "System/status", 200)]
    assert ("GET", "Security/email/parameter?format=json", 200) in fast
    assert dut.boot_seen is not None and dut.boot_seen.up_time_s is not None
    password = dut.password
    dut.remember_password("Forgotten-Pass7")
    assert probed() is State.UNKNOWN_PASSWORD  # 3 wrong logins, far below the lock
    dut.remember_password(password)
    # Reset behind the harness's back: it still holds a password the device lost.
    with dut.lab_controller() as controller:
        controller.reset_button("nvr")
    with dut.isapi(login=False) as device:
        wait_until_inactive(device, 30, "the reset button")
    assert dut.known().password == password
    assert probed() is State.INACTIVE


def test_known_credentials_are_shared_and_private(lab: LabSession, log: TransitionLog,
                                                  quarantine: Quarantine) -> None:
    dut = lab.device("nvr")
    _bring(dut, State.ACTIVE, log, quarantine)
    path = lab.workdir / "credentials" / "nvr.json"
    assert path.stat().st_mode & 0o777 == 0o600
    # Another process's view (a new Lab on the same workdir) knows the same password.
    other = LabSession(inventory=lab.inventory, workdir=lab.workdir, endpoints=lab.endpoints)
    assert other.device("nvr").password == dut.password
    assert dut.password in other.secrets


def test_unknown_password_is_recovered_with_the_reset_button(
    lab: LabSession, log: TransitionLog, quarantine: Quarantine
) -> None:
    dut = lab.device("nvr")
    _bring(dut, State.ACTIVE, log, quarantine)
    dut.remember_password("Forgotten-Pass7")
    assert probe(dut) is State.UNKNOWN_PASSWORD
    assert _bring(dut, State.ACTIVE, log, quarantine) == ["reset_button", "activate"]
    assert probe(dut) is State.ACTIVE


def _lock_out(dut: DeviceUnderTest, log: TransitionLog, quarantine: Quarantine) -> None:
    """Active, with a lock after 3 wrong logins, and this client locked out."""
    _bring(dut, State.ACTIVE, log, quarantine)
    with dut.isapi() as device:
        device.set_illegal_login_lock(IllegalLoginLock(enabled=True, max_attempts=3,
                                                       lock_minutes=5))
    with dut.isapi(login=False) as device:
        for _ in range(3):
            with pytest.raises(LoginRejected):
                device.login_digest("Wrong-Pass9")


def test_a_locked_device_is_power_cycled(lab: LabSession, log: TransitionLog,
                                         quarantine: Quarantine) -> None:
    dut = lab.device("ipc-old")
    _lock_out(dut, log, quarantine)
    assert probe(dut) is State.LOCKED
    assert probe(dut, expect=State.ACTIVE) is State.LOCKED
    assert _bring(dut, State.ACTIVE, log, quarantine) == ["power_cycle"]
    assert probe(dut) is State.ACTIVE
    with dut.isapi() as device:
        device.set_illegal_login_lock(IllegalLoginLock(enabled=True, max_attempts=7,
                                                       lock_minutes=30))


def test_a_locked_device_that_must_be_inactive_gets_only_the_reset_button(
    lab: LabSession, log: TransitionLog, quarantine: Quarantine
) -> None:
    dut = lab.device("ipc-old")
    _lock_out(dut, log, quarantine)
    assert probe(dut) is State.LOCKED
    with dut.lab_controller() as controller:
        before = controller.status("ipc-old")[0]
    assert _bring(dut, State.INACTIVE, log, quarantine) == ["reset_button"]
    assert probe(dut) is State.INACTIVE
    with dut.lab_controller() as controller:
        after = controller.status("ipc-old")[0]
    # One boot: the reset, and no power cycle before it.
    assert int(after["factory_resets"]) - int(before["factory_resets"]) == 1
    assert after["power_cycles"] == before["power_cycles"]


def test_failed_bring_up_quarantines_the_device(lab: LabSession, log: TransitionLog,
                                                quarantine: Quarantine) -> None:
    dut = lab.device("nvr-down")
    with dut.lab_controller() as controller:
        controller.power("nvr-down", "off")
    try:
        with pytest.raises(DeviceError):
            _bring(dut, State.ACTIVE, log, quarantine)
        reason = quarantine.reason("nvr-down")
        assert reason is not None and "device" in reason
        assert (quarantine.directory / "nvr-down").stat().st_mode & 0o777 == 0o600
        with pytest.raises(Quarantined, match="quarantined for this run"):
            _bring(dut, State.ACTIVE, log, quarantine)
        # Other devices are not affected.
        assert quarantine.reason("nvr") is None
        quarantine.clear()
        assert quarantine.reason("nvr-down") is None
    finally:
        with dut.lab_controller() as controller:
            controller.power("nvr-down", "on")


def test_email_reserved_is_refused_below_the_threshold(
    lab: LabSession, log: TransitionLog, quarantine: Quarantine
) -> None:
    with pytest.raises(HarnessError, match="reset_by_email=True"):
        _bring(lab.device("ipc-old"), State.EMAIL_RESERVED, log, quarantine)
    assert quarantine.reason("ipc-old") is None


def test_pytest_layer_skips_quarantined_devices(tmp_path: Path) -> None:
    # The marker file is all the fixtures look at; covered end to end by the suites' runs.
    quarantine = Quarantine(tmp_path)
    quarantine.mark("dev", "bring-up to active failed (device): boom\nsecond line")
    assert quarantine.reason("dev") == "bring-up to active failed (device): boom"


def test_quarantine_reason_is_masked_and_private(tmp_path: Path) -> None:
    # The reason becomes a skip reason in every report: no password, no device secret.
    quarantine = Quarantine(tmp_path)
    (tmp_path / "quarantine").mkdir()
    (tmp_path / "quarantine" / "dev").write_text("old")
    (tmp_path / "quarantine" / "dev").chmod(0o644)
    quarantine.mark(
        "dev",
        "bring-up to active failed (device): login as admin/Known-Pass7 refused, answer "
        '{"EmailCertification": {"securityCode": "rt-4f2a9c"}} <sessionID>sid-81d3</sessionID>',
        Secrets(["Known-Pass7"]),
    )
    reason = quarantine.reason("dev")
    assert reason == (
        "bring-up to active failed (device): login as admin/*** refused, answer "
        '{"EmailCertification": {"securityCode": "***"}} <sessionID>***</sessionID>'
    )
    assert (tmp_path / "quarantine" / "dev").stat().st_mode & 0o777 == 0o600


def test_retry_logs_the_failure_masked(caplog: pytest.LogCaptureFixture) -> None:
    calls = []

    def reboot() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise DeviceError("no answer after login with Known-Pass7 "
                              "<securityCode>rt-4f2a9c</securityCode>")
        return "rebooted"

    with caplog.at_level(logging.WARNING, logger="harness.errors"):
        assert retry(reboot, what="reboot dev", attempts=2, delay=0,
                     secrets=Secrets(["Known-Pass7"])) == "rebooted"
    assert "reboot dev failed (device: no answer after login with *** " \
           "<securityCode>***</securityCode>)" in caplog.text
    assert "Known-Pass7" not in caplog.text and "rt-4f2a9c" not in caplog.text


def test_a_young_boot_read_by_the_probe_serves_as_the_baseline_once_old_enough() -> None:
    # A boot 0.5 s old, read 2 s ago (the browser started meanwhile): the rest of the
    # settling wait, then a reboot right after the test starts must still be told (its
    # boot instant moves beyond the clocks' tolerance), without reading the status again.
    clock = datetime.now(UTC)
    seen = DeviceStatus(clock, 0.5)
    read_at = time.monotonic() - 2.0
    assert settle_seen_boot(seen, read_at) is seen
    started = time.monotonic() - read_at  # seconds since the reading: the test starts now
    after_reboot = DeviceStatus(clock + timedelta(seconds=started + 0.6), 0.6)
    assert rebooted_since(seen, after_reboot)
    # Without the wait the same reboot would look like the same boot.
    assert not rebooted_since(seen, DeviceStatus(clock + timedelta(seconds=0.6), 0.6))
    # An old boot serves at once; no reading, or a young one without a clock, does not.
    old = DeviceStatus(clock, 600.0)
    assert settle_seen_boot(old, time.monotonic()) is old
    assert settle_seen_boot(None, read_at) is None
    assert settle_seen_boot(DeviceStatus(None, 0.5), read_at) is None
