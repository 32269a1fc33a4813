"""A host with two host keys (ed25519 and ecdsa, as OpenSSH serves by default) pinned by
either fingerprint: paramiko asks for ed25519 first, so a pin of the ecdsa key was refused
until the client asked again without the refused key type. A real asyncssh server on
loopback; the password must never reach a host whose key is not pinned."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import asyncssh
import pytest

from harness.clients.shell import DeviceShell, HostKeyRefused, KnownHosts

PASSWORD = "Qw7!rT9#zPk"
OTHER_FINGERPRINT = "SHA256:RLWAz2NxkrWjvEIC4fHnAxup/fM3hL6q5LEMXRqfXUU"


@dataclass
class TwoKeyHost:
    port: int
    ed25519: str
    ecdsa: str
    passwords_seen: list[str] = field(default_factory=list)


class _Server(asyncssh.SSHServer):
    def __init__(self, host: TwoKeyHost) -> None:
        self._host = host

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        self._host.passwords_seen.append(password)
        return password == PASSWORD


async def _answer(process: asyncssh.SSHServerProcess[str]) -> None:
    process.stdout.write(f"ran {process.command}\n")
    process.exit(0)


@pytest.fixture(scope="module")
def two_key_host() -> Iterator[TwoKeyHost]:
    ed25519 = asyncssh.generate_private_key("ssh-ed25519")
    ecdsa = asyncssh.generate_private_key("ecdsa-sha2-nistp256")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    host = TwoKeyHost(0, ed25519.get_fingerprint("sha256"), ecdsa.get_fingerprint("sha256"))

    async def listen() -> asyncssh.SSHAcceptor:
        return await asyncssh.create_server(
            lambda: _Server(host), "127.0.0.1", 0, server_host_keys=[ed25519, ecdsa],
            process_factory=_answer, encoding="utf-8")

    server = asyncio.run_coroutine_threadsafe(listen(), loop).result(10)
    host.port = server.sockets[0].getsockname()[1]
    try:
        yield host
    finally:
        server.close()
        asyncio.run_coroutine_threadsafe(server.wait_closed(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def _shell(host: TwoKeyHost, pinned: str | list[str]) -> DeviceShell:
    return DeviceShell("127.0.0.1", host.port, PASSWORD, connect_deadline=5,
                       known_hosts=KnownHosts.pinned(pinned))


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa", "both"])
def test_either_key_of_a_two_key_host_pins_it(two_key_host: TwoKeyHost, kind: str) -> None:
    pinned: str | list[str] = ([two_key_host.ed25519, two_key_host.ecdsa] if kind == "both"
                               else getattr(two_key_host, kind))
    with _shell(two_key_host, pinned) as shell:
        assert shell.exec("help").stdout == "ran help\n"
        key = shell._ssh.transport().get_remote_server_key()
    expected = {"ed25519": "ssh-ed25519", "ecdsa": "ecdsa-sha2-nistp256",
                "both": "ssh-ed25519"}[kind]
    assert key.get_name() == expected


def test_a_two_key_host_pinned_by_neither_is_refused_naming_both(
        two_key_host: TwoKeyHost) -> None:
    before = len(two_key_host.passwords_seen)
    with _shell(two_key_host, OTHER_FINGERPRINT) as shell, \
            pytest.raises(HostKeyRefused) as refused:
        shell.exec("help")
    assert str(refused.value) == (
        f"ssh 127.0.0.1:{two_key_host.port}: host keys {two_key_host.ed25519} (ssh-ed25519), "
        f"{two_key_host.ecdsa} (ecdsa-sha2-nistp256) are not the pinned {OTHER_FINGERPRINT} "
        "(ssh_host_key); refused before login")
    assert len(two_key_host.passwords_seen) == before  # the password never left
