"""Failure kinds and the retry policy."""

from __future__ import annotations

import importlib
import re
import traceback

import pytest

from harness.clients.cloud import CloudRefused
from harness.clients.isapi.errors import (
    DeadlineExceeded,
    IsapiError,
    LoginRejected,
    NotADeviceAnswer,
)
from harness.clients.mail import MailNotReceived
from harness.clients.shell import LabControllerLoginRejected, ShellLoginRejected
from harness.errors import (
    FAILURE_TABLE,
    DeviceError,
    HarnessError,
    InfrastructureError,
    ProductDefect,
    failure_kind,
    is_retryable,
    login_step,
    qualified_name,
    retry,
)
from harness.lab.states import Quarantined
from harness.report.allure import categories


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


# ------------------------------------------------------------------ the one failure table


def _isapi_error() -> IsapiError:
    return IsapiError(method="PUT", url="http://dev/ISAPI/Security/email/parameter",
                      http_status=403, status_code=4, status_string="Invalid Operation",
                      sub_status_code="notSupport")


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        # A device's answer contradicting the spec.
        (_isapi_error(), "product-defect"),
        (LoginRejected(url="http://dev", attempts_left=6, locked=False, unlock_time_s=0),
         "product-defect"),
        (ShellLoginRejected("ssh admin@dev:22: login refused"), "product-defect"),
        (CloudRefused("badQr", status=400, error="badQr"), "product-defect"),
        # Not a device's answer, and the lab's own trouble: no verdict.
        (NotADeviceAnswer("GET http://dev/ answered HTTP 500 without a ResponseStatus"),
         "infrastructure"),
        (DeadlineExceeded("GET http://dev/: no complete answer within the 5 s deadline"),
         "infrastructure"),
        (LabControllerLoginRejected("ssh lab@ctl:22: login refused"), "infrastructure"),
        (MailNotReceived("no mail"), "infrastructure"),
        (Quarantined("nvr is quarantined for this run"), "device"),
    ],
)
def test_the_table_classifies_every_answer(exc: BaseException, kind: str) -> None:
    assert failure_kind(exc) == kind
    # Logins are never repeated, whatever their kind.
    retryable = kind in ("infrastructure", "device") and not getattr(exc, "during_login", False)
    assert is_retryable(exc) is retryable


def test_the_table_names_classes_as_tracebacks_do() -> None:
    assert qualified_name(IsapiError) == "harness.clients.isapi.errors.IsapiError"
    assert qualified_name(ConnectionResetError) == "ConnectionResetError"
    for name in FAILURE_TABLE:
        module, _, cls = name.rpartition(".")
        if module:  # every named harness class exists where the table says
            assert hasattr(importlib.import_module(module), cls), name


def _categories_of(exc: BaseException) -> list[str]:
    """The Allure categories a result of `exc` lands in, matched as Allure does (the
    message is allure-pytest's: the class's qualified name, ": ", the text)."""
    status = "failed" if isinstance(exc, AssertionError) else "broken"
    message = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return [
        c["name"] for c in categories()
        if status in c["matchedStatuses"]
        and re.fullmatch(c.get("messageRegex", "(?s).*"), message)
    ]


@pytest.mark.parametrize(
    ("exc", "category"),
    [
        (ProductDefect("code accepted twice"), "Product defect"),
        (_isapi_error(), "Product defect (unexpected device answer)"),
        (CloudRefused("badQr", status=400, error="badQr"),
         "Product defect (unexpected device answer)"),
        (NotADeviceAnswer("GET http://dev/ answered HTTP 500 (IsapiError?)"), "Infrastructure"),
        (DeadlineExceeded("GET http://dev/: no complete answer"), "Infrastructure"),
        (ConnectionResetError("reset"), "Infrastructure"),
        (MailNotReceived("no mail"), "Infrastructure"),
        (DeviceError("no answer after reboot"), "Device"),
        (Quarantined("nvr is quarantined: IsapiError"), "Device"),
        (HarnessError("bad call"), "Harness"),
        (KeyError("InfrastructureError"), "Harness"),
    ],
)
def test_allure_files_each_failure_in_the_category_of_its_kind(
    exc: BaseException, category: str
) -> None:
    assert _categories_of(exc) == [category]
