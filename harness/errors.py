"""The four kinds of failure, and the retry policy that follows from them.

A failure is classified before anything retries it: only the lab's own trouble
(infrastructure) and a device that misbehaves as hardware (device) may be retried. A product
defect is the finding a suite exists for, and a harness error is our bug; retrying either
would hide it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Final, Literal, TypeVar

from harness.evidence import Secrets, mask_text

log = logging.getLogger(__name__)

T = TypeVar("T")

FailureKind = Literal["infrastructure", "device", "product-defect", "harness"]


class InfrastructureError(Exception):
    """The lab, the network or the mailbox is unreachable or broken: not the device's fault."""


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


def failure_kind(exc: BaseException) -> FailureKind:
    """Classify an exception into one of the four failure kinds.

    Built-in `ConnectionError` and `TimeoutError` count as infrastructure: they are what a
    socket raises when the lab network is down. Any other `AssertionError` is a product
    defect (a suite's assertion failed); anything unknown is a harness error, so that a bug
    of ours is never mistaken for a flaky lab.
    """
    if isinstance(exc, InfrastructureError | ConnectionError | TimeoutError):
        return "infrastructure"
    if isinstance(exc, DeviceError):
        return "device"
    if isinstance(exc, AssertionError):
        return "product-defect"
    return "harness"


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
