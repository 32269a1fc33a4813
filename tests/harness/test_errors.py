"""Failure kinds and the retry policy."""

from __future__ import annotations

import pytest

from harness.errors import (
    DeviceError,
    HarnessError,
    InfrastructureError,
    ProductDefect,
    failure_kind,
    is_retryable,
    login_step,
    retry,
)


@pytest.mark.parametrize(
    ("exc", "kind", "retryable"),
    [
        (InfrastructureError("mailbox unreachable"), "infrastructure", True),
        (ConnectionRefusedError("refused"), "infrastructure", True),
        (TimeoutError("timed out"), "infrastructure", True),
        (DeviceError("no answer after reboot"), "device", True),
        (ProductDefect("code accepted twice"), "product-defect", False),
        (AssertionError("plain assert"), "product-defect", False),
        (HarnessError("bad call"), "harness", False),
        (KeyError("x"), "harness", False),
        (ValueError("x"), "harness", False),
    ],
)
def test_failure_kinds(exc: BaseException, kind: str, retryable: bool) -> None:
    assert failure_kind(exc) == kind
    assert is_retryable(exc) is retryable


def test_product_defect_is_an_assertion() -> None:
    assert issubclass(ProductDefect, AssertionError)


def test_a_failed_login_is_never_retryable() -> None:
    exc = InfrastructureError("connection reset during login")
    exc.during_login = True  # type: ignore[attr-defined]
    assert not is_retryable(exc)


def test_retry_retries_infrastructure_until_success() -> None:
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise InfrastructureError("lab controller busy")
        return "rebooted"

    assert retry(flaky, what="reboot", attempts=3, delay=0) == "rebooted"
    assert len(calls) == 3


def test_retry_gives_up_after_attempts() -> None:
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise DeviceError("boot loop")

    with pytest.raises(DeviceError, match="boot loop"):
        retry(broken, what="reboot", attempts=2, delay=0)
    assert len(calls) == 2


@pytest.mark.parametrize("exc", [ProductDefect("wrong"), HarnessError("bug"), ValueError("bug")])
def test_retry_never_repeats_defects_or_bugs(exc: BaseException) -> None:
    calls: list[int] = []

    def fails() -> None:
        calls.append(1)
        raise exc

    with pytest.raises(type(exc)):
        retry(fails, what="factory reset", attempts=5, delay=0)
    assert len(calls) == 1


def test_retry_refuses_a_login_before_sending_anything() -> None:
    calls: list[int] = []

    @login_step
    def login() -> None:
        calls.append(1)

    with pytest.raises(HarnessError, match="refusing to retry a login"):
        retry(login, what="login", delay=0)
    assert calls == []
