"""Device states: a small graph, a cheap probe per state, and only the missing transitions.

    INACTIVE --activate--> ACTIVE --reserve_email--> EMAIL_RESERVED
       ^                                                   |
       +---------- factory_reset (ISAPI, password known) --+
       +---------- reset_button (lab controller, password unknown)
    LOCKED --power_cycle--> (probe again)      a reboot clears the illegal-login lock
    LOCKED --reset_button--> INACTIVE          when inactive is the target: one boot, not two

`probe` asks the device where it is (`/SDK/activateStatus`, then one login with the known
password, then the reserved-address GET, which needs no login); `bring` runs the
transitions still missing to reach a target and counts them (device work is what a run
should save). Transitions are retried only on infrastructure and device failures
(`harness.errors.retry`); a login never is. A device whose bring-up fails that way is
quarantined for the run (`harness.lab.runlog`): a marker file in the lab workdir that
every worker sees, so its later tests are skipped with the reason.

`bring` may run in a thread of its own while the test's browser starts (fixtures.devices):
it and what it calls speak ISAPI, SSH and the lab controller only, never Playwright (its
sync API belongs to the thread that started it) nor Allure (whose steps are per thread).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, wait
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from harness.clients.isapi import IsapiClient, IsapiError, LoginRejected
from harness.clients.isapi.documents import DeviceStatus
from harness.errors import (
    DeviceError,
    HarnessError,
    InfrastructureError,
    ProductDefect,
    failure_kind,
    retry,
)
from harness.flows import masked_matches
from harness.lab.dut import DeviceUnderTest
from harness.lab.runlog import Quarantine, TransitionLog
from harness.waits import in_thread, wait_until

BOOT_MARGIN_S: Final = 60.0  # on top of a device's declared boot time


class State(StrEnum):
    """Where a device is. The first three are targets; the last two only probe results."""

    INACTIVE = "inactive"
    ACTIVE = "active"
    EMAIL_RESERVED = "email_reserved"
    LOCKED = "locked"  # the known password is refused because the client is locked out
    UNKNOWN_PASSWORD = "unknown_password"  # active, and the known password is wrong

    @classmethod
    def parse(cls, text: str | State) -> State:
        """`State` from its value (`"email_reserved"`); `HarnessError` naming the choices."""
        try:
            return cls(text)
        except ValueError:
            choices = ", ".join(s.value for s in TARGETS)
            raise HarnessError(f"unknown device state {text!r} (choose from {choices})") from None


TARGETS: Final = (State.INACTIVE, State.ACTIVE, State.EMAIL_RESERVED)
_RANK: Final = {State.INACTIVE: 0, State.ACTIVE: 1, State.EMAIL_RESERVED: 2}


class Quarantined(Exception):
    """The device failed its bring-up earlier in this run; its tests are skipped."""


def satisfies(current: State, target: State) -> bool:
    """Whether a device in `current` serves a test that needs `target`.

    A device with a reserved address is still an active device, so ACTIVE accepts it:
    no test needs "active and certainly without an address", and clearing one costs a
    factory reset.
    """
    return current == target or (target == State.ACTIVE and current == State.EMAIL_RESERVED)


# --- probe -------------------------------------------------------------------------------


def probe(dut: DeviceUnderTest, expect: State | None = None) -> State:
    """Where `dut` is now, at the cost of at most three calls and one login.

    `expect`: where the device should be (the state the test asks for). An active device
    with a known password is then asked one authenticated question (System/status: Digest's
    challenge and the call) and, where an address matters, the reserved-address GET,
    which needs no login, asked beside the login: three requests in two round trips
    instead of five in five, paid before and after every test; any other answer falls
    back to the full probe.
    """
    client = dut.isapi(login=False)
    dut.boot_seen = None
    try:
        known = dut.known()
        if expect in (State.ACTIVE, State.EMAIL_RESERVED) and known.password is not None:
            found = _probe_active(dut, client, known.password, known.email)
            if found is not None:
                return found
        if not client.activated():
            return State.INACTIVE
        if known.password is None:
            return State.UNKNOWN_PASSWORD
        client.use_digest(known.password)
        try:
            _read_boot(dut, client)
        except LoginRejected as rejected:
            return State.LOCKED if rejected.locked else State.UNKNOWN_PASSWORD
        return _reserved_or_active(dut, client, known.email)
    finally:
        client.close()


def _read_boot(dut: DeviceUnderTest, client: IsapiClient) -> None:
    """The authenticated question of a probe: System/status, whose up time and clock tell
    the boot (kept on `dut` with the moment it was read)."""
    dut.boot_seen = client.device_status()
    dut.boot_seen_at = time.monotonic()


def _reserved_or_active(dut: DeviceUnderTest, client: IsapiClient, email: str | None) -> State:
    """On a device logged in to: EMAIL_RESERVED when it shows the address the harness set."""
    if not dut.supports_reserved_email_reset or email is None:
        return State.ACTIVE
    try:
        shown = client.reserved_email()
    except IsapiError:
        return State.ACTIVE
    return _by_address(dut, email, shown)


def _by_address(dut: DeviceUnderTest, email: str, shown: str | None) -> State:
    if shown and email == dut.email and masked_matches(shown, dut.email):
        return State.EMAIL_RESERVED
    return State.ACTIVE


def _probe_active(
    dut: DeviceUnderTest, client: IsapiClient, password: str, email: str | None
) -> State | None:
    """The expected-active fast path of `probe`; None when only the full probe can tell.

    The password is proven by an authenticated question (System/status, whose up time
    and clock also tell the boot: `dut.boot_seen`): the reserved address needs no login
    on real firmware, so it proves nothing by itself.
    """
    client.use_digest(password)
    address = (_address_meanwhile(dut)
               if dut.supports_reserved_email_reset and email is not None else None)
    try:
        _read_boot(dut, client)
        if address is None or email is None:
            return State.ACTIVE
        return _by_address(dut, email, address.result())
    except LoginRejected as rejected:
        if rejected.locked:
            return State.LOCKED
        # Refused: a wrong password, or a device reset behind the harness's back. Asking
        # activateStatus tells them apart without a second wrong login.
        return State.UNKNOWN_PASSWORD if client.activated() else State.INACTIVE
    except IsapiError:
        return None  # e.g. notActivated, or no reserved-address support: ask it all
    finally:
        if address is not None:
            wait([address])  # no request of the probe outlives it


def _address_meanwhile(dut: DeviceUnderTest) -> Future[str | None]:
    """The reserved address as the device shows it, asked on a connection of its own
    while the probe's authenticated question runs: it needs no login, so it need not
    wait for Digest's challenge and answer (one device round trip less per probe)."""

    def ask() -> str | None:
        with dut.isapi(login=False) as other:
            return other.reserved_email()

    return in_thread(ask, f"probe-address-{dut.name}")


