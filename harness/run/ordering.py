"""The order of a device's tests that costs the least device work, and what an order costs.

A suite test says which state it needs (`state(...)`) and, when a passing run changes the
device, what it leaves behind (`leaves(...)`) and how often it reboots the device on
purpose (`reboots(n)`). From these three facts alone, with no device:

- `order` sorts one device's tests, stably: tests that need an inactive device and leave
  it inactive, then the activating ones (the one leaving the lowest state first, so N of
  them cost N - 1 factory resets), then the tests that need an active device, those that
  need a reserved address, those with no state, those that reboot on purpose, and the
  tests that leave the client locked out last (so no power cycle is needed to go on);
- `arrange` applies it to a whole collection: each device's tests become one block, the
  blocks in the order their devices first appear, and tests without a device keep their
  places;
- `replay` counts the factory resets, power cycles and reboots an order costs, running
  the transitions `harness.lab.states.bring` would run, from a device that starts inactive;
- `minimum` is the least any order of the same tests can cost (a search over the kinds of
  test, not over every permutation): the lower bound a benchmark compares a run with.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Final, Protocol

from harness.errors import HarnessError
from harness.lab.states import TARGETS, State, satisfies

LEAVES: Final = (*TARGETS, State.LOCKED)
_RANK: Final = {State.INACTIVE: 0, State.ACTIVE: 1, State.EMAIL_RESERVED: 2}


class Mark(Protocol):
    """What `from_marks` reads of a pytest mark (pytest's `Mark` has it)."""

    @property
    def name(self) -> str: ...
    @property
    def args(self) -> tuple[Any, ...]: ...
    @property
    def kwargs(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class DeviceTest:
    """One test as the device sees it: the state it needs and what a pass leaves behind.

    `leaves` None: the device as the test found it; `reboots`: reboots done on purpose.
    """

    name: str
    needs: State | None = None
    leaves: State | None = None
    reboots: int = 0

    @property
    def kind(self) -> tuple[State | None, State | None, int]:
        """Tests of one kind cost the same wherever they run: they are interchangeable."""
        return self.needs, self.leaves, self.reboots


def from_marks(name: str, marks: Iterable[Mark]) -> DeviceTest:
    """The `DeviceTest` of test `name` from its marks, nearest first (`item.iter_markers()`):
    `state(name)`, `leaves(name)`, `reboots(times=1)`; `HarnessError` naming a bad one."""
    found: dict[str, Mark] = {}
    for mark in marks:
        if mark.name in ("state", "leaves", "reboots"):
            found.setdefault(mark.name, mark)
    needs = leaves = None
    if "state" in found:
        needs = _state_of(name, found["state"], TARGETS)
    if "leaves" in found:
        leaves = _state_of(name, found["leaves"], LEAVES)
    reboots = 0
    if "reboots" in found:
        mark = found["reboots"]
        value = mark.args[0] if mark.args else mark.kwargs.get("times", 1)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise HarnessError(f"{name}: reboots({value!r}): give a number of reboots >= 1")
        reboots = value
    return DeviceTest(name, needs, leaves, reboots)


def _state_of(test: str, mark: Mark, allowed: tuple[State, ...]) -> State:
    value = mark.args[0] if mark.args else None
    if isinstance(value, str) and value in allowed:
        return State(value)
    choices = ", ".join(s.value for s in allowed)
    raise HarnessError(f"{test}: {mark.name}({value!r}): choose one of {choices}")


# --- the order ---------------------------------------------------------------------------


def phase(test: DeviceTest) -> tuple[int, int]:
    """Where a test goes in its device's order (lower first); ties keep collection order."""
    if test.leaves == State.LOCKED:
        return 6, 0  # last: whatever comes after a lockout needs a reboot to log in
    if test.needs == State.INACTIVE:
        if test.leaves is None or test.leaves == State.INACTIVE:
            return 0, 0  # runs on the device as the lab hands it over, before anything
        return 1, _RANK[test.leaves]  # activating: the one leaving the lowest state first
    if test.reboots:
        return 5, 0
    if test.needs == State.ACTIVE:
        return 2, 0
    if test.needs == State.EMAIL_RESERVED:
        return 3, 0
    return 4, 0  # no state asked for: after the tests that ask for one


def order(tests: Sequence[DeviceTest]) -> list[int]:
    """Indices of one device's `tests` in the order that costs the least (stable).

    By `phase`; one refinement when a device has more than one lockout test: all but the
    last go right after an activating test that is followed by another, whose reset (the
    reset button) clears the lock, so they cost no power cycle either.
    """
    ranked = sorted(range(len(tests)), key=lambda i: phase(tests[i]))
    lockouts = [i for i in ranked if tests[i].leaves == State.LOCKED
                and tests[i].needs != State.INACTIVE]
    activating = [i for i in ranked if phase(tests[i])[0] == 1]
    early = dict(zip(activating[:-1], lockouts[:-1], strict=False))
    if not early:
        return ranked
    moved = set(early.values())
    result: list[int] = []
    for i in ranked:
        if i in moved:
            continue
        result.append(i)
        if i in early:
            result.append(early[i])
    return result


def arrange(entries: Sequence[tuple[str | None, DeviceTest]]) -> list[int]:
    """Indices of a collection of (device or None, test) in run order.

    The places of the device tests are filled with one block per device, in the order the
    devices first appear, each block in `order`; a test without a device keeps its place.
    Deterministic: the same collection always gives the same order (every xdist worker
    must collect the same).
    """
    places = [i for i, (device, _test) in enumerate(entries) if device is not None]
    blocks: dict[str, list[int]] = {}
    for i in places:
        blocks.setdefault(str(entries[i][0]), []).append(i)
    ordered = [block[k] for block in blocks.values()
               for k in order([entries[i][1] for i in block])]
    result = list(range(len(entries)))
    for place, i in zip(places, ordered, strict=True):
        result[place] = i
    return result


# --- what an order costs ------------------------------------------------------------------


@dataclass(frozen=True)
class Cost:
    """Device work: every one of these is a boot of the device."""

    factory_resets: int = 0  # ISAPI full reset or the lab controller's reset button
    power_cycles: int = 0
    reboots: int = 0  # done by tests on purpose

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.factory_resets + other.factory_resets,
                    self.power_cycles + other.power_cycles, self.reboots + other.reboots)

    @property
    def boots(self) -> int:
        return self.factory_resets + self.power_cycles + self.reboots

    def as_dict(self) -> dict[str, int]:
        return {"factory_resets": self.factory_resets, "power_cycles": self.power_cycles,
                "reboots": self.reboots}


# The device during a replay: its state and, when LOCKED, the state under the lock.
_Device = tuple[State, State]
_NONE: Final = Cost()


def step(device: _Device, test: DeviceTest) -> tuple[_Device, Cost]:
    """Run one passing test on `device`: the bring-up `harness.lab.states.bring` would do
    (activate and reserve cost no boot), then the test's own effect."""
    current, under = device
    cost = _NONE
    target = test.needs
    if target is not None:
        if current == State.LOCKED:
            if target == State.INACTIVE:  # the reset button needs no login
                cost += Cost(factory_resets=1)
                current = State.INACTIVE
            else:  # a power cycle clears the lock: the device is as before the lockout
                cost += Cost(power_cycles=1)
                current = under
        if target == State.INACTIVE and current != State.INACTIVE:
            cost += Cost(factory_resets=1)
            current = State.INACTIVE
        elif not satisfies(current, target):
            current = target
    if test.reboots:
        cost += Cost(reboots=test.reboots)
        if current == State.LOCKED:
            current = under  # a reboot clears the lock too
    if test.leaves == State.LOCKED:
        under, current = (current if current != State.LOCKED else under), State.LOCKED
    elif test.leaves is not None:
        current = under = test.leaves
    else:
        under = under if current == State.LOCKED else current
    return (current, under), cost


def replay(tests: Iterable[DeviceTest], start: State = State.INACTIVE) -> Cost:
    """What running `tests` in this order costs on one device that starts in `start`."""
    device: _Device = (start, start)
    total = _NONE
    for test in tests:
        device, cost = step(device, test)
        total += cost
    return total


def _better(a: Cost, b: Cost) -> bool:
    # Fewest boots; among equals, fewest resets (a reset also costs a new activation).
    return (a.boots, a.factory_resets) < (b.boots, b.factory_resets)


def minimum(tests: Iterable[DeviceTest], start: State = State.INACTIVE) -> Cost:
    """The least `replay` cost of any order of `tests`: a search over how many tests of each
    kind are left (tests of one kind are interchangeable), so a few thousand states for a
    device of the suites rather than 20! orders."""
    counts = Counter(t.kind for t in tests)
    kinds = sorted(counts, key=lambda k: tuple("" if x is None else str(x) for x in k))
    probes = [DeviceTest("", *kind) for kind in kinds]

    @cache
    def best(device: _Device, left: tuple[int, ...]) -> Cost:
        found: Cost | None = None
        for k, n in enumerate(left):
            if n == 0:
                continue
            after, cost = step(device, probes[k])
            rest = best(after, (*left[:k], n - 1, *left[k + 1:]))
            total = cost + rest
            if found is None or _better(total, found):
                found = total
        return found if found is not None else _NONE

    return best((start, start), tuple(counts[k] for k in kinds))
