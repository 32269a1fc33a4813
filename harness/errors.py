"""The four kinds of failure, and the retry policy that follows from them.

A failure is classified before anything retries it: only the lab's own trouble
(infrastructure) and a device that misbehaves as hardware (device) may be retried. A product
defect is the finding a suite exists for, and a harness error is our bug; retrying either
would hide it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final, Literal, TypeVar

from harness.evidence import Secrets, mask_text

log = logging.getLogger(__name__)

T = TypeVar("T")

FailureKind = Literal["infrastructure", "device", "product-defect", "harness"]


class InfrastructureError(Exception):
    """The lab, the network or the mailbox is unreachable or broken: not the device's fault.

    Also an answer that is not a device's at all (HTTP 500 without a ResponseStatus, a
    proxy's page, garbage bytes, a TLS failure): it gives no verdict on the firmware.
    """


class DeviceError(Exception):
    """The device is broken or cannot be brought back (no answer after reboot, boot loop)."""


class ProductDefect(AssertionError):
    """The firmware did the wrong thing. An assertion: the suite's finding, never retried."""


class HarnessError(Exception):
    """Our own bug or misuse of the harness (wrong call, impossible state)."""


INFRASTRUCTURE: Final = "infrastructure"
DEVICE: Final = "device"
PRODUCT_DEFECT: Final = "product-defect"
HARNESS: Final = "harness"

# The failure table: exception class (qualified as Python prints it in a traceback's last
# line, builtins bare) -> kind. The one place a kind is decided: `failure_kind`, the retry
# policy, the gate's records (harness.run.records) and the Allure categories (harness.report.allure)
# all read it. A class not named here takes the kind of its nearest named base class;
# one with none is a harness error, so that a bug of ours is never mistaken for a flaky lab.
# Classes are named, not imported: the modules that define them import this one.
FAILURE_TABLE: Final[Mapping[str, FailureKind]] = MappingProxyType({
    # The four kinds themselves.
    "harness.errors.InfrastructureError": "infrastructure",
    "harness.errors.DeviceError": "device",
    "harness.errors.ProductDefect": "product-defect",
    "harness.errors.HarnessError": "harness",
    # A device's answer that contradicts the spec: an ISAPI error ResponseStatus where
    # success is due, a refused login with the password the lab knows (over ISAPI or SSH),
    # the vendor cloud refusing the device's QR. A suite expecting the answer catches it.
    "harness.clients.isapi.errors.IsapiError": "product-defect",
    "harness.clients.isapi.errors.LoginRejected": "product-defect",
    "harness.clients.shell.ShellLoginRejected": "product-defect",
    "harness.clients.cloud.CloudRefused": "product-defect",
    # An earlier bring-up failed: the device, not the test, is the problem (harness.lab.states).
    "harness.lab.states.Quarantined": "device",
    # What a socket raises when the lab network is down; a suite's failed assert.
    "ConnectionError": "infrastructure",
    "TimeoutError": "infrastructure",
    "AssertionError": "product-defect",
})


def qualified_name(cls: type) -> str:
    """A class's name as a traceback's last line (and Allure's message) starts with it."""
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def kind_of_class(cls: type[BaseException]) -> FailureKind:
    """The kind of an exception class: its own or its nearest base's entry in the table."""
    for base in cls.__mro__:
        kind = FAILURE_TABLE.get(qualified_name(base))
        if kind is not None:
            return kind
    return "harness"


def failure_kind(exc: BaseException) -> FailureKind:
    """Classify an exception into one of the four failure kinds (see `FAILURE_TABLE`)."""
    return kind_of_class(type(exc))


def classes_of_kind(kind: FailureKind) -> list[str]:
    """Qualified names of the exception classes loaded in this process that the table gives
    `kind` (named there or deriving from a named class), sorted. What a report matches a
    failure's message against: the message starts with its class's qualified name."""
    names = {name for name, named_kind in FAILURE_TABLE.items() if named_kind == kind}
    pending: list[type[BaseException]] = [BaseException]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if _named_in_mro(cls) and kind_of_class(cls) == kind:
            names.add(qualified_name(cls))
    return sorted(names)


def _named_in_mro(cls: type[BaseException]) -> bool:
    return any(qualified_name(base) in FAILURE_TABLE for base in cls.__mro__)


def is_retryable(exc: BaseException) -> bool:
    """True only for infrastructure and device failures, and never for a failed login."""
    if getattr(exc, "during_login", False):
        return False
    return failure_kind(exc) in ("infrastructure", "device")


def login_step(func: Callable[..., T]) -> Callable[..., T]:
    """Mark a function as a login (it sends a password); `retry` refuses to repeat it.

    Devices lock the client out after a few wrong passwords (7 by default, for 30 minutes),
    so a retried login can turn one wrong password into a locked device for every later
    test. A login fails once and says so.
    """
    func.__hil_login__ = True  # type: ignore[attr-defined]
    return func


def retry(
    action: Callable[[], T],
    *,
    what: str,
    attempts: int = 3,
    delay: float = 1.0,
    backoff: float = 2.0,
    secrets: Secrets | None = None,
) -> T:
    """Run a state-level transition (reboot, factory reset, power cycle), retrying it only
    on infrastructure and device failures, at most `attempts` times with growing delays.

    `what` names the transition for the log and the final error. A login is never retried
    (see `login_step`): passing one raises `HarnessError` before anything is sent. The
    failure logged before each retry is masked: secret fields always, and every value of
    `secrets` (the device's) when given.
    """
    if getattr(action, "__hil_login__", False):
        raise HarnessError(
            f"refusing to retry a login ({what}): devices lock out after wrong passwords"
        )
    if attempts < 1:
        raise HarnessError(f"retry({what}): attempts must be >= 1, got {attempts}")
    wait = delay
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except BaseException as exc:
            if attempt == attempts or not is_retryable(exc):
                raise
            # Exceptions may quote a device answer or what was typed: the log gets them
            # masked, like every other piece of evidence.
            log.warning(
                "%s failed (%s: %s), attempt %d of %d, retrying in %.1f s",
                what,
                failure_kind(exc),
                mask_text(str(exc), secrets),
                attempt,
                attempts,
                wait,
            )
            time.sleep(wait)
            wait *= backoff
    raise HarnessError(f"retry({what}): unreachable")  # pragma: no cover
