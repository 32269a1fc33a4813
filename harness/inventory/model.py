"""The lab inventory: devices.yaml as typed models, with secrets only by reference.

The inventory says what a lab holds and where; clients say how to reach it. Secrets are
never in the file: a field `password_env` names the environment variable that holds one,
read only when a test needs it (`secret()`). Every mistake in the file becomes one line
naming the file, the field and what was expected (`InventoryError`).
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import os
import re
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any, Final, Literal
from urllib.parse import SplitResult, urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from harness.catalogue import (
    Firmware,
    FirmwareFormatError,
    GuiGeneration,
    ProductLine,
    UnknownModelError,
    line_of_model,
    parse_firmware,
)
from harness.clients.tls import check_spki_pin
from harness.evidence import Secret

DEFAULT_INVENTORY: Final = Path(__file__).resolve().parents[2] / "devices.yaml"
SCHEMA_FILE: Final = Path(__file__).resolve().parents[2] / "devices.schema.json"


class InventoryError(Exception):
    """A mistake in devices.yaml, as one line: `file: field.path: what is expected`."""


class MissingSecret(InventoryError):
    """An environment variable named by a `*_env` field is not set."""


def read_secret(variable: str, what: str) -> Secret:
    """The value of `variable` (a `Secret`: its repr is masked), or `MissingSecret` naming
    the variable and what it holds."""
    value = os.environ.get(variable)
    if not value:
        raise MissingSecret(
            f"environment variable {variable} is not set: "
            f"it must hold {what} (named in devices.yaml)"
        )
    return Secret(value)


# --- field types ------------------------------------------------------------------------

_NAME_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_ENV_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_URL_RE: Final = re.compile(r"^https?://[^\s/]+(:\d+)?(/\S*)?$")


def _check_name(value: str) -> str:
    if not _NAME_RE.match(value):
        raise ValueError(
            "expected a device name of letters, digits, '.', '_' or '-' (at most 64), "
            f"got {value!r}"
        )
    return value


def _check_firmware(value: str) -> str:
    try:
        parse_firmware(value)
    except FirmwareFormatError:
        raise ValueError(f"expected a firmware version like V5.6.3, got {value!r}") from None
    return value


def _check_model(value: str) -> str:
    try:
        line_of_model(value)
    except UnknownModelError as exc:
        raise ValueError(str(exc)) from None
    return value


def _check_env(value: str) -> str:
    if not _ENV_RE.match(value):
        raise ValueError(
            f"expected the name of an environment variable, e.g. HIL_NVR1_PASSWORD, got {value!r}"
        )
    return value


def canonical_defect(name: str) -> str:
    """A defect name as the emulator lists it: hyphens and spaces read as underscores."""
    return re.sub(r"[-\s]+", "_", name.strip())


def _masked_url(value: str) -> str:
    """`value` as it may be echoed: user and password replaced, at most 80 characters."""
    masked = re.sub(r"//[^/@\s]*@", "//***@", value)
    return masked if len(masked) <= 80 else masked[:77] + "..."


def _without_credentials(value: str) -> tuple[SplitResult, str, int | None]:
    """(parts, the value as it may be echoed, its port or 0 when invalid) of an address that
    carries no credentials: a ValueError otherwise, which does not echo them."""
    shown = _masked_url(value)
    parts = urlsplit(value)
    if "@" in parts.netloc:
        # The address would be printed by `hil devices list` and in probe errors.
        raise ValueError(
            f"credentials in the address ({shown!r}): give the password by password_env, "
            "never in the URL"
        )
    try:
        port = parts.port
    except ValueError:
        port = 0
    return parts, shown, port


def _check_url(value: str) -> str:
    shown = _masked_url(value)
    if not _URL_RE.match(value):
        raise ValueError(
            f"expected a base URL like https://192.0.2.10 or http://host:8080, got {shown!r}"
        )
    parts, shown, port = _without_credentials(value)
    if port == 0:
        raise ValueError(f"the port of {shown!r} is not between 1 and 65535")
    if not parts.hostname:
        raise ValueError(f"no host in {shown!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        # Requests would go to <path>/SDK/activateStatus: a device's API is at its root.
        raise ValueError(
            f"expected the device's root URL without a path, query or fragment, got {shown!r}"
        )
    return value.rstrip("/")


def address_of(base_url: str) -> tuple[str, int]:
    """(host, port) a base URL reaches, the scheme's default port filled in."""
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return (parts.hostname or "").lower(), port


