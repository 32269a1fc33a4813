"""What the harness knows of each device's secrets: the admin password and reserved address.

Every xdist worker must know a device's current password, whichever worker changed it
last, and so must the next run: one JSON file per device, mode 0600 in a 0700 folder, read
and written under a file lock. A real device's file is in the lab's state folder
(harness/lab/statedir.py: it outlives the checkout, as the device does); an emulated device's
in the lab workdir, beside the emulated flash it describes. Passwords are generated per run
(strong, per the catalogue's rules); a real device's first password comes from the
environment variable the inventory names. Every value read or made here is registered as
a secret, so evidence masks it.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from filelock import FileLock

from harness.catalogue import password_acceptable
from harness.errors import HarnessError
from harness.evidence import Secret, Secrets, secret
from harness.inventory.model import AnyDevice, RealDevice
from harness.lab.statedir import private_dir

CREDENTIALS_DIR: Final = "credentials"
LOCK_TIMEOUT_S: Final = 30.0
# Specials that need no escaping in XML, JSON, URLs or a shell: fewer surprises in evidence.
_SPECIALS: Final = "!#%+-_.@"
_ALPHABET: Final = string.ascii_letters + string.digits + _SPECIALS
_LENGTH: Final = 12


@dataclass(frozen=True)
class KnownCredentials:
    """The admin password the harness believes is current, and the reserved address."""

    # A `Secret`: a failing test's `-l` locals or a dataclass repr show `'***'`.
    password: Secret | None
    email: str | None


def generate_password(device: AnyDevice, length: int = _LENGTH) -> Secret:
    """A strong password the device must accept (catalogue rules for its line and firmware).

    Four character classes (Strong in the GUI's formula) and none of the recorders'
    forbidden patterns; drawn from `secrets`, so every run gets new ones.
    """
    for _ in range(1000):
        chars = [
            secrets.choice(string.ascii_lowercase),
            secrets.choice(string.ascii_uppercase),
            secrets.choice(string.digits),
            secrets.choice(_SPECIALS),
        ] + [secrets.choice(_ALPHABET) for _ in range(length - 4)]
        secrets.SystemRandom().shuffle(chars)
        candidate = "".join(chars)
        if password_acceptable(candidate, device.line, device.firmware_version):
            return Secret(candidate)
    raise HarnessError(f"could not generate an acceptable password for {device.name}")


@dataclass(frozen=True)
class CredentialRecord:
    """One device's file, as `hil devices credentials` shows it (the password never)."""

    device: str
    password_known: bool
    email: str | None
    changed_at: str | None
    run: str | None
    path: Path


class CredentialStore:
    """Per-device credential files, 0600 in 0700 folders: a real device's (named in
    `persistent`, name -> key) in the state folder as `credentials/<key>.json`, the
    others' in the workdir as `credentials/<device>.json`. Folders are made on the first
    write only: reading (`hil devices credentials`) leaves no trace."""

    def __init__(self, workdir: Path, secrets_registry: Secrets | None = None, *,
                 state_dir: Path | None = None, persistent: Mapping[str, str] | None = None,
                 run_id: str = "") -> None:
        self.directory = Path(workdir) / CREDENTIALS_DIR
        self.persistent_directory = (Path(state_dir) / CREDENTIALS_DIR
                                     if state_dir is not None else self.directory)
        self.persistent = dict(persistent or {})
        self.run_id = run_id
        self.secrets = secrets_registry if secrets_registry is not None else Secrets()

    def _folder(self, device: str) -> Path:
        return self.persistent_directory if device in self.persistent else self.directory

    def _stem(self, device: str) -> str:
        return self.persistent.get(device, device)

    def _path(self, device: str) -> Path:
        return self._folder(device) / f"{self._stem(device)}.json"

    def _lock(self, device: str) -> FileLock:
        return FileLock(str(self._folder(device) / f".{self._stem(device)}.lock"),
                        timeout=LOCK_TIMEOUT_S, mode=0o600)

    def _read_locked(self, device: str) -> dict[str, str | None]:
        """The device's file read under its lock; nothing (and no folder made) when the
        folder does not exist yet."""
        if not self._folder(device).is_dir():
            return {}
        with self._lock(device):
            return self._read(device)

    def known(self, device: AnyDevice) -> KnownCredentials:
        """What the harness knows of `device`; a real device's env password when nothing yet."""
        data = self._read_locked(device.name)
        password = data.get("password")
        if password is None and isinstance(device, RealDevice) and "password" not in data:
            password = device.secret()
        self.secrets.register(password)
        return KnownCredentials(password=secret(password), email=data.get("email"))

    def remember(self, device: str, *, password: str | object | None = ...,
                 email: str | object | None = ...) -> None:
        """Record a new current password and/or reserved address (None: none / unknown)."""
        private_dir(self._folder(device))
        with self._lock(device):
            data = self._read(device)
            if password is not ...:
                data["password"] = password  # type: ignore[assignment]
                self.secrets.register(password if isinstance(password, str) else None)
                data["changed_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                data["run"] = self.run_id or None
            if email is not ...:
                data["email"] = email  # type: ignore[assignment]
            self._write(device, data)

    def records(self, devices: Iterable[str]) -> list[CredentialRecord]:
        """What the harness knows of each of `devices` (read under each file's lock)."""
        found = []
        for device in devices:
            data = self._read_locked(device)
            found.append(CredentialRecord(
                device=device, password_known=isinstance(data.get("password"), str),
                email=data.get("email"), changed_at=data.get("changed_at"),
                run=data.get("run"), path=self._path(device)))
        return found

    def all_passwords(self) -> list[str]:
        """Every password recorded in the workdir and the state folder (to register them
        all as secrets)."""
        found: list[str] = []
        folders = {self.directory, self.persistent_directory}
        for path in sorted(p for folder in folders for p in folder.glob("*.json")):
            try:
                value = json.loads(path.read_text()).get("password")
            except (OSError, ValueError, AttributeError):
                continue
            if isinstance(value, str):
                found.append(value)
        return found

    def _read(self, device: str) -> dict[str, str | None]:
        try:
            data = json.loads(self._path(device).read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, device: str, data: dict[str, str | None]) -> None:
        path = self._path(device)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle)
        os.replace(tmp, path)