# --- what the harness expects: a state found otherwise is a finding (issue 13 item 3) -----


def expected_by_knowledge(dut: DeviceUnderTest) -> State:
    """The state the harness's own record (password and reserved address it set) says the
    device is in: what its last transition, a test's or a bring-up's, left behind."""
    known = dut.known()
    if known.password is None:
        return State.INACTIVE
    if dut.supports_reserved_email_reset and known.email == dut.email:
        return State.EMAIL_RESERVED
    return State.ACTIVE


def unexpected_state(found: State, expected: State) -> str | None:
    """What is wrong when a device is `found` where `expected` was left; None if nothing.

    A device never leaves a state by itself: an address gone, a password refused, a lock
    nobody caused or one kept over a reboot are the firmware's doing.
    """
    if found == expected:
        return None
    if found == State.LOCKED:
        return "the harness's client is locked out"
    if found == State.UNKNOWN_PASSWORD:
        return "the known admin password is refused (not as locked)"
    if found == State.INACTIVE:
        return "the device is inactive (password and address gone)"
    if found == State.ACTIVE and expected == State.EMAIL_RESERVED:
        return "the reserved address is gone"
    if found == State.EMAIL_RESERVED and expected == State.ACTIVE:
        return None  # an address the harness did not record does no harm (see satisfies)
    return f"the device is {found.value}, expected {expected.value}"


# --- transitions ------------------------------------------------------------------------


def _boot_timeout(dut: DeviceUnderTest) -> float:
    return float(getattr(dut.entry, "boot_seconds", 0)) + BOOT_MARGIN_S


def wait_until_inactive(client: IsapiClient, timeout: float, what: str) -> None:
    """Poll until the device answers and reports itself inactive (after a full reset)."""
    deadline = time.monotonic() + timeout

    def inactive() -> bool:
        # A device not up within the time left is a DeviceError of wait_until_up's own.
        return not client.wait_until_up(max(0.1, deadline - time.monotonic()))

    if not wait_until(inactive, timeout,
                      f"{client.base_url} to come back inactive after {what}", interval=0.2):
        raise DeviceError(
            f"{client.base_url} was not back inactive within {timeout:.0f} s after "
            f"{what} (waited for /SDK/activateStatus to say Activated false)"
        )


SETTLED_UP_TIME_S: Final = 3.0  # above harness.clients.isapi.reboot's 2 s boot-instant tolerance


