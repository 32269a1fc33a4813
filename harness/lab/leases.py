"""Device leases: a test holds the device it uses for its whole duration.

Locks are leases and never indefinite: a waiter gives up after its timeout, and a holder's
lease ends when it releases, when its process dies (file locks are released by the OS), or,
for shared backends, when the lease expires without renewal. Backends are chosen by name
from a registry, so a shared one (Redis keys with a TTL) can be added beside the file one.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Protocol

from harness.errors import HarnessError, InfrastructureError
from harness.inventory.fields import read_secret
from harness.inventory.model import FileLeases, RedisLeases
from harness.waits import wait_until


class LeaseTimeout(InfrastructureError):
    """No candidate device became free within the wait."""


class Lease(Protocol):
    """A held device. Release it once; a context manager releases on exit."""

    @property
    def device(self) -> str: ...

    @property
    def held(self) -> bool: ...

    def release(self) -> None: ...

    def verify(self) -> None:
        """Raise (an InfrastructureError) unless this lease still holds its device: the
        fencing check before every device transition and after every test."""
        ...

    def __enter__(self) -> Lease: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class LeaseBackend(Protocol):
    """Where leases live. `try_acquire` never blocks: `acquire` does the waiting."""

    def try_acquire(self, device: str, holder: str) -> Lease | None:
        """The lease of `device` if it is free now, else None."""
        ...

    def holder_of(self, device: str) -> str | None:
        """Who holds `device`, for messages (best effort; None when free or unknown)."""
        ...


@dataclass
class FileLease:
    """A lease held as an exclusive `flock` on one open file.

    `flock` locks belong to the open file description: the OS drops them when the process
    dies however it dies, and two opens in one process exclude each other too (so two
    threads of one worker cannot share a device by accident).
    """

    device: str
    path: Path
    _fd: int | None = field(default=None, repr=False)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Release the device (idempotent)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def verify(self) -> None:
        """A file lock cannot be taken from a live process: held until released."""
        if self._fd is None:
            raise HarnessError(f"lease of {self.device} used after its release")

    def __enter__(self) -> FileLease:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def __del__(self) -> None:
        # A forgotten lease must not outlive its object; the OS would also drop it at exit.
        if self._fd is not None:
            self.release()


class FileLeaseBackend:
    """Leases as lock files `<directory>/<device>.lease`: every process on one machine."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, device: str) -> Path:
        if not device or "/" in device or device.startswith("."):
            raise HarnessError(f"not a device name usable as a lease: {device!r}")
        return self.directory / f"{device}.lease"

    def try_acquire(self, device: str, holder: str) -> FileLease | None:
        """Lock `device` now if nobody holds it; record who holds it for messages."""
        path = self._path(device)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        info = {
            "holder": holder,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.time(),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        return FileLease(device=device, path=path, _fd=fd)

    def holder_of(self, device: str) -> str | None:
        """The holder recorded in the lease file, e.g. `test_x (pid 123)`; None when nobody
        holds the lock (the record of a holder that died stays in the file)."""
        path = self._path(device)
        if not _locked(path):
            return None
        try:
            info = json.loads(path.read_text() or "null")
        except (OSError, ValueError):
            return None
        if not isinstance(info, dict):
            return None
        return f"{info.get('holder') or '?'} (pid {info.get('pid')})"


def _locked(path: Path) -> bool:
    """Whether some open file holds the lease lock on `path` now (a shared probe, let go
    at once: an acquirer racing it fails once and tries again, as it would anyway)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the probe's shared lock
    return False


BackendFactory = Callable[..., LeaseBackend]
_BACKENDS: dict[str, BackendFactory] = {}


def register_backend(name: str, factory: BackendFactory) -> None:
    """Make a backend available under `name` (the `kind` in devices.yaml's `leases:`)."""
    _BACKENDS[name] = factory


def backend_for(config: FileLeases | RedisLeases, base: Path | None = None) -> LeaseBackend:
    """The backend an inventory's `leases:` entry asks for, built from its other fields.

    A relative `directory` is taken relative to `base` (the working directory by default);
    a `password_env` is read from the environment.
    """
    factory = _BACKENDS.get(config.kind)
    if factory is None:
        known = ", ".join(sorted(_BACKENDS))
        raise HarnessError(f"no lease backend {config.kind!r} (known: {known})")
    options = config.model_dump(exclude={"kind"})
    variable = options.pop("password_env", None)
    if variable is not None:
        options["password"] = read_secret(variable, "the lease server's password").reveal()
    if base is not None and isinstance(options.get("directory"), Path):
        options["directory"] = base / options["directory"]
    return factory(**options)


def _redis_backend(**options: object) -> LeaseBackend:
    # Imported when a lab asks for it: the file backend's users do not pay for redis-py.
    from harness.lab.redisleases import RedisLeaseBackend

    return RedisLeaseBackend(**options)  # type: ignore[arg-type]


register_backend("file", FileLeaseBackend)
register_backend("redis", _redis_backend)


def acquire(
    candidates: list[str],
    timeout: float,
    *,
    backend: LeaseBackend,
    holder: str = "",
    poll: float = 0.1,
) -> Lease:
    """Hold the first free device of `candidates`, waiting at most `timeout` seconds.

    Every round tries all candidates, so a test that accepts any of several devices gets
    whichever frees first. Gives up with `LeaseTimeout` naming the devices, the wait and
    their holders. `timeout` must be finite: leases are never waited for indefinitely.
    """
    if not candidates:
        raise HarnessError("acquire() needs at least one candidate device")
    if not (timeout >= 0 and math.isfinite(timeout)):
        raise HarnessError(f"lease timeout must be a finite number of seconds, got {timeout!r}")
    holder = holder or f"pid {os.getpid()}"

    def first_free() -> Lease | None:
        for device in candidates:
            lease = backend.try_acquire(device, holder)
            if lease is not None:
                return lease
        return None

    lease = wait_until(first_free, timeout, f"the lease on {' or '.join(candidates)}",
                       interval=poll)
    if lease is not None:
        return lease
    holders = ", ".join(f"{d} held by {backend.holder_of(d) or 'unknown'}" for d in candidates)
    raise LeaseTimeout(
        f"no device free among {', '.join(candidates)} after waiting {timeout:g} s ({holders})"
    )
