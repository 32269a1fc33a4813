"""The fleet config file (YAML or JSON) and its validation: one clear line per mistake."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .defects import DefectError, get_defect, load_defect_module
from .firmware import FirmwareFormatError, UnknownModelError, line_for_model, parse_firmware
from .policy import (
    DEFAULT_DIGEST_ALGORITHM,
    DEFAULT_SESSION_ID_VERSION,
    DEFAULT_SESSION_TIMEOUT_S,
    DIGEST_ALGORITHMS,
    SESSION_ID_VERSIONS,
)


class ConfigError(ValueError):
    """A fleet config that cannot be used; the message is one line naming file and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MailRelay(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=2525, ge=1, le=65535)


class SubmissionSettings(_Strict):
    """Opt-in: the cloud's SMTP wants STARTTLS, then AUTH (PLAIN/LOGIN) as `user` with the
    password in the environment variable `password_env`, as a lab's submission server does.
    The certificate is made at start; its PEM goes to `tls_dir`."""

    user: str = Field(min_length=1)
    password_env: str = Field(min_length=1)
    tls_dir: str


class CloudSettings(_Strict):
    http_port: int = Field(default=0, ge=0, le=65535)
    smtp_port: int = Field(default=0, ge=0, le=65535)
    min_app_version: str = "3.5.4"
    submission: SubmissionSettings | None = None


class LabControllerSettings(_Strict):
    ssh_port: int = Field(default=0, ge=0, le=65535)
    username: str = "lab"
    password_env: str = "HIL_LABCTL_PASSWORD"


class TlsSettings(_Strict):
    """HTTPS for every device: a certificate per device in `dir` (made once, then kept)."""

    dir: Path
    # Signed by the folder's lab CA (lab-ca.crt) instead of self-signed.
    ca: bool = False


class DeviceEntry(_Strict):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    model: str
    firmware: str
    http_port: int = Field(default=0, ge=0, le=65535)
    ssh_port: int = Field(default=0, ge=0, le=65535)
    defects: list[str] = Field(default_factory=list)
    boot_seconds: float = Field(default=0.0, ge=0, le=600)
    latency_ms: float = Field(default=0.0, ge=0, le=60000)
    # Per-device settings of docs/device-api.md ([dec]).
    digest_algorithm: str = DEFAULT_DIGEST_ALGORITHM
    session_id_version: str = DEFAULT_SESSION_ID_VERSION
    session_timeout_s: float = Field(default=DEFAULT_SESSION_TIMEOUT_S, gt=0, le=86400)
    # With the fleet's `tls`: this device's certificate signed by the lab CA (true) or
    # self-signed (false) whatever `tls.ca` says; a lab mixes both (the rehearsal lab).
    tls_ca: bool | None = None

    @field_validator("digest_algorithm")
    @classmethod
    def _digest_algorithm(cls, value: str) -> str:
        if value.upper() not in DIGEST_ALGORITHMS:
            raise ValueError(f"expected one of {', '.join(DIGEST_ALGORITHMS)}, got {value!r}")
        return value.upper()

    @field_validator("session_id_version", mode="before")
    @classmethod
    def _session_id_version(cls, value: object) -> str:
        # YAML reads an unquoted 2.1 as a number; the setting is the version's text.
        text = format(value, "g") if isinstance(value, int | float) else str(value)
        if text not in SESSION_ID_VERSIONS:
            raise ValueError(f"expected one of {', '.join(SESSION_ID_VERSIONS)}, got {text!r}")
        return text

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        try:
            line_for_model(value)
        except UnknownModelError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("firmware")
    @classmethod
    def _firmware(cls, value: str) -> str:
        try:
            parse_firmware(value)
        except FirmwareFormatError as exc:
            raise ValueError(str(exc)) from None
        return value


class FleetConfig(_Strict):
    host: str = "127.0.0.1"
    state_dir: Path = Path(".lab/state")
    mail_relay: MailRelay = Field(default_factory=lambda: MailRelay())
    cloud: CloudSettings | None = Field(default_factory=lambda: CloudSettings())
    lab_controller: LabControllerSettings | None = Field(
        default_factory=lambda: LabControllerSettings())
    defect_modules: list[str] = Field(default_factory=list)
    # HTTPS for the devices' GUI and ISAPI; absent: plain HTTP, as the default lab.
    tls: TlsSettings | None = None
    devices: list[DeviceEntry] = Field(default_factory=list)


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def validate_config(data: Any, source: str) -> FleetConfig:
    """Validate a parsed config, load its defect modules, check defect names and ports."""
    try:
        config = FleetConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{source}: {_loc(tuple(err['loc']))}: {msg}") from None
    for i, module in enumerate(config.defect_modules):
        try:
            load_defect_module(module)
        except DefectError as exc:
            raise ConfigError(f"{source}: defect_modules[{i}]: {exc}") from None
    names: set[str] = set()
    ports: set[int] = set()
    for i, device in enumerate(config.devices):
        if device.name in names:
            raise ConfigError(f"{source}: devices[{i}].name: duplicate name {device.name!r}")
        names.add(device.name)
        for j, name in enumerate(device.defects):
            try:
                get_defect(name)
            except DefectError as exc:
                raise ConfigError(f"{source}: devices[{i}].defects[{j}]: {exc}") from None
        for field in ("http_port", "ssh_port"):
            port = getattr(device, field)
            if port and port in ports:
                raise ConfigError(f"{source}: devices[{i}].{field}: port {port} used twice")
            ports.add(port)
    return config


def load_config(path: Path) -> FleetConfig:
    """Read a YAML or JSON fleet config file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        # PyYAML's first line is its context ("while parsing a block mapping"): the line
        # and the problem are what a reader needs.
        mark = exc.problem_mark
        line = f"line {mark.line + 1}: " if mark is not None else ""
        raise ConfigError(f"{path}: not valid YAML: {line}{exc.problem or exc}") from None
    except (ValueError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: "
                          f"{first}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: (top level): expected a mapping with a 'devices' list")
    return validate_config(data, str(path))
