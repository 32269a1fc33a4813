"""Every [dec] behaviour of the firmware in one place (DEVICE-SPEC marks them [dec]).

A `FirmwarePolicy` is built per device from its product line and firmware; defects mutate it.
Change a decision here and every device follows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .firmware import (
    RECORDER_EXTRA_RULES_FROM,
    FirmwareVersion,
    ProductLine,
    email_reset_supported,
)

# Defaults of the illegal-login lock (spec §5: shape [src], numbers [dec]).
LOCK_MAX_ATTEMPTS = 7
LOCK_MINUTES = 30
LOCK_ATTEMPTS_RANGE = (3, 20)
LOCK_MINUTES_RANGE = (1, 120)

# Per-device settings of docs/device-api.md ([dec] defaults; DeviceEntry and `serve` flags).
DIGEST_ALGORITHMS = ("MD5", "SHA-256")
DEFAULT_DIGEST_ALGORITHM = "MD5"
SESSION_ID_VERSIONS = ("2", "2.1")
DEFAULT_SESSION_ID_VERSION = "2"
DEFAULT_SESSION_TIMEOUT_S = 120.0


@dataclass
class GuiFlags:
    """What `/SDK/guiConfig.js` tells the GUI build (GUI defects flip these)."""

    check_confirm: bool = True
    strength_offset: int = 0
    # Spec §2: every page but activation sends an inactive device's browser to activation.
    guard_inactive: bool = True
    # Spec §2: without cookies the GUI refuses to log in (cookieError) before calling.
    check_cookies: bool = True


@dataclass
class FirmwarePolicy:
    """The knobs of one device's firmware. Defects change these fields or hooks."""

    line: ProductLine
    firmware: FirmwareVersion
    # Gate of the reserved-e-mail reset (spec §1).
    email_reset_gate: Callable[[FirmwareVersion], bool] = lambda _v: False
    # Activation challenge and session-login ID (spec §3, device-api).
    challenge_lifetime_s: float = 60.0
    max_outstanding_challenges: int = 32
    session_id_lifetime_s: float = 60.0
    session_login_iterations: int = 100
    # Per-device settings (fleet config / serve flags; Device copies them in): the Digest
    # algorithm the device offers, the session-login hash version, and how long a session
    # lives without a heartbeat or another request (docs/device-api.md [dec]).
    digest_algorithm: str = DEFAULT_DIGEST_ALGORITHM
    session_id_version: str = DEFAULT_SESSION_ID_VERSION
    session_timeout_s: float = DEFAULT_SESSION_TIMEOUT_S
    # A Digest answer naming the algorithm the device does not offer is still checked with
    # that algorithm (both HA1 are stored), as a client that knows only one may pick it;
    # False would refuse it like a wrong password.
    digest_accept_other_algorithm: bool = True
    # A Digest nonce older than this is answered stale="TRUE".
    digest_nonce_lifetime_s: float = 300.0
    # Field encryption security=1 (spec §10): iterations of the key; the password in the
    # key of emailCertification (the user has forgotten it); zero padding also accepted.
    key_iterate_num: int = 100
    certification_key_password: str = ""
    field_zero_padding_ok: bool = True
    # salt and keyIterateNum appear in SecurityCap only when the request names a user.
    security_cap_salt_needs_username: bool = True
    # A resetPassword longer than this is the challenge form Base64(hex(AES)).
    plain_reset_password_max: int = 16
    # Figures of /ISAPI/System/status (nothing is measured; a steady, plausible load).
    cpu_utilization: int = 12
    memory_total_mb: float = 1024.0
    memory_usage_mb: float = 310.5
    # Illegal-login lock (spec §5): the settings a fresh or factory-reset device ships with
    # (the device's current ones are on flash), and whether a lock engages at all.
    lock_enabled: bool = True
    lock_max_attempts: int = LOCK_MAX_ATTEMPTS
    lock_minutes: int = LOCK_MINUTES
    lock_engages: bool = True
    # Out-of-range illegalLoginLock settings are refused (spec §5: 3-20, 1-120).
    lock_ranges_checked: bool = True
    # Spec §5: a reboot clears locks (they live in RAM); True keeps them over a boot.
    lock_survives_reboot: bool = False
    # Passwords (spec §4).
    refuse_risky: bool = True
    recorder_2020_rules: bool = False
    password_max_length: int = 16
    # Spec §3: activating an active device is refused (403 invalidOperation).
    refuse_reactivation: bool = True
    # A reset by code applies the password rules of §4 like activation does.
    reset_checks_password_rules: bool = True
    # Reserved e-mail (spec §6).
    email_max_length: int = 32
    email_change_requires_password: bool = True
    email_format_checked: bool = True
    # GET email/parameter shows the address masked (spec §6 [dec]).
    email_masked: bool = True
    # Where the reserved address survives (spec §7, §8): a reboot, a reset by code, a
    # basic factory reset keep it; a full factory reset clears it.
    email_survives_reboot: bool = True
    email_kept_after_reset: bool = True
    basic_reset_keeps_email: bool = True
    full_reset_clears_email: bool = True
    # A firmware crash: the address is saved, then the device goes down before answering
    # and the watchdog restarts it.
    reboot_after_email_save: bool = False
    # Verification code (spec §7).
    code_validity_s: float = 48 * 3600.0
    code_single_use: bool = True
    code_void_on_reboot: bool = True
    code_void_on_email_change: bool = True
    code_void_on_new_qr: bool = True
    regenerate_qr: bool = True
    wrong_code_limit: int | None = 5
    # Spec §7: codes compared without case, every character of them.
    code_case_insensitive: bool = True
    code_compared_chars: int | None = None
    # The QR's address is sealed with the device's cloud key; a stale key breaks the mail.
    seal_with_stale_key: bool = False
    # After a reset by code (spec §7 [dec]).
    old_password_valid_after_reset: bool = False
    close_sessions_after_reset: bool = True
    clear_locks_after_reset: bool = True
    # Reset methods other than e-mail listed in extern capabilities (spec §1 "may").
    offers_security_question: bool = False
    offers_guid_file: bool = False
    gui: GuiFlags = field(default_factory=GuiFlags)

    @property
    def email_reset_offered(self) -> bool:
        return self.email_reset_gate(self.firmware)


def default_policy(line: ProductLine, firmware: FirmwareVersion) -> FirmwarePolicy:
    """The clean firmware's policy for a product line and version."""
    return FirmwarePolicy(
        line=line,
        firmware=firmware,
        email_reset_gate=lambda v: email_reset_supported(line, v),
        recorder_2020_rules=line.is_recorder and firmware >= RECORDER_EXTRA_RULES_FROM,
        offers_security_question=not line.is_recorder,
        offers_guid_file=line.is_recorder,
    )
