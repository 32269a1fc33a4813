"""SSH over paramiko, shared by the device shell and the lab controller: one connection
opened lazily, its host key checked, commands run under a total deadline, a transcript.

Connections set TCP_NODELAY (an exec drops from ~50-90 ms to ~6 ms here) and a keepalive,
and retry connection refusals only until a deadline, because a booting device refuses
connections for its boot time. An authentication failure is never retried: devices lock
out after a few wrong passwords.

Host keys are checked before the password is sent (`harness.clients.hostkeys`).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Self, TypedDict, Unpack

import paramiko

from harness.clients.hostkeys import (
    HostKeyRefused,
    KnownHosts,
    UnpinnedKey,
    algorithms_of,
    fingerprint_of,
)
from harness.errors import InfrastructureError
from harness.evidence import Secrets, ShellTranscript

DEFAULT_TIMEOUT_S = 10.0

_Failure = Callable[[str], Exception]


@dataclass(frozen=True)
class CommandResult:
    """What one exec request gave back."""

    exit_status: int
    stdout: str
    stderr: str


class SshEndpoint:
    """One paramiko connection, opened lazily, with bounded retries and a transcript."""

    def __init__(
        self,
        host: str,
        port: int,
        user: str,
        password: str,
        *,
        timeout: float,
        connect_deadline: float,
        known_hosts: KnownHosts | None,
        transcript: ShellTranscript | None,
        unreachable: _Failure,
        refused: _Failure,
    ) -> None:
        self.host = host
        self.port = port
        self.user = user
        self.timeout = timeout
        self.connect_deadline = connect_deadline
        self.known_hosts = known_hosts if known_hosts is not None else KnownHosts()
        self.transcript = transcript if transcript is not None else ShellTranscript()
        self.transcript.secrets.register(password)
        self._password = password
        self._unreachable = unreachable
        self._refused = refused
        self._client: paramiko.SSHClient | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def secrets(self) -> Secrets:
        return self.transcript.secrets

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def transport(self) -> paramiko.Transport:
        if self._client is not None:
            transport = self._client.get_transport()
            if transport is not None and transport.is_active():
                return transport
            self.close()
        self._client = self._connect()
        transport = self._client.get_transport()
        assert transport is not None  # connect() succeeded, so it has one
        return transport

    def _connect(self) -> paramiko.SSHClient:
        """Connect, retrying refusals and dropped handshakes until `connect_deadline`.

        Not harness.waits.wait_until: each try's timeout is the time left, a refused
        key type is retried at once, and the last failure goes into the error."""
        deadline = time.monotonic() + self.connect_deadline
        attempts = 0
        # Key types the host presented that are not pinned: disabled for the next try.
        unpinned: list[paramiko.PKey] = []
        while True:
            attempts += 1
            remaining = max(0.1, deadline - time.monotonic())
            per_try = min(self.timeout, remaining)
            client = paramiko.SSHClient()
            self.known_hosts.configure(client)
            try:
                sock = socket.create_connection((self.host, self.port), timeout=per_try)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                client.connect(
                    self.host,
                    self.port,
                    username=self.user,
                    password=self._password,
                    sock=sock,
                    timeout=per_try,
                    banner_timeout=per_try,
                    auth_timeout=per_try,
                    look_for_keys=False,
                    allow_agent=False,
                    disabled_algorithms={
                        "keys": [a for key in unpinned for a in algorithms_of(key)]},
                )
            except paramiko.AuthenticationException as exc:
                client.close()
                self.transcript.note(self.address, f"login as {self.user} refused")
                raise self._refused(
                    f"ssh {self.user}@{self.address}: login refused ({exc}); not retried"
                ) from exc
            except paramiko.BadHostKeyException as exc:
                client.close()
                source = (f"known_hosts {self.known_hosts.path}" if self.known_hosts.path
                          else "the key pinned earlier in this run")
                raise HostKeyRefused(
                    f"ssh {self.address}: host key {fingerprint_of(exc.key)} is not "
                    f"{fingerprint_of(exc.expected_key)} of {source}; refused before login"
                ) from exc
            except UnpinnedKey as exc:
                client.close()
                unpinned.append(exc.key)
                continue  # the same host, asked for another key type
            except HostKeyRefused:
                client.close()
                raise
            except paramiko.SSHException as exc:
                client.close()
                if unpinned and "no acceptable host key" in str(exc):
                    # Every key type the host has was presented and none is pinned.
                    seen = ", ".join(f"{fingerprint_of(k)} ({k.get_name()})" for k in unpinned)
                    are = "host key {} is" if len(unpinned) == 1 else "host keys {} are"
                    raise HostKeyRefused(
                        f"ssh {self.address}: {are.format(seen)} not the pinned "
                        f"{' or '.join(self.known_hosts.fingerprints)} (ssh_host_key); "
                        "refused before login") from exc
                if "not found in known_hosts" in str(exc):
                    raise InfrastructureError(
                        f"ssh {self.address}: host key not in known_hosts {self.known_hosts.path}"
                    ) from exc
                last = f"{type(exc).__name__}: {exc}"
            except (OSError, EOFError) as exc:
                # Refused, reset, timed out: what a booting device does.
                client.close()
                last = f"{type(exc).__name__}: {exc}"
            else:
                transport = client.get_transport()
                assert transport is not None
                transport.set_keepalive(15)
                if attempts > 1:
                    self.transcript.note(self.address, f"connected after {attempts} attempts")
                return client
            if time.monotonic() + 0.2 > deadline:
                raise self._unreachable(
                    f"ssh {self.address}: not reachable within {self.connect_deadline:.0f} s "
                    f"({attempts} attempts; last: {last})"
                )
            time.sleep(0.2)

    def exec(self, command: str, *, timeout: float | None = None) -> CommandResult:
        """Run one command as an exec request; its output, stderr and exit status."""
        limit = timeout if timeout is not None else self.timeout
        started, t0 = time.time(), time.perf_counter()
        deadline = time.monotonic() + limit
        try:
            channel = self.transport().open_session(timeout=limit)
            channel.settimeout(limit)
            channel.exec_command(command)
            # The channel's timeout bounds each read: a peer dripping its output would
            # hold the command for ever. The whole answer must come within `limit`.
            stdout = _read_until_eof(channel.recv, channel, deadline)
            stderr = _read_until_eof(channel.recv_stderr, channel, deadline)
            if not channel.status_event.wait(max(0.0, deadline - time.monotonic())):
                raise TimeoutError("no exit status")
            status = channel.recv_exit_status()
            channel.close()
        except (OSError, EOFError, paramiko.SSHException) as exc:
            self.close()
            self.transcript.record(
                target=self.address,
                command=command,
                output=f"(failed: {exc})",
                exit_status=None,
                elapsed_s=time.perf_counter() - t0,
                started=started,
            )
            raise self._unreachable(
                f"ssh {self.address}: {command.split()[0] if command else 'command'} got no "
                f"answer within {limit:.0f} s ({type(exc).__name__}: {exc})"
            ) from exc
        self.transcript.record(
            target=self.address,
            command=command,
            output=stdout + (f"[stderr] {stderr}" if stderr else ""),
            exit_status=status,
            elapsed_s=time.perf_counter() - t0,
            started=started,
        )
        return CommandResult(status, stdout, stderr)

    def interactive_greeting(self, timeout: float, prompt: str) -> str:
        """Open an interactive shell and read what it prints up to its first `prompt`."""
        channel = self.transport().open_session(timeout=timeout)
        channel.settimeout(timeout)
        started, t0 = time.time(), time.perf_counter()
        try:
            channel.get_pty()
            channel.invoke_shell()
            deadline = time.monotonic() + timeout
            text = ""
            while not text.endswith(prompt):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no prompt {prompt!r} within {timeout:.0f} s")
                channel.settimeout(left)
                chunk = channel.recv(4096)
                if not chunk:
                    break
                text += chunk.decode("utf-8", errors="replace")
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise self._unreachable(f"ssh {self.address}: interactive shell: {exc}") from exc
        finally:
            channel.close()
        self.transcript.record(
            target=self.address,
            command="(interactive login)",
            output=text,
            exit_status=None,
            elapsed_s=time.perf_counter() - t0,
            started=started,
        )
        return text.replace("\r\n", "\n")


def _read_until_eof(
    recv: Callable[[int], bytes], channel: paramiko.Channel, deadline: float
) -> str:
    """One stream of an exec channel up to its end, every read bounded by `deadline`."""
    data = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no complete answer within the deadline")
        channel.settimeout(left)
        chunk = recv(32768)
        if not chunk:
            return data.decode("utf-8", errors="replace")
        data += chunk


class SshOptions(TypedDict, total=False):
    """How an `SshClient` connects, beyond its address and login."""

    timeout: float  # per command, and per connection attempt
    connect_deadline: float | None  # refusals retried this long; None: the peer's default
    known_hosts: KnownHosts | None
    transcript: ShellTranscript | None


class SshClient:
    """What the device shell and the lab controller share: one `SshEndpoint` (`_ssh`), its
    transcript, and closing it (also as a context manager). A peer says whose fault its
    failures are and how long its refusals are retried."""

    UNREACHABLE: ClassVar[type[Exception]] = InfrastructureError
    REFUSED: ClassVar[type[Exception]] = InfrastructureError
    CONNECT_DEADLINE_S: ClassVar[float] = 10.0

    def __init__(
        self, host: str, port: int, user: str, password: str, **options: Unpack[SshOptions]
    ) -> None:
        deadline = options.get("connect_deadline")
        self._ssh = SshEndpoint(
            host,
            port,
            user,
            password,
            timeout=options.get("timeout", DEFAULT_TIMEOUT_S),
            connect_deadline=self.CONNECT_DEADLINE_S if deadline is None else deadline,
            known_hosts=options.get("known_hosts"),
            transcript=options.get("transcript"),
            unreachable=self.UNREACHABLE,
            refused=self.REFUSED,
        )

    @property
    def transcript(self) -> ShellTranscript:
        """Every command sent and its answer, passwords masked."""
        return self._ssh.transcript

    def close(self) -> None:
        """Close the SSH connection."""
        self._ssh.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
