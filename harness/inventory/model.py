"""The lab inventory: devices.yaml as typed models, with secrets only by reference.

The inventory says what a lab holds and where; clients say how to reach it. Secrets are
never in the file: a field `password_env` names the environment variable that holds one,
read only when a test needs it (`secret()`). Every mistake in the file becomes one line
naming the file, the field and what was expected (`InventoryError`).

Long (~570 lines) on purpose: one model class per devices.yaml section, read as one schema;
field types live in `inventory.fields`, loading in `inventory.load`.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import (
    AfterValidator,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from harness.catalogue import (
    Firmware,
    GuiGeneration,
    ProductLine,
    line_of_model,
    parse_firmware,
)
from harness.evidence import Secret
from harness.inventory.fields import (
    InventoryError,
    _check_env,
    _check_firmware,
    _check_model,
    _check_name,
    _check_redis_url,
    _check_url,
    _Model,
    _short,
    address_of,
    canonical_defect,
    check_spki_pin,
    read_secret,
)

# --- field types ------------------------------------------------------------------------


DeviceName = Annotated[str, AfterValidator(_check_name)]
FirmwareText = Annotated[str, AfterValidator(_check_firmware)]
ModelName = Annotated[str, AfterValidator(_check_model)]
EnvName = Annotated[str, AfterValidator(_check_env)]
BaseUrl = Annotated[str, AfterValidator(_check_url)]
Port = Annotated[int, Field(ge=1, le=65535)]


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
