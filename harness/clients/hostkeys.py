"""SSH host keys (checked by `harness.clients.ssh`): pinned, or remembered for the run.

An emulated lab makes new host keys every run, so by default a key is accepted
the first time a host:port is seen and pinned in memory (`KnownHosts`) for the rest of the
run: a key that changes mid-run is refused. Real labs should pin their keys
(`ssh_host_key:` in devices.yaml, `KnownHosts.pinned`): an OpenSSH known_hosts file, or one
or more `SHA256:...` fingerprints; an unknown or other key is refused after the key
exchange, before the password is sent. A fingerprint does not say its key's type and a host
presents one key per handshake (the type both sides prefer: ed25519 first), so a host
whose presented key is not pinned is asked again with that key type disabled, until it
presents a pinned key or has no other type left.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import paramiko

from harness.errors import InfrastructureError


@dataclass
class KnownHosts:
    """Host keys accepted during this run, per `[host]:port` (trust on first use, in memory).

    One instance per lab, shared by every client of that lab, so a key that changes within
    the run is refused. With `path`, keys come from an OpenSSH known_hosts file instead and
    unknown hosts are refused: the policy for real labs.
    """

    path: Path | None = None
    # `SHA256:...` fingerprints: the keys accepted, for any host this instance serves.
    fingerprints: tuple[str, ...] = ()
    _keys: paramiko.HostKeys = field(default_factory=paramiko.HostKeys)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.path is not None:
            try:
                self._keys.load(str(self.path))
            except (OSError, paramiko.SSHException) as exc:
                raise InfrastructureError(
                    f"known_hosts {self.path}: cannot be read ({exc})") from exc

    @classmethod
    def pinned(cls, setting: str | Sequence[str] | Path | None) -> KnownHosts:
        """The policy of an inventory's `ssh_host_key`: `SHA256:...` fingerprint(s), a
        known_hosts file, or (None) trust on first use."""
        if setting is None:
            return cls()
        if isinstance(setting, Path):
            return cls(path=setting)
        if isinstance(setting, str):
            return (cls(fingerprints=(setting,)) if setting.startswith("SHA256:")
                    else cls(path=Path(setting)))
        return cls(fingerprints=tuple(str(item) for item in setting))

    def configure(self, client: paramiko.SSHClient) -> None:
        """Give `client` the keys known so far and the policy for an unknown host."""
        policy: paramiko.MissingHostKeyPolicy
        if self.fingerprints:
            # No key is handed over: every key reaches the policy, which compares.
            client.set_missing_host_key_policy(_FingerprintPolicy(self.fingerprints))
            return
        with self._lock:
            for hostname, keys in self._keys.items():
                for key_type, key in keys.items():
                    client.get_host_keys().add(hostname, key_type, key)
        policy = paramiko.RejectPolicy() if self.path is not None else _RememberPolicy(self)
        client.set_missing_host_key_policy(policy)

    def remember(self, hostname: str, key: paramiko.PKey) -> None:
        """Pin `key` for `hostname` for the rest of the run."""
        with self._lock:
            self._keys.add(hostname, key.get_name(), key)

    def __len__(self) -> int:
        return len(self._keys)


def fingerprint_of(key: paramiko.PKey) -> str:
    """`SHA256:...` of a host key, as `ssh-keygen -lf` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


class HostKeyRefused(InfrastructureError):
    """A host presented another key than the pinned one: refused before login (the lab's
    set-up or someone in the middle, never the firmware's verdict). Not retried."""

    during_login = True


class UnpinnedKey(HostKeyRefused):
    """The host presented a key that is not pinned; it may hold a pinned one of another
    type (the connect loop asks again without this type)."""

    def __init__(self, message: str, key: paramiko.PKey) -> None:
        super().__init__(message)
        self.key = key


def algorithms_of(key: paramiko.PKey) -> list[str]:
    """The host-key algorithms that would make a server present `key` (an RSA key serves
    three signature algorithms), certificates included."""
    name = key.get_name()
    plain = ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] if name == "ssh-rsa" else [name]
    return plain + [f"{alg}-cert-v01@openssh.com" for alg in plain]


class _FingerprintPolicy(paramiko.MissingHostKeyPolicy):
    def __init__(self, fingerprints: tuple[str, ...]) -> None:
        self._fingerprints = fingerprints

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        seen = fingerprint_of(key)
        if seen not in self._fingerprints:
            # Not a paramiko.SSHException: the connect loop must not retry it as a
            # connection failure (it asks for another key type, then refuses).
            raise UnpinnedKey(
                f"ssh {hostname}: host key {seen} ({key.get_name()}) is not the pinned "
                f"{' or '.join(self._fingerprints)} (ssh_host_key); refused before login",
                key)


class _RememberPolicy(paramiko.MissingHostKeyPolicy):
    def __init__(self, known: KnownHosts) -> None:
        self._known = known

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        client.get_host_keys().add(hostname, key.get_name(), key)
        self._known.remember(hostname, key)
