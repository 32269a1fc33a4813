"""Device leases in Redis: one lab shared by runners on several machines.

A lease is the key `<prefix>:lease:<device>`, set with NX and a TTL, whose value records
the holder (its name, host, pid, run id, CI job URL when known, since when) and a fencing
token: `INCR <prefix>:fence:<device>`, so every lease of a device has a larger token than
the one before. A heartbeat thread renews the TTL every third of it, by a script that
renews only while the key still holds this lease's value. When it finds another value, or
none, or cannot reach Redis for a whole TTL, the lease is lost: `verify()` (called before
every device transition and after every test) raises `LeaseLost`, an infrastructure
failure, so a test that lost its device never passes. Release deletes the key only while
it holds this lease's value (atomic script): a late holder cannot free another's lease.
A holder that dies stops renewing, and its lease expires within one TTL.

Why Redis (redis-py against a real `redis-server`) and not a home-made server: expiry,
atomic compare-and-set scripts and counters are what a lease needs, and a lab already runs
or can run one. labgrid's users asked for exactly this (expiring locks, keepalive).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final

import redis

from harness.errors import HarnessError, InfrastructureError

LOG = logging.getLogger(__name__)
CONNECT_TIMEOUT_S: Final = 5.0
AUDIT_KEPT: Final = 1000  # force-releases remembered in <prefix>:audit
JOURNAL_KEPT: Final = 100_000  # lease events remembered in <prefix>:journal
# The value of the key must still be this lease's for a renewal or a release to act.
_RENEW: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def redis_client(url: str, password: str | None = None) -> redis.Redis:
    """A client of the lab's Redis, text in and out, every call bounded."""
    return redis.Redis.from_url(url, password=password, decode_responses=True,
                                socket_timeout=CONNECT_TIMEOUT_S,
                                socket_connect_timeout=CONNECT_TIMEOUT_S)


class LeaseLost(InfrastructureError):
    """This runner no longer holds a device it leased (expired, taken, or force-released)."""


