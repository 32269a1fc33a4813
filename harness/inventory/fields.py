"""The checks of devices.yaml's fields (names, firmware, models, variables,
URLs without credentials) and the errors an inventory mistake raises."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from typing import Final
from urllib.parse import SplitResult, urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
)

from harness.catalogue import (
    FirmwareFormatError,
    UnknownModelError,
    line_of_model,
    parse_firmware,
)
from harness.evidence import Secret


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


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _short(value: object) -> str:
    """A bad value as echoed in an error line: its repr, at most 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


SPKI_PIN_CHARS: Final = 44  # base64 of 32 bytes, with its one '='


def check_spki_pin(value: str) -> str:
    """`value` if it is a well-formed pin; a ValueError saying what a pin looks like."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != hashlib.sha256().digest_size:
        shown = value if len(value) <= 60 else value[:57] + "..."
        raise ValueError(
            f"expected the base64 SHA-256 of the certificate's public key ({SPKI_PIN_CHARS} "
            f"characters ending in '='; docs/real-lab.md says how to get it), got {shown!r}"
        )
    return value