def _check_redis_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ValueError(
            f"expected redis://host[:port][/db] or rediss://..., got {_masked_url(value)!r}"
        )
    _, shown, port = _without_credentials(value)
    if port == 0 or not re.fullmatch(r"/?\d*", parts.path) or parts.query or parts.fragment:
        raise ValueError(f"expected redis://host[:port][/db] with a port 1-65535, got {shown!r}")
    return value


DeviceName = Annotated[str, AfterValidator(_check_name)]
FirmwareText = Annotated[str, AfterValidator(_check_firmware)]
ModelName = Annotated[str, AfterValidator(_check_model)]
EnvName = Annotated[str, AfterValidator(_check_env)]
BaseUrl = Annotated[str, AfterValidator(_check_url)]
Port = Annotated[int, Field(ge=1, le=65535)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- devices ----------------------------------------------------------------------------


class _DeviceBase(_Model):
    name: DeviceName
    model: ModelName = Field(description="Model name, e.g. DS-7608NI-K2; decides the product line")
    firmware: FirmwareText = Field(description="Firmware as claimed, e.g. V4.21.000")

    @property
    def line(self) -> ProductLine:
        """The product line of this device's model."""
        return line_of_model(self.model)

    @property
    def firmware_version(self) -> Firmware:
        """The claimed firmware, parsed."""
        return parse_firmware(self.firmware)

    @property
    def gui_generation(self) -> GuiGeneration:
        """The GUI generation QA expects at this line and firmware."""
        return self.line.gui_generation(self.firmware_version)

    @property
    def supports_reserved_email_reset(self) -> bool:
        """Whether QA expects "Verify by Reserved Email" at this firmware."""
        return self.line.supports_reserved_email_reset(self.firmware_version)


# One pin or a list: the validators turn a single string into a one-pin tuple, and the
# published schema says both are accepted (as the docs show a single string).
SpkiPins = Annotated[tuple[str, ...], WithJsonSchema({
    "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]})]


class TlsSettings(_Model):
    verify: bool = Field(default=True, description="Verify the device's certificate")
    ca_file: Path | None = Field(
        default=None,
        description="PEM CA bundle of a lab CA; a relative path is taken from the working "
        "directory",
    )
    spki_sha256: SpkiPins = Field(
        default=(),
        description="Pin(s) of the device's certificate: base64 SHA-256 of its public key "
        "(SubjectPublicKeyInfo), one or a list; the certificate is then accepted by its key "
        "alone (self-signed), by the ISAPI clients and the browser",
    )

    @field_validator("spki_sha256", mode="before")
    @classmethod
    def _pins(cls, value: object) -> object:
        pins = (value,) if isinstance(value, str) else value
        if isinstance(pins, list | tuple):
            for index, pin in enumerate(pins):
                if isinstance(pin, str):
                    try:
                        check_spki_pin(pin)
                    except ValueError as exc:
                        # A message starting with '[' continues the field path (_location).
                        where = f"[{index}]: " if not isinstance(value, str) else ""
                        raise ValueError(f"{where}{exc}") from None
        return pins


_SSH_FINGERPRINT_RE: Final = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}$")


def _check_host_key(value: str) -> str:
    """A `SHA256:...` fingerprint as `ssh-keygen -lf` prints it, or a known_hosts path
    (whose file is checked by `load_inventory`)."""
    looks_like_fingerprint = value.upper().startswith(("SHA256:", "MD5:")) or re.fullmatch(
        r"([0-9a-fA-F]{2}:){15}[0-9a-fA-F]{2}", value)
    if looks_like_fingerprint and not _SSH_FINGERPRINT_RE.match(value):
        raise ValueError(
            "expected a host key fingerprint SHA256:<43 base64 characters> as "
            f"`ssh-keyscan HOST | ssh-keygen -lf -` prints it, or a known_hosts file, "
            f"got {_short(value)}"
        )
    if not value.strip():
        raise ValueError("expected a SHA256:... fingerprint or a known_hosts file, got ''")
    return value


def _check_host_keys(value: str | tuple[str, ...]) -> str | tuple[str, ...]:
    """One fingerprint or known_hosts file, or a list of fingerprints (a host with several
    host keys, pinned by any of them)."""
    if isinstance(value, str):
        return _check_host_key(value)
    if not value:
        raise ValueError("expected one SHA256:... fingerprint or a list of them, got []")
    for index, item in enumerate(value):
        if not _SSH_FINGERPRINT_RE.match(item):
            raise ValueError(
                f"[{index}]: expected a host key fingerprint SHA256:<43 base64 characters> "
                f"(a list holds fingerprints only; a known_hosts file is given alone), got "
                f"{_short(item)}")
    return value


SshHostKey = Annotated[str | tuple[str, ...], AfterValidator(_check_host_keys)]
_HOST_KEY_HELP: Final = (
    "The SSH host key(s) pinned: a fingerprint SHA256:... (as `ssh-keygen -lf` prints it), "
    "a list of them (any of the host's keys), or an OpenSSH known_hosts file (relative to "
    "the working directory); absent: the key is trusted on first use for the run"
)


class RealDevice(_DeviceBase):
    """A device on the lab network."""

    kind: Literal["real"]
    base_url: BaseUrl = Field(description="http(s)://address[:port] of the web GUI and ISAPI")
    tls: TlsSettings = TlsSettings()
    password_env: EnvName = Field(description="Environment variable holding the admin password")
    ssh_port: Port = 22
    ssh_host_key: SshHostKey | None = Field(default=None, description=_HOST_KEY_HELP)
    outlet: str | None = Field(
        default=None, description="The lab controller's outlet/relay for this device"
    )

    def secret(self) -> Secret:
        """The admin password, from the environment variable `password_env`."""
        return read_secret(self.password_env, f"the admin password of device {self.name!r}")


class EmulationSettings(_Model):
    """How an emulated device speaks where real firmware differs (docs/device-api.md,
    "Per-device settings of the emulator"); an absent key keeps the emulator's default."""

    digest_algorithm: Literal["MD5", "SHA-256"] | None = Field(
        default=None, description="The Digest algorithm the device offers (default MD5)"
    )
    session_id_version: Literal["2", "2.1"] | None = Field(
        default=None,
        description='Session login hash version, quoted: "2" (default) or "2.1" (with salt2)',
    )
    session_timeout_s: float | None = Field(
        default=None, gt=0, le=86_400,
        description="Seconds a session lives without a request or heartbeat (default 120)",
    )

    @field_validator("session_id_version", mode="before")
    @classmethod
    def _quoted_version(cls, value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool):
            # YAML reads 2.1 unquoted as a number; say so rather than "expected '2'".
            raise ValueError(f'expected "2" or "2.1" in quotes, got the number {value!r}')
        return value

    def fleet_keys(self) -> dict[str, object]:
        """The settings given, under the fleet config's names (absent ones left out)."""
        return self.model_dump(exclude_none=True)


class EmulatedDevice(_DeviceBase):
    """A device played by the emulator on loopback."""

    kind: Literal["emulated"]
    defects: tuple[str, ...] = Field(
        default=(), description="Named firmware defects the emulator plays"
    )
    boot_seconds: float = Field(default=0, ge=0, le=600)
    latency_ms: int = Field(default=0, ge=0, le=60_000)

    @field_validator("defects")
    @classmethod
    def _canonical_defects(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        # Docs and people write `code-reusable` as often as `code_reusable`: one name.
        return tuple(canonical_defect(name) for name in names)
    emulation: EmulationSettings = Field(
        default=EmulationSettings(),
        description="Per-device protocol settings: digest_algorithm, session_id_version, "
        "session_timeout_s",
    )


AnyDevice = RealDevice | EmulatedDevice
Device = Annotated[AnyDevice, Field(discriminator="kind")]

# --- mailbox, cloud, lab controller, leases --------------------------------------------


class SmtpSinkConfig(_Model):
    """The emulated lab's mailbox: an SMTP sink on loopback writing a Maildir."""

    kind: Literal["smtp-sink"]
    port: Port | None = Field(default=None, description="Fixed port; a free one when absent")
    domain: str = Field(
        default="hil.test", description="Domain of the reserved addresses tests make up"
    )


class ImapConfig(_Model):
    """A real mailbox the lab's reserved addresses deliver to (harness/clients/imapbox.py)."""

    kind: Literal["imap"]
    host: str
    port: Port = 993
    tls: Literal["ssl", "starttls"] = Field(
        default="ssl", description="ssl: TLS from the first byte (993); starttls: plain IMAP "
        "upgraded by STARTTLS before login (143)"
    )
    ca_file: Path | None = Field(
        default=None, description="PEM CA bundle of the lab CA that signed the server's "
        "certificate (relative to the working directory); system CAs when absent"
    )
    spki_sha256: SpkiPins = Field(
        default=(), description="Pin(s) of the server's certificate: base64 SHA-256 of its "
        "public key, as for devices' tls.spki_sha256; the chain is then checked only if "
        "ca_file is given too"
    )
    auth: Literal["password", "xoauth2"] = Field(
        default="password", description="password: LOGIN with password_env; xoauth2: an "
        "OAuth 2 access token from token_env (Exchange Online, Gmail)"
    )
    user: str
    password_env: EnvName | None = Field(
        default=None, description="Environment variable holding the password (auth: password)"
    )
    token_env: EnvName | None = Field(
        default=None, description="Environment variable holding the access token "
        "(auth: xoauth2); read each time the mailbox is opened (each mail wait), so a "
        "refreshed token is picked up"
    )
    folder: str = "INBOX"
    address: str | None = Field(
        default=None, description="The address to reserve; the user when absent"
    )

    @field_validator("spki_sha256", mode="before")
    @classmethod
    def _pins(cls, value: object) -> object:
        return TlsSettings._pins(value)  # one pin or a list, each checked as for devices

    @model_validator(mode="after")
    def _credential_for_auth(self) -> ImapConfig:
        wanted, other = (
            ("password_env", "token_env") if self.auth == "password" else
            ("token_env", "password_env")
        )
        if getattr(self, wanted) is None:
            raise ValueError(f"auth {self.auth} needs {wanted} (the variable holding it)")
        if getattr(self, other) is not None:
            raise ValueError(f"auth {self.auth} takes {wanted}, not {other}")
        return self

    def secret(self) -> Secret:
        """The IMAP password or access token (per `auth`), from its environment variable."""
        if self.auth == "xoauth2":
            assert self.token_env is not None  # _credential_for_auth
            return read_secret(
                self.token_env, f"the IMAP access token of {self.user}@{self.host}"
            )
        assert self.password_env is not None  # _credential_for_auth
        return read_secret(self.password_env, f"the IMAP password of {self.user}@{self.host}")


Mailbox = Annotated[SmtpSinkConfig | ImapConfig, Field(discriminator="kind")]


class EmulatedCloud(_Model):
    """The emulated vendor cloud's HTTP API, called as the phone app would."""

    kind: Literal["emulated"]
    min_app_version: str = "3.5.4"


# The emulated vendor's recovery address (emulator/cloud.py RECOVERY_ADDRESS): written here
# again, QA's copy, as the design keeps the two sides apart.
EMULATED_RECOVERY_ADDRESS: Final = "pw_recovery@cloud.hik-emulator.test"


SMTP_PORTS: Final = {"starttls": 587, "ssl": 465, "none": 25}


class SmtpConfig(_Model):
    """The lab's SMTP submission server the Export channel mails through (`cloud.smtp`)."""

    host: str
    port: Port | None = Field(default=None,
                              description="587 with tls: starttls, 465 with ssl, 25 with none "
                                          "when absent")
    user: str | None = Field(default=None, description="AUTH user; no AUTH when absent")
    password_env: EnvName | None = Field(default=None,
                                         description="Environment variable of the AUTH password")
    tls: Literal["starttls", "ssl", "none"] = Field(
        default="starttls",
        description="starttls: plain SMTP upgraded by STARTTLS before AUTH (587); ssl: TLS "
        "from the first byte (465); none: no TLS, only without AUTH (a relay inside the lab)")
    ca_file: Path | None = Field(
        default=None, description="PEM CA to verify the server with; system CAs when absent")

    @model_validator(mode="before")
    @classmethod
    def _starttls_spelling(cls, data: object) -> object:
        """`starttls: true|false`, this entry's first spelling, is `tls: starttls|none`."""
        if not isinstance(data, dict) or "starttls" not in data:
            return data
        if "tls" in data:
            raise ValueError("give tls alone (starttls: true|false is its older spelling)")
        data = dict(data)
        value = data.pop("starttls")
        if not isinstance(value, bool):
            raise ValueError(f"starttls: expected true or false, got {_short(value)}")
        data["tls"] = "starttls" if value else "none"
        return data

    @field_validator("tls")
    @classmethod
    def _no_password_in_clear(cls, value: str, info: ValidationInfo) -> str:
        if value == "none" and info.data.get("user") is not None:
            raise ValueError(
                "AUTH (user) over plain SMTP would send the password in clear: use tls: "
                "starttls (port 587) or ssl (465)")
        return value

    @model_validator(mode="after")
    def _auth_complete(self) -> SmtpConfig:
        if (self.user is None) != (self.password_env is None):
            raise ValueError("user and password_env go together (AUTH needs both)")
        return self

    @property
    def submission_port(self) -> int:
        """`port`, else the usual port of `tls`."""
        return self.port or SMTP_PORTS[self.tls]

    def secret(self) -> Secret | None:
        """The AUTH password, from `password_env` (None without AUTH)."""
        if self.password_env is None:
            return None
        return read_secret(self.password_env,
                           f"the SMTP password of {self.user}@{self.host}:{self.submission_port}")


class ExportCloud(_Model):
    """Unattended: the QR picture is mailed to the vendor's recovery address (Export
    channel); the code comes back to the reserved mailbox."""

    kind: Literal["export"]
    recovery_address: str = Field(default=EMULATED_RECOVERY_ADDRESS, pattern=r"^[^@\s]+@[^@\s]+$")
    sender: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$",
                               description="From: address; the reserved mailbox's when absent")
    smtp: SmtpConfig | None = Field(
        default=None,
        description="The lab's submission server; absent: the emulated cloud's own "
                    "(AUTH + STARTTLS), which only an emulated lab has")


class AttendedCloud(_Model):
    """A person scans the QR with the vendor's app; the harness shows it on the terminal.
    `manual` is the deprecated name of this kind (docs/real-lab.md)."""

    kind: Literal["attended", "manual"]
    timeout_s: float = Field(default=600.0, gt=0, le=86400,
                             description="How long the person has: the countdown and the mail wait")


class NoCloud(_Model):
    """No phone step in this lab: the tests that need one are skipped with the reason."""

    kind: Literal["none"]


# `manual` was the attended kind's first name; kept as an alias so older inventories load.
ManualCloud = AttendedCloud

Cloud = Annotated[EmulatedCloud | ExportCloud | AttendedCloud | NoCloud,
                  Field(discriminator="kind")]


class EmulatedLabController(_Model):
    kind: Literal["emulated"]
    username: str = "lab"


class RealLabController(_Model):
    """The relay/PDU box of a real lab, reached by SSH."""

    kind: Literal["real"]
    host: str
    port: Port = 22
    user: str
    password_env: EnvName
    ssh_host_key: SshHostKey | None = Field(default=None, description=_HOST_KEY_HELP)

    def secret(self) -> Secret:
        """The lab controller's SSH password, from `password_env`."""
        return read_secret(self.password_env, f"the SSH password of lab controller {self.host}")


LabController = Annotated[EmulatedLabController | RealLabController, Field(discriminator="kind")]


class FileLeases(_Model):
    """Leases as file locks in one directory: one machine, any number of processes."""

    kind: Literal["file"]
    directory: Path = Path(".lab/leases")


class RedisLeases(_Model):
    """Leases as Redis keys with a TTL, renewed by a heartbeat and fenced by a token: runners
    on several machines share one lab (harness/lab/redisleases.py)."""

    kind: Literal["redis"]
    url: Annotated[str, AfterValidator(_check_redis_url)] = Field(
        default="redis://127.0.0.1:6379/0",
        description="redis:// or rediss:// address of the lab's Redis (no credentials in it)",
    )
    password_env: EnvName | None = Field(
        default=None, description="Environment variable holding the Redis password"
    )
    ttl_s: float = Field(default=30.0, gt=1, le=3600,
                         description="A lease expires this long after its holder stops")
    prefix: str = Field(default="hil", pattern=r"^[A-Za-z0-9_.-]{1,40}$",
                        description="Key prefix, one per lab sharing a Redis")


Leases = Annotated[FileLeases | RedisLeases, Field(discriminator="kind")]


class Inventory(_Model):
    """A whole lab: devices, the mailbox, the cloud, the lab controller, the lease backend."""

    # No min_length: pydantic would add a spurious "too short" error when an entry is wrong.
    devices: tuple[Device, ...]
    mailbox: Mailbox = SmtpSinkConfig(kind="smtp-sink")
    cloud: Cloud = EmulatedCloud(kind="emulated")
    lab_controller: LabController = EmulatedLabController(kind="emulated")
    leases: Leases = FileLeases(kind="file")

    @field_validator("devices")
    @classmethod
    def _names_unique(cls, devices: tuple[AnyDevice, ...]) -> tuple[AnyDevice, ...]:
        if not devices:
            raise ValueError("expected at least one device")
        first: dict[str, int] = {}
        for index, device in enumerate(devices):
            if device.name in first:
                # A message starting with '[' continues the field path (see _location).
                raise ValueError(
                    f"[{index}].name: duplicate device name {device.name!r} "
                    f"(first at devices[{first[device.name]}])"
                )
            first[device.name] = index
        # Two entries at one address would let two workers drive one physical device at
        # once: leases are per name.
        at: dict[tuple[str, int], int] = {}
        for index, device in enumerate(devices):
            if not isinstance(device, RealDevice):
                continue
            address = address_of(device.base_url)
            if address in at:
                raise ValueError(
                    f"[{index}].base_url: {address[0]}:{address[1]} is already the address of "
                    f"devices[{at[address]}] ({devices[at[address]].name!r}); one entry a device"
                )
            at[address] = index
        return devices

    def device(self, name: str) -> RealDevice | EmulatedDevice:
        """The device called `name`; `KeyError` naming the known ones otherwise."""
        for device in self.devices:
            if device.name == name:
                return device
        raise KeyError(
            f"no device {name!r} in the inventory "
            f"(known: {', '.join(d.name for d in self.devices)})"
        )

    @property
    def emulated_devices(self) -> tuple[EmulatedDevice, ...]:
        return tuple(d for d in self.devices if isinstance(d, EmulatedDevice))

    @property
    def real_devices(self) -> tuple[RealDevice, ...]:
        return tuple(d for d in self.devices if isinstance(d, RealDevice))

    @property
    def needs_emulator(self) -> bool:
        """True when some part of this lab is played by the emulator."""
        return bool(self.emulated_devices) or isinstance(self.cloud, EmulatedCloud)

    def digest(self) -> str:
        """A stable hash of the inventory, to tell whether a running lab was built from it."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


# --- loading ----------------------------------------------------------------------------

_TAGS: Final = frozenset({"real", "emulated", "smtp-sink", "imap", "manual", "export",
                           "attended", "none", "file", "redis"})


def _location(loc: tuple[int | str, ...]) -> str:
    """`('devices', 3, 'emulated', 'firmware')` → `devices[3].firmware`.

    Pydantic puts the discriminator's value into the location of a tagged union member;
    a reader of devices.yaml never wrote it, so it is dropped.
    """
    text = ""
    for index, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in _TAGS and index > 0:
            continue
        elif "[" in part or "." in part:
            # Dict keys and function-validator names are not field paths.
            continue
        else:
            text += f".{part}" if text else part
    return text


def _short(value: object) -> str:
    """A bad value as echoed in an error line: its repr, at most 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(error: Any) -> tuple[str, str]:
    """(extra path, message) for one pydantic error, in the inventory's words."""
    kind: str = error["type"]
    got = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "value_error":
        message = str(ctx.get("error", error["msg"]))
        if message.startswith("["):
            path, _, rest = message.partition(": ")
            return path, rest
        return "", message
    if kind == "missing":
        return "", "required field is missing"
    if kind == "extra_forbidden":
        return "", (f"unknown field (got {_short(got)}); "
                    "check the spelling against devices.schema.json")
    if kind == "union_tag_invalid":
        return "", f"expected kind to be one of {ctx.get('expected_tags')}, got {ctx.get('tag')!r}"
    if kind == "union_tag_not_found":
        return "", "missing 'kind' (what sort of entry this is)"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "", f"expected a whole number, got {_short(got)}"
    if kind in ("float_parsing", "float_type"):
        return "", f"expected a number, got {_short(got)}"
    if kind in ("bool_parsing", "bool_type"):
        return "", f"expected true or false, got {_short(got)}"
    if kind == "string_type":
        return "", f"expected text, got {_short(got)}"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bound = {
            "greater_than_equal": "at least",
            "less_than_equal": "at most",
            "greater_than": "more than",
            "less_than": "less than",
        }[kind]
        limit = next(iter(ctx.values()), "?")
        return "", f"expected a number {bound} {limit}, got {_short(got)}"
    if kind == "literal_error":
        return "", f"expected {ctx.get('expected')}, got {_short(got)}"
    if kind == "too_short":
        return (
            "",
            f"expected at least {ctx.get('min_length')} entries, got {ctx.get('actual_length')}",
        )
    if kind in ("tuple_type", "list_type"):
        return "", f"expected a list, got {_short(got)}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "", f"expected a mapping of fields, got {_short(got)}"
    return "", f"{error['msg']}, got {_short(got)}"


def _one_line(source: str, exc: ValidationError, text: str = "") -> str:
    errors = exc.errors()
    first = errors[0]
    extra_path, message = _describe(first)
    path = _location(tuple(first["loc"])) + extra_path
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{_where(source, text, path)}{message}{more}"


def _where(source: str, text: str, path: str) -> str:
    """`file: line N: field.path: ` (the line when the path can be found in the text)."""
    if not path:
        return f"{source}: "
    line = line_of(text, path)
    return f"{source}: line {line}: {path}: " if line else f"{source}: {path}: "


def line_of(text: str, path: str) -> int | None:
    """The line of `path` (`devices[2].defects[0]`) in inventory text; None if not found.

    Walks the composed node tree (aliases are not expanded, so an alias bomb stays
    cheap); the deepest node of the path that exists gives the line.
    """
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = None
    for key, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        child: yaml.Node | None = None
        if key and isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                    line, child = key_node.start_mark.line + 1, value_node
        elif index and isinstance(node, yaml.SequenceNode) and int(index) < len(node.value):
            child = node.value[int(index)]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


# Limits checked before and while parsing, so that a huge or hostile file is refused at once
# instead of after seconds of work or a MemoryError. A lab of thousands of devices fits.
MAX_INVENTORY_BYTES: Final = 1 << 20
MAX_INVENTORY_VALUES: Final = 100_000


class _InventoryLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing duplicate keys (YAML would keep the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[object, int] = {}
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the mapping's own constructor says so
                continue
            line = key_node.start_mark.line + 1
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {_short(key)} (first on line {first})",
                    key_node.start_mark)
            seen[key] = line
        return super().construct_mapping(node, deep)


def _count_values(data: object, limit: int) -> int:
    """How many values `data` holds with its aliases expanded, counting up to `limit` + 1."""
    count, stack = 0, [data]
    while stack and count <= limit:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


def parse_inventory(text: str, source: str = "devices.yaml") -> Inventory:
    """Parse inventory YAML (or JSON) text; `InventoryError` with one line on any mistake."""
    if len(text) > MAX_INVENTORY_BYTES:
        raise InventoryError(
            f"{source}: {len(text)} characters, more than an inventory may hold "
            f"({MAX_INVENTORY_BYTES}); is this the right file?"
        )
    try:
        data = yaml.load(text, Loader=_InventoryLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = exc.problem or str(exc)
        raise InventoryError(f"{source}: {line}invalid YAML ({problem})") from None
    except yaml.YAMLError as exc:
        raise InventoryError(f"{source}: invalid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise InventoryError(
            f"{source}: expected a mapping with 'devices:' at the top, got {type(data).__name__}"
        )
    if _count_values(data, MAX_INVENTORY_VALUES) > MAX_INVENTORY_VALUES:
        raise InventoryError(
            f"{source}: more than {MAX_INVENTORY_VALUES} values once its aliases are expanded "
            "(an alias bomb?); write the entries out"
        )
    try:
        inventory = Inventory.model_validate(data)
    except ValidationError as exc:
        raise InventoryError(_one_line(source, exc, text)) from None
    _check_defects(inventory, source, text)
    return inventory


def _check_defects(inventory: Inventory, source: str, text: str) -> None:
    """Every defect an emulated device names is one the emulator plays, checked now rather
    than when the lab starts (where the error would name a generated fleet file)."""
    named = [(i, j, name) for i, device in enumerate(inventory.devices)
             if isinstance(device, EmulatedDevice) for j, name in enumerate(device.defects)]
    if not named:
        return
    known = emulator_defects()
    for i, j, name in named:
        if name in known:
            continue
        path = f"devices[{i}].defects[{j}]"
        close = difflib.get_close_matches(name, sorted(known), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise InventoryError(
            f"{_where(source, text, path)}unknown defect {_short(name)} "
            f"({hint}`python -m emulator defects` lists them)"
        )


EMULATOR_TIMEOUT_S: Final = 30.0


@functools.cache
def emulator_defects() -> frozenset[str]:
    """The defect names the emulator plays, from its command line (`python -m emulator
    defects`): the harness knows the emulator only by its command line and ports."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "emulator", "defects"], capture_output=True, text=True,
            timeout=EMULATOR_TIMEOUT_S, check=False, stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InventoryError(f"cannot list the emulator's defects: {exc}") from None
    names = frozenset(ln.split()[0] for ln in done.stdout.splitlines() if ln.strip())
    if done.returncode != 0 or not names:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise InventoryError(f"cannot list the emulator's defects: {last}")
    return names


def _check_ca_files(inventory: Inventory, source: str) -> None:
    """Every `tls.ca_file` is a CA bundle the TLS layer can load, checked now rather than
    as a traceback at a test's first HTTPS call."""
    files = [(f"devices[{index}].tls.ca_file", device.tls.ca_file)
             for index, device in enumerate(inventory.devices)
             if isinstance(device, RealDevice) and device.tls.ca_file is not None]
    cloud = inventory.cloud
    if isinstance(cloud, ExportCloud) and cloud.smtp is not None and cloud.smtp.ca_file:
        files.append(("cloud.smtp.ca_file", cloud.smtp.ca_file))
    mailbox = inventory.mailbox
    if isinstance(mailbox, ImapConfig) and mailbox.ca_file is not None:
        files.append(("mailbox.ca_file", mailbox.ca_file))
    for field_name, ca_file in files:
        assert ca_file is not None
        where = f"{source}: {field_name}"
        relative = "" if ca_file.is_absolute() else f", relative to {Path.cwd()}"
        try:
            ssl.create_default_context(cafile=str(ca_file))
        except OSError as exc:
            # ssl.SSLError is an OSError too: the file is there but holds no certificate.
            if isinstance(exc, ssl.SSLError):
                problem = f"not a PEM CA bundle ({exc.reason or exc})"
            else:
                problem = exc.strerror or type(exc).__name__
            raise InventoryError(
                f"{where}: cannot load the CA file {str(ca_file)!r}{relative}: {problem}"
            ) from None


def _check_known_hosts_files(inventory: Inventory, source: str) -> None:
    """Every `ssh_host_key` that is not a fingerprint names a readable known_hosts file."""
    named: list[tuple[str, str | tuple[str, ...] | None]] = [
        (f"devices[{i}].ssh_host_key", d.ssh_host_key)
        for i, d in enumerate(inventory.devices) if isinstance(d, RealDevice)]
    if isinstance(inventory.lab_controller, RealLabController):
        named.append(("lab_controller.ssh_host_key", inventory.lab_controller.ssh_host_key))
    for where, value in named:
        if value is None or not isinstance(value, str) or _SSH_FINGERPRINT_RE.match(value):
            continue
        file = Path(value)
        relative = "" if file.is_absolute() else f", relative to {Path.cwd()}"
        try:
            with file.open(encoding="utf-8") as lines:
                lines.read(1)
        except (OSError, UnicodeDecodeError) as exc:
            problem = getattr(exc, "strerror", None) or type(exc).__name__
            raise InventoryError(
                f"{source}: {where}: cannot read the known_hosts file {value!r}{relative}: "
                f"{problem} (or give the key's fingerprint, SHA256:...)"
            ) from None


def load_inventory(path: Path | str = DEFAULT_INVENTORY) -> Inventory:
    """Load devices.yaml (or another inventory file); one-line `InventoryError` on mistakes.

    Relative paths inside (CA files, known_hosts files, lease directory) are taken from the
    working directory, not from the file's folder. CA and known_hosts files must exist and
    load.
    """
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > MAX_INVENTORY_BYTES:
            raise InventoryError(
                f"{file}: {size} bytes, more than an inventory may hold "
                f"({MAX_INVENTORY_BYTES}); is this the right file?"
            )
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise InventoryError(f"{file}: cannot read the inventory ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise InventoryError(
            f"{file}: cannot read the inventory (line {line}: not UTF-8 text, "
            f"byte 0x{exc.object[exc.start]:02x}); save it as UTF-8"
        ) from None
    inventory = parse_inventory(text, source=str(file))
    _check_ca_files(inventory, str(file))
    _check_known_hosts_files(inventory, str(file))
    return inventory


def inventory_schema() -> dict[str, Any]:
    """The JSON Schema of devices.yaml, for editors and for devices.schema.json."""
    schema = Inventory.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "HIL lab inventory (devices.yaml)"
    return schema


def schema_text() -> str:
    """devices.schema.json's exact contents."""
    return json.dumps(inventory_schema(), indent=2, sort_keys=True) + "\n"


def write_schema(path: Path = SCHEMA_FILE) -> None:
    """Regenerate devices.schema.json (`python -m harness.inventory.model`)."""
    path.write_text(schema_text(), encoding="utf-8")


if __name__ == "__main__":
    write_schema()
    print(f"wrote {SCHEMA_FILE}")