def settled_boot_identity(client: IsapiClient) -> DeviceStatus:
    """The boot identity to give `wait_until_rebooted`, taken once the device has been up a
    few seconds: a reboot is told by the up time going back or the boot instant moving,
    which needs a boot older than the clocks' resolution (a device that a bring-up or an
    earlier test has just reset or rebooted is younger)."""
    before = client.boot_identity()
    if before.up_time_s is not None and before.up_time_s < SETTLED_UP_TIME_S:
        time.sleep(SETTLED_UP_TIME_S - before.up_time_s)
        before = client.boot_identity()
    return before


def settle_seen_boot(seen: DeviceStatus | None, read_at: float) -> DeviceStatus | None:
    """`seen` (a boot identity read at `time.monotonic()` `read_at`) as a baseline for
    `rebooted_since`, once its boot is `SETTLED_UP_TIME_S` old, without asking again; None
    when it cannot serve (nothing read, or a young boot without a device clock).

    Why no second reading: a later reboot moves the boot instant by at least the boot's age
    when the test starts, so a young reading serves once that age passed the tolerance;
    the wait for it overlaps whatever ran since the reading (the browser's start).
    """
    if seen is None or seen.up_time_s is None:
        return None
    if seen.up_time_s >= SETTLED_UP_TIME_S:
        return seen
    if seen.boot_instant is None:
        return None  # only the up time tells this boot: settled_boot_identity reads again
    age = seen.up_time_s + (time.monotonic() - read_at)
    if age < SETTLED_UP_TIME_S:
        time.sleep(SETTLED_UP_TIME_S - age)
    return seen


def _activate(dut: DeviceUnderTest) -> None:
    password = dut.new_password()
    with dut.isapi(login=False) as client:
        client.activate(password)
    dut.remember_password(password)
    dut.remember_email(None)


def _reserve_email(dut: DeviceUnderTest) -> None:
    # No login: the request proves itself with the admin password in its body (§10).
    with dut.isapi(login=False) as client:
        sent_at = time.monotonic()
        try:
            client.set_reserved_email(dut.email, dut.password)
        except (DeviceError, InfrastructureError) as exc:
            _crash_is_a_finding(dut, exc, "saving the reserved address", sent_at)
            raise
        except IsapiError as exc:
            # Only devices QA expects the feature on are asked (`bring` checks): the
            # device's own refusal contradicts the catalogue, e.g. a line that lost the
            # feature at its threshold. The finding, not a setup error of the test.
            if exc.sub_status_code == "notSupport":
                raise ProductDefect(
                    f"{dut.name} ({dut.firmware}) refuses to reserve an address with "
                    f"notSupport; QA expects the reserved-e-mail reset from "
                    f"{dut.line.reset_threshold} on its line"
                ) from exc
            raise
    dut.remember_email(dut.email)


def _crash_is_a_finding(dut: DeviceUnderTest, exc: BaseException, doing: str,
                        sent_at: float) -> None:
    """After `exc` (no answer) while `doing`, sent at `sent_at` (monotonic): a device
    that answers again with an up time shorter than the time since the request booted
    during it, by itself: a crash, `ProductDefect`. Otherwise nothing (the lab's trouble,
    which the caller raises and may retry)."""
    with dut.isapi() as client:
        try:
            client.wait_until_up(_boot_timeout(dut))
            up_time = client.device_status().up_time_s
        except Exception:  # still gone or not telling: no verdict from here
            return
    elapsed = time.monotonic() - sent_at
    if up_time is not None and up_time <= elapsed:
        raise ProductDefect(
            f"{dut.name} went down while {doing} and came back by itself (up {up_time} s, "
            f"request sent {elapsed:.1f} s ago): a crash ({exc})"
        ) from exc


def _factory_reset(dut: DeviceUnderTest) -> None:
    with dut.isapi() as client:
        client.factory_reset("full")
        wait_until_inactive(client, _boot_timeout(dut), "a full factory reset")
    dut.remember_password(None)
    dut.remember_email(None)


def _reset_button(dut: DeviceUnderTest) -> None:
    with dut.lab_controller() as controller:
        controller.reset_button(dut.name)
    with dut.isapi(login=False) as client:
        wait_until_inactive(client, _boot_timeout(dut), "the reset button")
    dut.remember_password(None)
    dut.remember_email(None)


def _power_cycle(dut: DeviceUnderTest) -> None:
    with dut.lab_controller() as controller:
        controller.power(dut.name, "cycle")
    with dut.isapi(login=False) as client:
        client.wait_until_up(_boot_timeout(dut))


