"""One emulated recorder or camera: its firmware behaviour, independent of HTTP.

The ISAPI layer (`emulator.isapi`) turns requests into calls on a `Device`; the device keeps
its persistent state on `Flash` and its volatile state (sessions, locks, challenges) in
memory, which a reboot clears. It implements `emulator.interfaces.DeviceHandle`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import secrets
import time
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from . import cloudcrypto, crypto, passwords
from .defects import apply_defects
from .errors import DeviceError, LoginRefused, bad_parameters, not_support
from .firmware import FirmwareVersion, ProductLine, canonical_model, line_for_model, parse_firmware
from .flash import Flash
from .interfaces import PowerState
from .policy import (
    DEFAULT_DIGEST_ALGORITHM,
    DEFAULT_SESSION_ID_VERSION,
    DEFAULT_SESSION_TIMEOUT_S,
    LOCK_ATTEMPTS_RANGE,
    LOCK_MAX_ATTEMPTS,
    LOCK_MINUTES,
    LOCK_MINUTES_RANGE,
    FirmwarePolicy,
    default_policy,
)

log = logging.getLogger(__name__)

_EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$")
USER = passwords.USER_NAME
# Codes kept on flash, voided ones included: enough to recognise recent void codes.
_CODES_KEPT = 8


@dataclass
class DeviceSpec:
    """How the fleet config describes one device."""

    name: str
    model: str
    firmware: str
    http_port: int = 0
    ssh_port: int = 0
    defects: list[str] = field(default_factory=list)
    boot_seconds: float = 0.0
    latency_ms: float = 0.0
    digest_algorithm: str = DEFAULT_DIGEST_ALGORITHM
    session_id_version: str = DEFAULT_SESSION_ID_VERSION
    session_timeout_s: float = DEFAULT_SESSION_TIMEOUT_S


class Listener(Protocol):
    """The device's network presence, provided by the fleet: HTTP socket and SSH shell."""

    async def open_http(self) -> None: ...
    async def close_http(self) -> None: ...
    async def start_ssh(self) -> None: ...
    async def stop_ssh(self) -> None: ...


@dataclass
class Credential:
    """admin's password as the device stores it: never the password itself."""

    stored: str       # H(user + salt + password), spec §5 isIrreversible
    ha1_md5: str
    ha1_sha256: str
    # Level 0 by the GUI's formula (only a defective firmware stores one): isRiskPassword.
    risky: bool = False


@dataclass
class PendingCode:
    nonce: str
    issued_at: float
    used: bool = False
    # Voided by a newer QR. Kept (not dropped) so that its code is recognised and answered
    # verificationCodeExpired, as docs/device-api.md says for a void code.
    voided: bool = False


@dataclass
class DeviceState:
    """What is on flash."""

    serial: str
    mac: str
    cloud_key: str
    stale_cloud_key: str
    salt: str
    model: str
    # sessionIDVersion 2.1's second salt (kept on flash like the first).
    salt2: str = ""
    activated: bool = False
    credentials: list[Credential] = field(default_factory=list)
    email: str | None = None
    lock_enabled: bool = True
    lock_max_attempts: int = LOCK_MAX_ATTEMPTS
    lock_minutes: int = LOCK_MINUTES
    ssh_enabled: bool = False
    codes: list[PendingCode] = field(default_factory=list)
    qr_text: str | None = None
    wrong_codes: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeviceState:
        data = dict(data)
        data["credentials"] = [Credential(**c) for c in data.get("credentials", [])]
        data["codes"] = [PendingCode(**c) for c in data.get("codes", [])]
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def _digits(seed: str, n: int) -> str:
    return str(int(hashlib.sha256(seed.encode()).hexdigest(), 16))[:n]


def make_serial(model: str, line: ProductLine, name: str) -> str:
    """Spec §1 shapes: camera model+date+AAWR+serial; recorder model+channels+date+CCWR+..."""
    base = model.replace("/", "")
    month = int(_digits(name + "m", 2)) % 12 + 1
    day = int(_digits(name + "d", 2)) % 28 + 1
    date = f"2023{month:02d}{day:02d}"
    if line.is_recorder:
        return f"{base}{line.channels:02d}{date}CCWR{_digits(name, 9)}WCVU"
    return f"{base}{date}AAWRJ{_digits(name, 8)}"


