"""Device health shared by every runner of a lab (LAVA-like), kept in the lab's Redis.

A device whose bring-up fails is marked bad with its reason, for every runner and every
later run, until a cheap health probe of it passes (`hil devices health`, or
`SharedQuarantine.recheck`). Without a shared store, quarantine stays what it was: one
run's, in its workdir (`harness.lab.states.Quarantine`). A lab that shares leases in Redis
shares health there too (`shared_quarantine`), so a runner on another machine skips the
broken device with the same reason instead of tripping over it again.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from harness.errors import InfrastructureError
from harness.evidence import Secrets, mask_text
from harness.inventory.fields import read_secret
from harness.inventory.model import FileLeases, RedisLeases
from harness.lab.runlog import Quarantine

T = TypeVar("T")


class RedisHealth:
    """Bad marks as keys `<prefix>:health:<device>` (no TTL: a mark stays until a probe
    passes), each `{"reason", "by", "since"}`."""

    def __init__(self, url: str, prefix: str = "hil", password: str | None = None) -> None:
        # Imported here: a lab without Redis (every emulated run) never loads redis-py,
        # 50 ms of every pytest process's start-up.
        import redis

        from harness.lab.redisleases import redis_client

        self.url, self.prefix = url, prefix
        self._redis = redis_client(url, password)
        self._failure: type[Exception] = redis.RedisError

    def _key(self, device: str) -> str:
        return f"{self.prefix}:health:{device}"

    def _do(self, what: str, action: Callable[[], T]) -> T:
        try:
            return action()
        except self._failure as exc:
            raise InfrastructureError(f"health store {self.url}: {what}: {exc}") from None

    def mark_bad(self, device: str, reason: str) -> None:
        value = json.dumps({"reason": reason, "by": socket.gethostname(), "since": time.time()})
        self._do("mark", lambda: self._redis.set(self._key(device), value))

    def reason(self, device: str) -> str | None:
        raw = self._do("read", lambda: self._redis.get(self._key(device)))
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            return f"{data['reason']} (marked bad by {data['by']})"
        except (ValueError, KeyError, TypeError):
            return str(raw)

    def clear(self, device: str) -> bool:
        """Forget `device`'s bad mark; whether it had one."""
        return bool(self._do("clear", lambda: self._redis.delete(self._key(device))))

    def bad(self) -> dict[str, str]:
        """Every device marked bad now, with its reason."""
        prefix = self._key("")
        keys: list[str] = self._do("list", lambda: sorted(self._redis.scan_iter(prefix + "*")))
        found = {key[len(prefix):]: self.reason(key[len(prefix):]) for key in keys}
        return {device: reason for device, reason in found.items() if reason is not None}


class SharedQuarantine(Quarantine):
    """This run's quarantine, plus the lab's shared bad marks: a device marked bad by any
    runner is skipped by all, and starting a run does not forget it."""

    def __init__(self, workdir: Path, shared: RedisHealth) -> None:
        super().__init__(workdir)
        self.shared = shared

    def mark(self, device: str, reason: str, secrets: Secrets | None = None) -> None:
        super().mark(device, reason, secrets)
        line = mask_text(reason.splitlines()[0] if reason else "?", secrets)
        self.shared.mark_bad(device, line)

    def reason(self, device: str) -> str | None:
        return super().reason(device) or self.shared.reason(device)

    def lift(self, device: str) -> None:
        super().lift(device)
        self.shared.clear(device)


def shared_health(leases: FileLeases | RedisLeases) -> RedisHealth | None:
    """The lab's shared health store: its Redis when leases are there, else None."""
    if not isinstance(leases, RedisLeases):
        return None
    password = (read_secret(leases.password_env, "the lease server's password").reveal()
                if leases.password_env else None)
    return RedisHealth(leases.url, prefix=leases.prefix, password=password)


def quarantine_for(workdir: Path, leases: FileLeases | RedisLeases) -> Quarantine:
    """The quarantine a run uses: shared through Redis when the lab shares leases there."""
    shared = shared_health(leases)
    return Quarantine(workdir) if shared is None else SharedQuarantine(workdir, shared)