def ci_job_url(environ: dict[str, str] | os._Environ[str] = os.environ) -> str | None:
    """The CI job this process runs in, when the CI says (GitHub Actions, GitLab CI)."""
    if environ.get("CI_JOB_URL"):
        return environ["CI_JOB_URL"]
    server, repo, run = (environ.get(k) for k in
                         ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    if server and repo and run:
        return f"{server}/{repo}/actions/runs/{run}"
    return None


@dataclass(frozen=True)
class LeaseRecord:
    """What a lease key holds: who holds the device, since when, and the fencing token."""

    device: str
    holder: str
    host: str
    pid: int
    run: str
    job: str | None
    since: float
    token: int

    def describe(self) -> str:
        """`test_x on host-a (pid 123, run r1, since 12:00:03)`, for messages."""
        when = time.strftime("%H:%M:%S", time.localtime(self.since))
        job = f", job {self.job}" if self.job else ""
        return f"{self.holder} on {self.host} (pid {self.pid}, run {self.run}{job}, since {when})"

    @classmethod
    def parse(cls, device: str, raw: str | bytes | None) -> LeaseRecord | None:
        if raw is None:
            return None
        try:
            data: dict[str, Any] = json.loads(raw)
            return cls(device=device, holder=str(data["holder"]), host=str(data["host"]),
                       pid=int(data["pid"]), run=str(data["run"]), job=data.get("job"),
                       since=float(data["since"]), token=int(data["token"]))
        except (ValueError, KeyError, TypeError):
            return None


@dataclass
class RedisLease:
    """A held device: the key's value is ours while `verify()` passes."""

    device: str
    record: LeaseRecord
    _backend: RedisLeaseBackend = field(repr=False)
    _value: str = field(repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _lost: str | None = field(default=None, repr=False)
    _released: bool = field(default=False, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def token(self) -> int:
        return self.record.token

    @property
    def held(self) -> bool:
        return not self._released and self._lost is None

    def start_heartbeat(self) -> None:
        self._thread = threading.Thread(target=self._heartbeat, daemon=True,
                                        name=f"lease-heartbeat-{self.device}")
        self._thread.start()

    def _heartbeat(self) -> None:
        ttl = self._backend.ttl_s
        last_renewed = time.monotonic()
        while not self._stop.wait(ttl / 3):
            try:
                renewed = self._backend.renew(self.device, self._value)
            except redis.RedisError as exc:
                if time.monotonic() - last_renewed >= ttl:
                    self._lost = f"Redis unreachable for a whole TTL ({ttl:g} s): {exc}"
                    return
                continue
            if not renewed:
                now = self._backend.record_of(self.device)
                self._lost = ("its lease key was gone or another's at renewal"
                              + (f" (now {now.describe()})" if now else ""))
                return
            last_renewed = time.monotonic()

    def verify(self) -> None:
        """The fencing check: `LeaseLost` unless Redis still holds this lease's token."""
        if self._released:
            raise HarnessError(f"lease of {self.device} used after its release")
        if self._lost is None:
            try:
                now = self._backend.record_of(self.device)
            except redis.RedisError as exc:
                raise LeaseLost(f"cannot check the lease of {self.device} in Redis: "
                                f"{exc}") from None
            if now is None or now.token != self.token:
                taken = f"; now held by {now.describe()}" if now else ""
                self._lost = f"the lease (token {self.token}) expired or was taken{taken}"
        if self._lost is not None:
            raise LeaseLost(f"{self.device}: this runner lost its lease: {self._lost}")

    def release(self) -> None:
        """Stop the heartbeat and delete the key if it is still ours (idempotent)."""
        if self._released:
            return
        self._released = True
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=CONNECT_TIMEOUT_S)
        try:
            self._backend.release(self.device, self._value)
        except redis.RedisError as exc:  # it expires within one TTL anyway
            LOG.warning("release of the lease of %s failed: %s", self.device, exc)

    def __enter__(self) -> RedisLease:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


class RedisLeaseBackend:
    """Leases as Redis keys with a TTL (devices.yaml: `leases: {kind: redis, url: ...}`)."""

    def __init__(self, url: str, ttl_s: float = 30.0, prefix: str = "hil",
                 password: str | None = None, run: str | None = None) -> None:
        if ttl_s <= 1:
            raise HarnessError(f"a Redis lease TTL must be more than 1 s, got {ttl_s!r}")
        self.url, self.ttl_s, self.prefix = url, ttl_s, prefix
        self.run = run or os.environ.get("HIL_RUN_ID") or f"{socket.gethostname()}-{os.getpid()}"
        # The runner of a shared lab (a CI runner's name); the host's name by default.
        self.runner = os.environ.get("HIL_RUNNER") or socket.gethostname()
        self._redis = redis_client(url, password)
        self._renew = self._redis.register_script(_RENEW)
        self._release = self._redis.register_script(_RELEASE)

    def _key(self, device: str) -> str:
        if not device or any(c in device for c in " :*?[]"):
            raise HarnessError(f"not a device name usable as a lease: {device!r}")
        return f"{self.prefix}:lease:{device}"

    def _call(self, what: str, action: Any) -> Any:
        try:
            return action()
        except redis.RedisError as exc:
            raise InfrastructureError(f"lease server {self.url}: {what}: {exc}") from None

    def try_acquire(self, device: str, holder: str) -> RedisLease | None:
        """Hold `device` now if no runner does: a new fencing token, SET NX with the TTL."""
        key = self._key(device)
        if self._call("read", lambda: self._redis.exists(key)):
            return None
        token = int(self._call("fence", lambda: self._redis.incr(
            f"{self.prefix}:fence:{device}")))
        record = LeaseRecord(device=device, holder=holder, host=socket.gethostname(),
                             pid=os.getpid(), run=self.run, job=ci_job_url(),
                             since=time.time(), token=token)
        value = json.dumps({k: v for k, v in record.__dict__.items() if k != "device"})
        taken = self._call("acquire", lambda: self._redis.set(
            key, value, nx=True, px=int(self.ttl_s * 1000)))
        if not taken:
            return None
        lease = RedisLease(device=device, record=record, _backend=self, _value=value)
        self._journal("acquire", record)
        lease.start_heartbeat()
        return lease

    def _journal(self, event: str, record: LeaseRecord) -> None:
        """Note a lease event in `<prefix>:journal` (who had which device when: the lab's
        history, and what a double-booking check holds the devices' own logs against).
        Best effort: the lease itself does not depend on it."""
        entry = json.dumps({"event": event, "t": time.time(), "device": record.device,
                            "holder": record.holder, "runner": self.runner,
                            "host": record.host, "pid": record.pid, "token": record.token})
        journal = f"{self.prefix}:journal"
        try:
            self._redis.rpush(journal, entry)
            self._redis.ltrim(journal, -JOURNAL_KEPT, -1)
        except redis.RedisError as exc:
            LOG.warning("lease journal of %s: %s", record.device, exc)

    def journal(self) -> list[dict[str, Any]]:
        """Every lease event kept, oldest first."""
        raw: list[str] = self._call("journal", lambda: self._redis.lrange(
            f"{self.prefix}:journal", 0, -1))
        return [json.loads(line) for line in raw]

    def renew(self, device: str, value: str) -> bool:
        return bool(self._renew(keys=[self._key(device)],
                                args=[value, int(self.ttl_s * 1000)]))

    def release(self, device: str, value: str) -> bool:
        released = bool(self._release(keys=[self._key(device)], args=[value]))
        if released:
            record = LeaseRecord.parse(device, value)
            if record is not None:
                self._journal("release", record)
        return released

    def record_of(self, device: str) -> LeaseRecord | None:
        return LeaseRecord.parse(device, self._redis.get(self._key(device)))

    def holder_of(self, device: str) -> str | None:
        """Who holds `device` now, for messages; None when free or unreadable."""
        try:
            record = self.record_of(device)
        except redis.RedisError:
            return None
        return record.describe() if record else None

    def held(self) -> list[LeaseRecord]:
        """Every lease held now (for `hil devices leases`)."""
        prefix = f"{self.prefix}:lease:"
        keys = sorted(self._call("list", lambda: list(self._redis.scan_iter(prefix + "*"))))
        records = [LeaseRecord.parse(k[len(prefix):], self._redis.get(k)) for k in keys]
        return [r for r in records if r is not None]

    def audit(self) -> list[dict[str, object]]:
        """The force-releases, newest first."""
        raw: list[str] = self._call("audit", lambda: self._redis.lrange(
            f"{self.prefix}:audit", 0, -1))
        return [json.loads(line) for line in raw]

    def force_release(self, device: str, by: str) -> LeaseRecord | None:
        """Delete `device`'s lease whoever holds it (an admin's act, logged); what it held.
        The holder's next fencing check fails: its test ends as infrastructure."""
        record: LeaseRecord | None = self._call("read", lambda: self.record_of(device))
        self._call("release", lambda: self._redis.delete(self._key(device)))
        # The lab's audit trail, readable by every runner: who ended whose lease, when.
        entry = json.dumps({"device": device, "by": by, "at": time.time(),
                            "was": record.describe() if record else None})
        audit = f"{self.prefix}:audit"
        self._call("audit", lambda: self._redis.lpush(audit, entry))
        self._call("audit", lambda: self._redis.ltrim(audit, 0, AUDIT_KEPT - 1))
        LOG.warning("lease of %s force-released by %s (was %s)", device, by,
                    record.describe() if record else "free")
        return record
