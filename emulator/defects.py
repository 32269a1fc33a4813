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
    # `code-reusable` and `code_reusable` are one defect: inventories and docs write both.
    try:
        return REGISTRY[name] if name in REGISTRY else REGISTRY[name.strip().replace("-", "_")]
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


@defect("recorder_2020_rules_missing",
        "recorder firmware from V4.30 accepts passwords with admin, 123, four digits in a run "
        "or four repeats")
def _recorder_2020_rules_missing(policy: FirmwarePolicy) -> None:
    policy.recorder_2020_rules = False


@defect("gui_reset_page_before_activation",
        "the GUI's Forgot Password wizard opens on an inactive device instead of activation")
def _gui_reset_page_before_activation(policy: FirmwarePolicy) -> None:
    policy.gui.guard_inactive = False


@defect("gui_cookies_unchecked",
        "the GUI logs in from a browser with cookies disabled instead of showing cookieError")
def _gui_cookies_unchecked(policy: FirmwarePolicy) -> None:
    policy.gui.check_cookies = False


# ---- rules refused every way, spec defaults, after-states (issue 13) --------------------------

@defect("feature_lost_at_threshold",
        "the line's threshold firmware itself no longer offers the reserved-e-mail reset "
        "(gate moved one minor version up)")
def _feature_lost_at_threshold(policy: FirmwarePolicy) -> None:
    def series(version: FirmwareVersion) -> tuple[int, ...]:
        return (*version.numbers, 0, 0)[:2]

    threshold = series(policy.line.email_reset_from)

    def gate(version: FirmwareVersion) -> bool:
        return series(version) > threshold

    policy.email_reset_gate = gate


@defect("lock_defaults_wrong",
        "the illegal-login lock ships with 5 attempts and 10 minutes, not 7 and 30")
def _lock_defaults_wrong(policy: FirmwarePolicy) -> None:
    policy.lock_max_attempts = 5
    policy.lock_minutes = 10


@defect("lock_survives_reboot", "the illegal-login lock is kept over a reboot or power cycle")
def _lock_survives_reboot(policy: FirmwarePolicy) -> None:
    policy.lock_survives_reboot = True


@defect("lock_settings_unchecked",
        "illegalLoginLock accepts attempts and lock times outside 3-20 and 1-120")
def _lock_settings_unchecked(policy: FirmwarePolicy) -> None:
    policy.lock_ranges_checked = False


@defect("password_length_unchecked", "passwords longer than 16 characters are accepted")
def _password_length_unchecked(policy: FirmwarePolicy) -> None:
    policy.password_max_length = 64


@defect("reactivation_allowed", "activating an active device sets the new password")
def _reactivation_allowed(policy: FirmwarePolicy) -> None:
    policy.refuse_reactivation = False


@defect("reserved_email_format_unchecked",
        "any text with an @ is saved as the reserved address")
def _reserved_email_format_unchecked(policy: FirmwarePolicy) -> None:
    policy.email_format_checked = False


@defect("reserved_email_length_unchecked",
        "reserved addresses longer than 32 characters are accepted")
def _reserved_email_length_unchecked(policy: FirmwarePolicy) -> None:
    policy.email_max_length = 64


@defect("email_shown_unmasked", "GET email/parameter shows the reserved address unmasked")
def _email_shown_unmasked(policy: FirmwarePolicy) -> None:
    policy.email_masked = False


@defect("code_case_sensitive", "a verification code keyed in lower case is refused")
def _code_case_sensitive(policy: FirmwarePolicy) -> None:
    policy.code_case_insensitive = False


@defect("code_prefix_compared",
        "only the first 6 characters of a verification code are compared")
def _code_prefix_compared(policy: FirmwarePolicy) -> None:
    policy.code_compared_chars = 6


@defect("code_validity_short", "verification codes are valid 1 hour, not 48 hours")
def _code_validity_short(policy: FirmwarePolicy) -> None:
    policy.code_validity_s = 3600.0


@defect("reset_skips_password_rules",
        "a reset by code sets any new password, Risky ones included")
def _reset_skips_password_rules(policy: FirmwarePolicy) -> None:
    policy.reset_checks_password_rules = False


@defect("session_survives_password_reset",
        "sessions logged in before a reset by code stay open afterwards")
def _session_survives_password_reset(policy: FirmwarePolicy) -> None:
    policy.close_sessions_after_reset = False


@defect("lock_count_survives_reset",
        "wrong-password counts from before a reset by code are kept afterwards")
def _lock_count_survives_reset(policy: FirmwarePolicy) -> None:
    policy.clear_locks_after_reset = False


@defect("email_dropped_after_reset", "a reset by code clears the reserved address")
def _email_dropped_after_reset(policy: FirmwarePolicy) -> None:
    policy.email_kept_after_reset = False


@defect("email_lost_on_reboot",
        "the reserved address is kept in RAM only and is gone after a reboot")
def _email_lost_on_reboot(policy: FirmwarePolicy) -> None:
    policy.email_survives_reboot = False


@defect("full_reset_keeps_email", "a full factory reset leaves the reserved address set")
def _full_reset_keeps_email(policy: FirmwarePolicy) -> None:
    policy.full_reset_clears_email = False


@defect("basic_reset_drops_email", "a basic factory reset clears the reserved address")
def _basic_reset_drops_email(policy: FirmwarePolicy) -> None:
    policy.basic_reset_keeps_email = False


@defect("crash_on_email_save",
        "saving a reserved address crashes the device before it answers (watchdog restart)")
def _crash_on_email_save(policy: FirmwarePolicy) -> None:
    policy.reboot_after_email_save = True