def _fresh_state(model: str, line: ProductLine, name: str) -> DeviceState:
    mac_tail = hashlib.sha256(name.encode()).hexdigest()[:6]
    return DeviceState(
        salt2=secrets.token_hex(32),
        serial=make_serial(model, line, name),
        mac="44:19:b6:" + ":".join(mac_tail[i:i + 2] for i in range(0, 6, 2)),
        cloud_key=cloudcrypto.new_cloud_key().hex(),
        stale_cloud_key=cloudcrypto.new_cloud_key().hex(),
        salt=secrets.token_hex(32),
        model=model,
    )


def mask_email(address: str) -> str:
    """`bob@example.com` -> `b****@example.com` ([dec])."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}****@{domain}"


@dataclass
class _LockEntry:
    fails: int = 0
    locked_until: float = 0.0


class Device:
    """An emulated device. Public attributes follow `interfaces.DeviceHandle`."""

    def __init__(self, spec: DeviceSpec, state_dir: Path) -> None:
        self.spec = spec
        self.name = spec.name
        self.model = canonical_model(spec.model)
        self.line = line_for_model(self.model)
        self.version: FirmwareVersion = parse_firmware(spec.firmware)
        self.firmware = spec.firmware
        self.policy: FirmwarePolicy = default_policy(self.line, self.version)
        self.policy.digest_algorithm = spec.digest_algorithm
        self.policy.session_id_version = spec.session_id_version
        self.policy.session_timeout_s = spec.session_timeout_s
        apply_defects(self.policy, list(spec.defects))
        self.defects = list(spec.defects)
        self.generation = self.line.generation(self.version)
        self.boot_seconds = spec.boot_seconds
        self.latency_ms = spec.latency_ms
        self.flash = Flash(state_dir, spec.name)
        loaded = self.flash.load()
        state = DeviceState.from_json(loaded) if loaded else None
        if state is None or state.model != self.model:
            state = _fresh_state(self.model, self.line, spec.name)
            state.lock_enabled = self.policy.lock_enabled
            state.lock_max_attempts = self.policy.lock_max_attempts
            state.lock_minutes = self.policy.lock_minutes
            self.flash.save(asdict(state))
        if not state.salt2:  # a flash file written before salt2 existed
            state.salt2 = secrets.token_hex(32)
            self.flash.save(asdict(state))
        self.state = state
        self.serial = state.serial
        self.cloud_key = bytes.fromhex(state.cloud_key)
        self.realm = ("IP Camera" if not self.line.is_recorder else "DVRNVRDVS") + \
            f"({self.serial[-5:]})"
        self.cookie_name = "WebSession_" + hashlib.sha256(self.serial.encode()).hexdigest()[:10]
        self.digest_nonces = crypto.DigestNonces(self.policy.digest_nonce_lifetime_s)
        self.listener: Listener | None = None
        self._power = PowerState.OFF
        self._boot_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._booted = asyncio.Event()
        self.boot_id = ""
        self.boot_time = datetime.now(UTC)
        self._boot_monotonic = time.monotonic()
        self._counters = {"boots": 0, "reboots": 0, "power_cycles": 0, "factory_resets": 0,
                          "factory_resets_basic": 0, "factory_resets_full": 0,
                          "password_resets": 0, "activations": 0}
        self._clear_volatile()

    # ---- volatile state ----------------------------------------------------------------------

    def _clear_volatile(self) -> None:
        self._challenges: dict[str, float] = {}
        self._session_ids: dict[str, tuple[str, float]] = {}
        self._sessions: dict[str, float] = {}
        self._locks: dict[str, _LockEntry] = {}

    def save(self) -> None:
        """Write the state to flash (atomic)."""
        self.flash.save(asdict(self.state))

    # ---- DeviceHandle ------------------------------------------------------------------------

    @property
    def power_state(self) -> PowerState:
        return self._power

    @property
    def activated(self) -> bool:
        return self.state.activated

    @property
    def device_type(self) -> str:
        return self.line.device_type

    @property
    def build(self) -> str:
        return self.version.build or "230101"

    def hard_info(self) -> dict[str, str]:
        return {"model": self.model, "serial": self.serial, "firmware": self.version.version,
                "build": f"build {self.build}", "mac": self.state.mac,
                "boot_time": self.boot_time.isoformat(timespec="seconds"),
                "boot_id": self.boot_id}

    @property
    def xml_ns(self) -> str:
        """The one namespace of every XML document this firmware writes (spec §9)."""
        if self.generation == "camera-spa":
            return "http://www.isapi.org/ver20/XMLSchema"
        return "http://www.hikvision.com/ver20/XMLSchema"

    def uptime_seconds(self) -> int:
        """deviceUpTime: seconds since the last boot (a reboot makes it go back)."""
        return int(time.monotonic() - self._boot_monotonic)

    def counters(self) -> dict[str, int]:
        return dict(self._counters)

    def ssh_enabled(self) -> bool:
        return self.state.ssh_enabled

    def check_admin_password(self, password: str, client_address: str) -> bool:
        try:
            self.login(client_address, lambda c: c.stored == crypto.irreversible_hash(
                USER, self.state.salt, password))
        except LoginRefused:
            return False
        return True

    # ---- boot, power -------------------------------------------------------------------------

    async def start(self) -> None:
        """First power-on when the fleet starts."""
        await self._boot(reset_button=False)

    async def wait_booted(self, timeout: float = 30.0) -> None:
        """Wait until the device is on (used by tests and the CLI)."""
        await asyncio.wait_for(self._booted.wait(), timeout)

    async def _boot(self, reset_button: bool) -> None:
        self._power = PowerState.BOOTING
        self._booted.clear()
        if reset_button:
            self._factory_defaults(full=True)
        if self.boot_seconds > 0:
            await asyncio.sleep(self.boot_seconds)
        kept_locks = self._locks if self.policy.lock_survives_reboot else {}
        self._clear_volatile()
        self._locks = kept_locks
        if not self.policy.email_survives_reboot and self.state.email:
            self.state.email = None
            self.save()
        if self.policy.code_void_on_reboot and self.state.codes:
            self.state.codes = []
            self.state.qr_text = None
            self.state.wrong_codes = 0
            self.save()
        self.boot_id = secrets.token_hex(8)
        self.boot_time = datetime.now(UTC)
        self._boot_monotonic = time.monotonic()
        self._counters["boots"] += 1
        self._power = PowerState.ON
        if self.listener is not None:
            try:
                await self.listener.open_http()
                if self.state.ssh_enabled:
                    await self.listener.start_ssh()
            except OSError as exc:
                # A port taken while the device was down: the device stays dark, like
                # hardware that failed to boot, and says why.
                self._power = PowerState.OFF
                if self._counters["boots"] == 1:
                    raise  # the fleet's start reports it
                log.error("%s: cannot listen after boot: %s", self.name, exc)
                return
        self._booted.set()

    async def _go_down(self, to: PowerState) -> None:
        if self._boot_task is not None and not self._boot_task.done():
            self._boot_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._boot_task
        self._power = to
        self._booted.clear()
        if self.listener is not None:
            await self.listener.close_http()
            await self.listener.stop_ssh()

    def _start_boot(self, reset_button: bool = False) -> None:
        # Boot in the background: a PDU or a reboot call returns at once, like real hardware.
        self._power = PowerState.BOOTING
        self._boot_task = asyncio.get_running_loop().create_task(self._boot(reset_button))

    async def reboot(self) -> None:
        if self._power == PowerState.OFF:
            return
        self._counters["reboots"] += 1
        await self._go_down(PowerState.BOOTING)
        self._start_boot()

    async def power_off(self) -> None:
        if self._power == PowerState.OFF:
            return
        await self._go_down(PowerState.OFF)

    async def power_on(self) -> None:
        if self._power != PowerState.OFF:
            return
        self._counters["power_cycles"] += 1
        self._start_boot()

    async def press_reset_button(self) -> None:
        await self._go_down(PowerState.BOOTING)
        # The reset happens while the button is held, before the boot completes.
        self._factory_defaults(full=True)
        self._start_boot(reset_button=False)

    async def shutdown(self) -> None:
        """Fleet shutdown: stop boot tasks and listeners without counting anything."""
        await self._go_down(PowerState.OFF)

    def schedule(self, action: Callable[[], Coroutine[Any, Any, None]],
                 delay: float = 0.05) -> None:
        """Run `action` shortly after the current HTTP answer has been sent."""
        loop = asyncio.get_running_loop()

        def fire() -> None:
            task = loop.create_task(action())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        loop.call_later(delay, fire)

    def _factory_defaults(self, full: bool) -> None:
        kind = "full" if full else "basic"
        self._counters["factory_resets"] += 1
        self._counters[f"factory_resets_{kind}"] += 1
        s = self.state
        if full:
            s.activated = False
            s.credentials = []
            if self.policy.full_reset_clears_email:
                s.email = None
            s.salt = secrets.token_hex(32)
        elif not self.policy.basic_reset_keeps_email:
            s.email = None
        p = self.policy
        s.lock_enabled, s.lock_max_attempts, s.lock_minutes = (
            p.lock_enabled, p.lock_max_attempts, p.lock_minutes)
        s.ssh_enabled = False
        s.codes, s.qr_text, s.wrong_codes = [], None, 0
        self.save()
        self._clear_volatile()

    async def factory_reset(self, mode: str) -> None:
        """Spec §8: basic keeps network, users and e-mail; full returns to inactive."""
        if mode not in ("basic", "full"):
            raise bad_parameters()
        self._factory_defaults(full=mode == "full")
        await self.reboot()

    # ---- lock and login ----------------------------------------------------------------------

    def _lock_max(self) -> int:
        return self.state.lock_max_attempts

    def lock_status(self, address: str) -> tuple[bool, int]:
        entry = self._locks.get(address)
        now = time.monotonic()
        if entry and entry.locked_until > now:
            return True, int(entry.locked_until - now) + 1
        return False, 0

    def login(self, address: str, verify: Callable[[Credential], bool]) -> None:
        """One login attempt of `admin` from `address`; raises LoginRefused on failure."""
        locked, seconds = self.lock_status(address)
        if locked:
            raise LoginRefused(True, seconds, 0)
        entry = self._locks.setdefault(address, _LockEntry())
        if entry.locked_until:  # an expired lock starts a fresh count
            entry.fails, entry.locked_until = 0, 0.0
        if self.state.activated and any(verify(c) for c in self.state.credentials):
            self._locks.pop(address, None)
            return
        entry.fails += 1
        limit = self._lock_max()
        if (self.state.lock_enabled and self.policy.lock_engages and entry.fails >= limit):
            entry.locked_until = time.monotonic() + self.state.lock_minutes * 60
            raise LoginRefused(True, self.state.lock_minutes * 60, 0)
        raise LoginRefused(False, 0, max(limit - entry.fails, 0))

    def digest_login(self, creds: crypto.DigestCredentials, method: str, address: str) -> None:
        if creds.username != USER:
            self.login(address, lambda _c: False)
        if (creds.algorithm != self.policy.digest_algorithm
                and not self.policy.digest_accept_other_algorithm):
            self.login(address, lambda _c: False)
        attr = "ha1_md5" if creds.algorithm == "MD5" else "ha1_sha256"
        self.login(address, lambda c: crypto.digest_response_ok(creds, method, getattr(c, attr)))

    def session_capabilities(self) -> dict[str, str | int]:
        now = time.monotonic()
        for sid in [s for s, (_c, exp) in self._session_ids.items() if exp < now]:
            del self._session_ids[sid]
        while len(self._session_ids) >= 256:
            self._session_ids.pop(next(iter(self._session_ids)))
        sid, challenge = secrets.token_hex(32), secrets.token_hex(16)
        self._session_ids[sid] = (challenge, now + self.policy.session_id_lifetime_s)
        cap: dict[str, str | int] = {
            "sessionID": sid, "challenge": challenge,
            "iterations": self.policy.session_login_iterations, "salt": self.state.salt,
            "sessionIDVersion": self.policy.session_id_version}
        if self.policy.session_id_version == "2.1":
            cap["salt2"] = self.state.salt2
        return cap

    def _session_base(self, stored: str) -> str:
        """What the iterated login hash starts from, by the device's sessionIDVersion."""
        if self.policy.session_id_version == "2.1":
            return crypto.version_21_base(USER, self.state.salt2, stored)
        return stored

    def session_login(self, user: str, session_id: str, password_hash: str,
                      address: str) -> str:
        """Check the iterated hash; answer the new session's cookie value."""
        found = self._session_ids.pop(session_id, None)
        if found is None or found[1] < time.monotonic():
            # An unknown or stale sessionID is a failed login like a wrong password.
            self.login(address, lambda _c: False)
            raise AssertionError("unreachable")
        challenge = found[0]
        iterations = self.policy.session_login_iterations
        self.login(address, lambda c: user == USER and crypto.session_login_hash(
            self._session_base(c.stored), challenge, iterations) == password_hash.lower())
        token = secrets.token_hex(32)
        self._sessions[token] = time.monotonic()
        return token

    def session_valid(self, token: str) -> bool:
        """True for a live session, which this use keeps alive (as a heartbeat does)."""
        last = self._sessions.get(token)
        now = time.monotonic()
        if last is None or now - last > self.policy.session_timeout_s:
            self._sessions.pop(token, None)
            return False
        self._sessions[token] = now
        return True

    def session_logout(self, token: str) -> None:
        self._sessions.pop(token, None)

    # ---- activation --------------------------------------------------------------------------

    def new_challenge(self, public_key_field: str) -> str:
        """Spec §3: answer the Base64 RSA cipher of 32 random hex characters."""
        now = time.monotonic()
        for c in [c for c, exp in self._challenges.items() if exp < now]:
            del self._challenges[c]
        while len(self._challenges) >= self.policy.max_outstanding_challenges:
            self._challenges.pop(next(iter(self._challenges)))
        challenge = crypto.new_challenge()
        try:
            cipher = crypto.encrypt_challenge(public_key_field, challenge)
        except crypto.CryptoInputError:
            raise bad_parameters() from None
        self._challenges[challenge] = now + self.policy.challenge_lifetime_s
        return cipher

    def _take_password(self, encrypted: str) -> str:
        """Decrypt with whichever outstanding challenge fits; each is single-use."""
        now = time.monotonic()
        for challenge, expires in list(self._challenges.items()):
            if expires < now:
                del self._challenges[challenge]
                continue
            password = crypto.decrypt_password(challenge, encrypted)
            if password is not None:
                del self._challenges[challenge]
                return password
        raise bad_parameters()

    def _check_new_password(self, password: str) -> None:
        problem = passwords.check_new_password(
            password, refuse_risky=self.policy.refuse_risky,
            recorder_2020_rules=self.policy.recorder_2020_rules,
            max_length=self.policy.password_max_length)
        if problem:
            raise DeviceError(400, 6, problem)

    def _credential(self, password: str) -> Credential:
        return Credential(
            stored=crypto.irreversible_hash(USER, self.state.salt, password),
            ha1_md5=crypto.digest_ha1("MD5", USER, self.realm, password),
            ha1_sha256=crypto.digest_ha1("SHA-256", USER, self.realm, password),
            risky=passwords.strength(password) == 0)

    # ---- field encryption security=1 ---------------------------------------------------------

    def field_keys(self, password: str | None) -> list[bytes]:
        """The `security=1` keys to try: from `password` when the device knows which one the
        client used (the empty one of emailCertification), else from every stored hash, as
        the device keeps no password (spec §10)."""
        iterations = self.policy.key_iterate_num
        if password is not None:
            return [crypto.field_key(crypto.irreversible_hash(USER, self.state.salt, password),
                                     iterations)]
        return [crypto.field_key(c.stored, iterations) for c in self.state.credentials]

    def decrypt_fields(self, iv: str, fields: dict[str, str],
                       keys: list[bytes]) -> dict[str, str] | None:
        """`fields` opened under the first key that opens every one of them, else None."""
        for key in keys:
            opened = {name: crypto.decrypt_field(key, iv, value,
                                                 self.policy.field_zero_padding_ok)
                      for name, value in fields.items()}
            if all(v is not None for v in opened.values()):
                return {name: v for name, v in opened.items() if v is not None}
        return None

    def _validate_email(self, address: str) -> str:
        address = address.strip()
        well_formed = (_EMAIL_RE.match(address) if self.policy.email_format_checked
                       else "@" in address)
        if not (1 <= len(address) <= self.policy.email_max_length) or not well_formed:
            raise bad_parameters()
        return address

    def activate(self, encrypted_password: str) -> None:
        """Spec §3; the recorder reserves its address afterwards through email/parameter."""
        if self.state.activated and self.policy.refuse_reactivation:
            raise DeviceError(403, 4, "invalidOperation")
        password = self._take_password(encrypted_password)
        self._check_new_password(password)
        self.state.credentials = [self._credential(password)]
        self.state.activated = True
        self._counters["activations"] += 1
        self.save()

    def activate_as_installed(self, password: str) -> None:
        """Activated with `password` and no reserved address, as a lab's installer leaves a
        device (the rehearsal lab); the firmware's password rules apply."""
        self._check_new_password(password)
        self.state.credentials = [self._credential(password)]
        self.state.activated = True
        self.save()

    def change_password(self, old_password: str, new_password: str, address: str) -> None:
        """User management: the old password must be right (it counts towards the lock)."""
        self.login(address, lambda c: c.stored == crypto.irreversible_hash(
            USER, self.state.salt, old_password))
        self._check_new_password(new_password)
        self.state.credentials = [self._credential(new_password)]
        self.save()

    # ---- lock settings, ssh ------------------------------------------------------------------

    def set_illegal_login_lock(self, enabled: bool, max_times: int, minutes: int) -> None:
        in_range = (LOCK_ATTEMPTS_RANGE[0] <= max_times <= LOCK_ATTEMPTS_RANGE[1]
                    and LOCK_MINUTES_RANGE[0] <= minutes <= LOCK_MINUTES_RANGE[1])
        if self.policy.lock_ranges_checked and not in_range:
            raise bad_parameters()
        s = self.state
        s.lock_enabled, s.lock_max_attempts, s.lock_minutes = enabled, max_times, minutes
        self.save()

    async def set_ssh(self, enabled: bool) -> None:
        if enabled == self.state.ssh_enabled:
            return
        self.state.ssh_enabled = enabled
        self.save()
        if self.listener is not None and self._power == PowerState.ON:
            await (self.listener.start_ssh() if enabled else self.listener.stop_ssh())

    # ---- reserved e-mail ---------------------------------------------------------------------

    def masked_email(self) -> str | None:
        if not self.state.email:
            return None
        return mask_email(self.state.email) if self.policy.email_masked else self.state.email

    def set_reserved_email(self, admin_password: str, address: str, client: str) -> None:
        if not self.policy.email_reset_offered:
            raise not_support()
        def check(c: Credential) -> bool:
            return c.stored == crypto.irreversible_hash(USER, self.state.salt, admin_password)

        if self.policy.email_change_requires_password:
            try:
                self.login(client, check)
            except LoginRefused as refused:
                if refused.locked:
                    raise
                raise DeviceError(401, 4, "passwordError", refused.retry_left) from None
        new = self._validate_email(address)
        if new != self.state.email and self.policy.code_void_on_email_change:
            self.state.codes, self.state.qr_text, self.state.wrong_codes = [], None, 0
        self.state.email = new
        self.save()

    def reset_methods(self) -> dict[str, bool]:
        offered = self.policy.email_reset_offered
        return {
            "isSupportWithSecurityEmail": offered and self.state.activated
            and bool(self.state.email),
            "isSupportWithSecurityQuestion": self.policy.offers_security_question,
            "isSupportWithGUIDFileData": self.policy.offers_guid_file,
            "isSupportWithHCApp": offered,
        }

    # ---- QR and verification code ------------------------------------------------------------

    def new_qr(self) -> str:
        """Spec §7: each request makes a new QR and voids the previous one."""
        s = self.state
        if not (self.policy.email_reset_offered and s.activated and s.email):
            raise not_support()
        now = time.time()
        if not self.policy.regenerate_qr and s.qr_text and any(not c.voided for c in s.codes):
            return s.qr_text
        nonce = secrets.token_hex(8)
        key = bytes.fromhex(s.stale_cloud_key if self.policy.seal_with_stale_key
                            else s.cloud_key)
        text = cloudcrypto.qr_text(cloudcrypto.QrPayload(
            self.serial, nonce, int(now), cloudcrypto.seal_address(key, s.email)))
        code = PendingCode(nonce, now)
        if self.policy.code_void_on_new_qr:
            for earlier in s.codes:
                earlier.voided = True
        # The newest codes are kept so a voided one is still recognised; older ones go.
        s.codes = [*s.codes, code][-_CODES_KEPT:]
        s.qr_text = text
        s.wrong_codes = 0
        self.save()
        return text

    def _live_code(self, code: str) -> PendingCode:
        """The outstanding code `code` names; a wrong one counts towards the limit."""
        s = self.state
        if not self.policy.email_reset_offered:
            raise not_support()
        now = time.time()

        def is_live(c: PendingCode) -> bool:
            return (not c.used and not c.voided
                    and now - c.issued_at < self.policy.code_validity_s)

        limit = self.policy.wrong_code_limit
        if not any(is_live(c) for c in s.codes) or (
                limit is not None and s.wrong_codes >= limit):
            raise DeviceError(400, 6, "verificationCodeExpired")
        match = next((c for c in reversed(s.codes)
                      if self._code_matches(cloudcrypto.derive_code(self.cloud_key, c.nonce),
                                            code.strip())), None)
        if match is not None and not is_live(match):
            # A known code that is used, voided by a new QR or past its validity: void,
            # not wrong (docs/device-api.md), so it does not count as a wrong entry.
            raise DeviceError(400, 6, "verificationCodeExpired")
        if match is None:
            s.wrong_codes += 1
            self.save()
            left = None if limit is None else max(limit - s.wrong_codes, 0)
            raise DeviceError(400, 6, "verificationCodeError", left)
        if s.wrong_codes:
            s.wrong_codes = 0
            self.save()
        return match

    def _code_matches(self, issued: str, entered: str) -> bool:
        """Spec §7: compared without case, every character ([dec] knobs for defects)."""
        if self.policy.code_case_insensitive:
            entered = entered.upper()
        chars = self.policy.code_compared_chars
        if chars is not None:
            return len(entered) >= chars and issued[:chars] == entered[:chars]
        return issued == entered

    def check_code(self, code: str) -> None:
        """emailCertification with securityCode only: the code is checked, not used up."""
        self._live_code(code)

    def _reset_password_value(self, value: str) -> str:
        """resetPassword is plain, or (longer than a password may be) Base64(hex(AES)) under
        a fresh challenge, as at activation."""
        if len(value) > self.policy.plain_reset_password_max:
            return self._take_password(value)
        return value

    def reset_by_code(self, code: str, new_password: str) -> None:
        """emailCertification with securityCode and resetPassword: set it, use the code up.

        A refused password (bad form or rules) leaves the code unused."""
        match = self._live_code(code)
        password = self._reset_password_value(new_password)
        if self.policy.reset_checks_password_rules:
            self._check_new_password(password)
        elif not password:
            raise bad_parameters()
        if self.policy.code_single_use:
            match.used = True
        new = self._credential(password)
        if self.policy.old_password_valid_after_reset:
            self.state.credentials = [new, *self.state.credentials]
        else:
            self.state.credentials = [new]
        if self.policy.close_sessions_after_reset:
            self._sessions.clear()
        if self.policy.clear_locks_after_reset:
            self._locks.clear()
        if not self.policy.email_kept_after_reset:
            self.state.email = None
        self._counters["password_resets"] += 1
        self.save()
