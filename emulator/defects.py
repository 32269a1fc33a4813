"""Named firmware defects: realistic regressions the harness must catch.

A defect is a function `(policy) -> None` that changes a device's `FirmwarePolicy`,
registered with `@defect("name", "one line")`. User modules register their own the same way
and are loaded with `--defect-module PATH_OR_MODULE` or the fleet key `defect_modules`.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .firmware import FirmwareVersion, one_minor_below
from .policy import FirmwarePolicy

DefectFn = Callable[[FirmwarePolicy], None]


@dataclass(frozen=True)
class Defect:
    name: str
    description: str
    apply: DefectFn


REGISTRY: dict[str, Defect] = {}


class DefectError(ValueError):
    """Unknown defect name or a defect module that cannot be loaded."""


def defect(name: str, description: str) -> Callable[[DefectFn], DefectFn]:
    """Register `fn(policy)` as the defect `name` with a one-line description."""

    def register(fn: DefectFn) -> DefectFn:
        REGISTRY[name] = Defect(name, description, fn)
        return fn

    return register


def load_defect_module(spec: str) -> None:
    """Import a module of defects by file path or dotted name (it registers on import)."""
    path = Path(spec)
    try:
        if spec.endswith(".py") or path.exists():
            if not path.is_file():
                raise DefectError(f"defect module {spec!r}: no such file")
            name = f"_hik_defects_{abs(hash(str(path.resolve())))}"
            if name in sys.modules:
                return
            mod_spec = importlib.util.spec_from_file_location(name, path)
            if mod_spec is None or mod_spec.loader is None:
                raise DefectError(f"defect module {spec!r}: cannot be loaded")
            module = importlib.util.module_from_spec(mod_spec)
            sys.modules[name] = module
            mod_spec.loader.exec_module(module)
        else:
            importlib.import_module(spec)
    except DefectError:
        raise
    except Exception as exc:  # a user's module may raise anything while importing
        raise DefectError(f"defect module {spec!r}: {type(exc).__name__}: {exc}") from exc


def get_defect(name: str) -> Defect:
    try:
        return REGISTRY[name]
    except KeyError:
        raise DefectError(
            f"unknown defect {name!r}; known: {', '.join(sorted(REGISTRY))}") from None


def apply_defects(policy: FirmwarePolicy, names: list[str]) -> None:
    for name in names:
        get_defect(name).apply(policy)


# ---- built-in defects ----------------------------------------------------------------------

@defect("gate_off_by_one",
        "reserved-e-mail reset offered from one minor version below the line's threshold")
def _gate_off_by_one(policy: FirmwarePolicy) -> None:
    lowered = one_minor_below(policy.line.email_reset_from)

    def gate(version: FirmwareVersion) -> bool:
        return version >= lowered

    policy.email_reset_gate = gate


@defect("code_reusable", "a verification code can be used again after a successful reset")
def _code_reusable(policy: FirmwarePolicy) -> None:
    policy.code_single_use = False


@defect("code_survives_reboot", "the outstanding verification code stays valid across a reboot")
def _code_survives_reboot(policy: FirmwarePolicy) -> None:
    policy.code_void_on_reboot = False


@defect("code_survives_email_change",
        "changing the reserved e-mail leaves the outstanding code valid")
def _code_survives_email_change(policy: FirmwarePolicy) -> None:
    policy.code_void_on_email_change = False


@defect("code_survives_new_qr", "a new QR is made but the previous QR's code stays valid")
def _code_survives_new_qr(policy: FirmwarePolicy) -> None:
    policy.code_void_on_new_qr = False


@defect("qr_not_regenerated", "every QR request returns the same QR text and nonce")
def _qr_not_regenerated(policy: FirmwarePolicy) -> None:
    policy.regenerate_qr = False


@defect("risky_password_accepted", "a Risky (level 0) password is accepted")
def _risky_password_accepted(policy: FirmwarePolicy) -> None:
    policy.refuse_risky = False
    policy.recorder_2020_rules = False


@defect("lockout_never_engages", "wrong passwords are counted but the address is never locked")
def _lockout_never_engages(policy: FirmwarePolicy) -> None:
    policy.lock_engages = False


@defect("gui_confirm_mismatch", "the GUI sends the password without checking the confirm field")
def _gui_confirm_mismatch(policy: FirmwarePolicy) -> None:
    policy.gui.check_confirm = False


@defect("old_password_valid_after_reset", "after a reset by code the old password still logs in")
def _old_password_valid_after_reset(policy: FirmwarePolicy) -> None:
    policy.old_password_valid_after_reset = True


@defect("code_mail_never_sent",
        "the QR's address is sealed with a stale cloud key, so the cloud sends no mail")
def _code_mail_never_sent(policy: FirmwarePolicy) -> None:
    policy.seal_with_stale_key = True


@defect("wrong_code_limit_missing", "wrong verification codes never void the code")
def _wrong_code_limit_missing(policy: FirmwarePolicy) -> None:
    policy.wrong_code_limit = None


@defect("email_change_without_password",
        "the reserved address is saved even with a wrong admin password")
def _email_change_without_password(policy: FirmwarePolicy) -> None:
    policy.email_change_requires_password = False


@defect("strength_bar_wrong", "the GUI strength bar shows one level too high")
def _strength_bar_wrong(policy: FirmwarePolicy) -> None:
    policy.gui.strength_offset = 1