@dataclass(frozen=True)
class Transition:
    """One edge of the graph: its name and what it does to the device."""

    name: str
    run: Callable[[DeviceUnderTest], None]


ACTIVATE: Final = Transition("activate", _activate)
RESERVE_EMAIL: Final = Transition("reserve_email", _reserve_email)
FACTORY_RESET: Final = Transition("factory_reset", _factory_reset)
RESET_BUTTON: Final = Transition("reset_button", _reset_button)
POWER_CYCLE: Final = Transition("power_cycle", _power_cycle)


def next_transition(current: State, target: State,
                    last: Transition | None = None) -> Transition:
    """The one transition that brings a device in `current` closer to `target` (`last`:
    the transition just run, when one was)."""
    if current == State.LOCKED and last is POWER_CYCLE:
        # A lock that outlived a power cycle (a finding): only the reset button helps.
        return RESET_BUTTON
    if current == State.LOCKED:
        # The reset button needs no login: a device that must become inactive anyway is
        # reset at once instead of being power cycled first and reset after.
        return RESET_BUTTON if target == State.INACTIVE else POWER_CYCLE
    if current == State.UNKNOWN_PASSWORD:
        return RESET_BUTTON
    if _RANK[current] > _RANK[target]:
        return FACTORY_RESET
    if current == State.INACTIVE:
        return ACTIVATE
    if current == State.ACTIVE and target == State.EMAIL_RESERVED:
        return RESERVE_EMAIL
    raise HarnessError(f"no transition from {current} towards {target}")


# --- bring ------------------------------------------------------------------------------


MAX_STEPS: Final = 6


def bring(
    dut: DeviceUnderTest,
    target: State | str,
    *,
    log: TransitionLog,
    quarantine: Quarantine,
    attempts: int = 3,
    delay: float = 0.5,
) -> list[str]:
    """Bring `dut` into `target` with only the missing transitions; their names in order.

    Raises `Quarantined` when an earlier bring-up of this device failed in this run. An
    infrastructure or device failure that outlives its retries quarantines the device and
    is raised; a product defect or harness error is raised as it is (a finding, not a
    broken device). A transition that leaves the device where it should not be (an
    address gone after a power cycle, a lock kept over one) is a finding too: the
    bring-up repairs the device, then raises `ProductDefect` naming what it found.
    """
    goal = State.parse(target)
    if goal not in TARGETS:
        raise HarnessError(f"{goal} is not a state a test can ask for")
    reason = quarantine.reason(dut.name)
    if reason is not None:
        raise Quarantined(f"{dut.name} is quarantined for this run: {reason}")
    if goal == State.EMAIL_RESERVED and not dut.supports_reserved_email_reset:
        raise HarnessError(
            f"a test asks {dut.name} ({dut.firmware}) for a reserved address, which QA "
            "expects only from its line's threshold: select it with needs(reset_by_email=True)"
        )
    ran: list[str] = []
    findings: list[str] = []
    last: Transition | None = None
    try:
        for _ in range(MAX_STEPS):
            expected = expected_by_knowledge(dut)
            current = retry(lambda: probe(dut, expect=goal), what=f"probe {dut.name}",
                            attempts=attempts, delay=delay, secrets=dut.secrets)
            wrong = unexpected_state(current, expected) if last is not None else None
            if wrong is not None:
                findings.append(f"after {last.name if last else '?'}: {wrong}")
            if current == State.INACTIVE and expected != State.INACTIVE:
                # The device holds no password: a real one found fresh (its env password
                # never set on it), or one reset behind the harness's back (a finding
                # above, or the previous test's). The record follows the device, or every
                # later test that wants it inactive would find it "unexpectedly" so again.
                dut.remember_password(None)
                dut.remember_email(None)
            if satisfies(current, goal):
                if findings:
                    raise ProductDefect(f"{dut.name}: its bring-up to {goal} found "
                                        + "; ".join(findings) + " (repaired)")
                return ran
            transition = next_transition(current, goal, last)
            started = time.monotonic()
            retry(lambda t=transition: t.run(dut),  # type: ignore[misc]
                  what=f"{transition.name} {dut.name}", attempts=attempts, delay=delay,
                  secrets=dut.secrets)
            log.record(dut.name, transition.name, current, time.monotonic() - started)
            ran.append(transition.name)
            last = transition
        raise DeviceError(
            f"{dut.name} did not reach {goal} after {MAX_STEPS} transitions ({', '.join(ran)})"
        )
    except BaseException as exc:
        if failure_kind(exc) in ("infrastructure", "device"):
            quarantine.mark(dut.name, f"bring-up to {goal} failed ({failure_kind(exc)}): {exc}",
                            dut.secrets)
        raise
