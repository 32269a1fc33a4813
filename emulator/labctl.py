"""The lab controller: the relay/PDU box of a real lab, reached by SSH (DEVICE-SPEC §8, [dec]).

Commands, by exec request or in an interactive session:

    power on|off|cycle <device>   switch a device's power
    reset-button <device>         hold the reset button through a boot (full factory reset)
    status [<device>]             one JSON object per device and line
    help

An exec request ends with exit status 0 on success and 1, with one line on stderr, for an
unknown device, an unknown command or a malformed one.
"""

from __future__ import annotations

import hmac
import json
import logging
import socket
from dataclasses import dataclass

import asyncssh

from emulator.interfaces import DeviceHandle, FleetHandle

log = logging.getLogger(__name__)

PROMPT = "lab> "
HELP = """\
power on|off|cycle <device>   switch a device's power
reset-button <device>         hold the reset button through a boot (full factory reset)
status [<device>]             one JSON object per device and line: name, power, counters
help                          this list
exit                          leave the session
"""


class CommandError(Exception):
    """A command the controller refuses; the message is the one line for stderr."""


@dataclass
class Outcome:
    output: str
    end_session: bool = False


def status_line(device: DeviceHandle) -> str:
    """One device's status as a JSON object: name, power state, then its work counters."""
    record: dict[str, object] = {"name": device.name, "power": str(device.power_state)}
    record.update(device.counters())
    return json.dumps(record)


class LabController:
    """Runs controller commands against the fleet."""

    def __init__(self, fleet: FleetHandle) -> None:
        self._fleet = fleet

    def _device(self, name: str) -> DeviceHandle:
        device = self._fleet.device(name)
        if device is None:
            raise CommandError(f"unknown device: {name}")
        return device

    async def run(self, line: str) -> Outcome:
        """Run one command line; raises CommandError for anything the controller refuses."""
        words = line.split()
        if not words:
            return Outcome("")
        command, args = words[0], words[1:]
        if command == "help":
            return Outcome(HELP)
        if command in ("exit", "quit", "logout"):
            return Outcome("", end_session=True)
        if command == "status":
            if len(args) > 1:
                raise CommandError("usage: status [<device>]")
            devices = [self._device(args[0])] if args else self._fleet.devices()
            return Outcome("".join(status_line(device) + "\n" for device in devices))
        if command == "power":
            if len(args) != 2 or args[0] not in ("on", "off", "cycle"):
                raise CommandError("usage: power on|off|cycle <device>")
            action, device = args[0], self._device(args[1])
            log.info("lab controller: power %s %s", action, device.name)
            if action in ("off", "cycle"):
                await device.power_off()
            if action in ("on", "cycle"):
                await device.power_on()
            return Outcome(f"{device.name}: power {device.power_state}\n")
        if command == "reset-button":
            if len(args) != 1:
                raise CommandError("usage: reset-button <device>")
            device = self._device(args[0])
            log.info("lab controller: reset button %s", device.name)
            await device.press_reset_button()
            return Outcome(f"{device.name}: factory reset by reset button, "
                           f"power {device.power_state}\n")
        raise CommandError(f"unknown command: {command} (try 'help')")


class _Login(asyncssh.SSHServer):
    """The controller's one account."""

    def __init__(self, username: str, password: str,
                 open_connections: set[asyncssh.SSHServerConnection]) -> None:
        self._username = username
        self._password = password
        self._open = open_connections
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._open.add(conn)
        # asyncssh sets this too; kept explicit because it takes connect + exec from ~60 ms
        # to ~6 ms on loopback (ENVIRONMENT.md) and must not depend on a library default.
        sock = conn.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._open.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        user_ok = hmac.compare_digest(username.encode(), self._username.encode())
        password_ok = hmac.compare_digest(password.encode(), self._password.encode())
        return user_ok and password_ok


class LabControllerServer:
    """The running controller's SSH server."""

    def __init__(self, fleet: FleetHandle) -> None:
        self._controller = LabController(fleet)
        self._server: asyncssh.SSHAcceptor | None = None
        self._connections: set[asyncssh.SSHServerConnection] = set()
        self.port = 0

    async def _session(self, process: asyncssh.SSHServerProcess[str]) -> None:
        try:
            if process.command is not None:
                process.exit(max(await self._one(process, process.command), 0))
                return
            process.stdout.write(PROMPT)
            while True:
                try:
                    line = await process.stdin.readline()
                except (asyncssh.TerminalSizeChanged, asyncssh.BreakReceived):
                    continue
                if not line or (await self._one(process, line, interactive=True)) == -1:
                    process.exit(0)
                    return
                process.stdout.write(PROMPT)
        except (asyncssh.DisconnectError, asyncssh.ConnectionLost, BrokenPipeError):
            return

    async def _one(self, process: asyncssh.SSHServerProcess[str], line: str,
                   interactive: bool = False) -> int:
        """Run a line and write its output; the exit status, or -1 to end the session."""
        try:
            outcome = await self._controller.run(line)
        except CommandError as exc:
            # In an interactive session the refusal shows on the terminal, as a shell's
            # stderr does; an exec request keeps it on the channel's stderr stream.
            (process.stdout if interactive else process.stderr).write(f"{exc}\n")
            return 1
        process.stdout.write(outcome.output)
        return -1 if outcome.end_session else 0

    async def start(self, host: str, port: int, username: str, password: str,
                    host_key: asyncssh.SSHKey) -> None:
        self._server = await asyncssh.create_server(
            lambda: _Login(username, password, self._connections), host, port,
            server_host_keys=[host_key], process_factory=self._session, encoding="utf-8",
            login_timeout=30, reuse_address=True)
        self.port = self._server.get_port()

    async def close(self) -> None:
        """Stop listening and drop open sessions."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        # asyncssh leaves accepted connections open when its listener closes.
        for conn in list(self._connections):
            conn.abort()
        if server is not None:
            await server.wait_closed()


async def start_lab_controller(fleet: FleetHandle, *, host: str, port: int, username: str,
                               password: str, host_key: asyncssh.SSHKey) -> LabControllerServer:
    """Serve the lab controller over SSH on `host:port` (0 = any free port; see `.port`)."""
    server = LabControllerServer(fleet)
    await server.start(host, port, username, password, host_key)
    log.info("lab controller listening on %s:%d", host, server.port)
    return server
