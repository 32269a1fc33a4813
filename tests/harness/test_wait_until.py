"""`harness.waits.wait_until`, the harness's one deadline loop."""

from __future__ import annotations

import itertools

import pytest

from harness.waits import Wait, add_listener, remove_listener, wait_until


def test_returns_the_first_true_result() -> None:
    answers = iter([None, 0, "", "up", "later"])
    assert wait_until(lambda: next(answers), 30, "the third answer", interval=0) == "up"
    assert next(answers) == "later"  # no call after the first true result


def test_checks_once_even_without_time_and_gives_none_when_time_ran_out() -> None:
    calls = itertools.count()
    assert wait_until(lambda: next(calls) < 0, 0, "never") is None
    assert next(calls) == 1


def test_an_exception_of_the_check_ends_the_wait() -> None:
    def dead() -> bool:
        raise ProcessLookupError("gone")

    with pytest.raises(ProcessLookupError):
        wait_until(dead, 30, "a dead process")


def test_the_wait_is_announced_while_it_lasts() -> None:
    seen: list[Wait | None] = []
    add_listener(seen.append)
    try:
        wait_until(lambda: True, 5, "the lab to start")
    finally:
        remove_listener(seen.append)
    announced = [w.what for w in seen if w is not None]
    assert announced == ["the lab to start"]
    assert seen[-1] is None  # and withdrawn when it ended
