"""The device's SSH shell: BusyBox "Protect Shell" (psh), DEVICE-SPEC §8.

Login `admin` with the device password (wrong ones count towards the device's illegal-login
lock). An interactive session greets with the banner and the `# ` prompt; an exec request
runs one command and closes with its exit status. Command names are the firmware's [src];
their output is ours [dec] and lives in this module only.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

import asyncssh

from emulator.interfaces import DeviceHandle, PowerState

log = logging.getLogger(__name__)

BANNER = "BusyBox v1.19.4 Protect Shell (psh)"
PROMPT = "# "
ADMIN = "admin"
# Exit status of an exec request naming a command psh does not have (as a POSIX shell's).
NOT_SUPPORTED_STATUS = 127

_HELP = """\
Protect Shell (psh) commands:
  help          show this list
  prtHardInfo   print model, serial number, firmware, MAC address and boot time
  getIp         print the network address
  dmesg         print the kernel log
  ps            list processes
  free          print memory usage
  reboot        reboot the device
  exit          leave the shell
"""

_PS = """\
  PID USER       VSZ STAT COMMAND
    1 root      1556 S    init
    2 root         0 SW   [kthreadd]
  412 root      2064 S    /bin/execSystemCmd
  455 root     98304 S    /home/app/exec/davinci
  460 root      6144 S    /home/app/exec/hikweb
  471 root      1564 S    /usr/sbin/dropbear -p 22
  502 root      1568 S    psh
"""

_FREE = """\
              total         used         free       shared      buffers
Mem:         494080       301532       192548            0        11260
-/+ buffers:              290272       203808
Swap:             0            0            0
"""


def hard_info_text(info: dict[str, str]) -> str:
    """`prtHardInfo` output: one `Label: value` line per field the device reports."""
    labels = {"model": "Model", "serial": "Serial No", "firmware": "Firmware Version",
              "build": "Build", "mac": "MAC Address", "boot_time": "Boot Time",
              "boot_id": "Boot ID"}
    lines = [f"{label}: {info[key]}" for key, label in labels.items() if key in info]
    lines += [f"{key}: {value}" for key, value in info.items() if key not in labels]
    return "\n".join(lines) + "\n"


def _dmesg_text(info: dict[str, str]) -> str:
    return (
        "[    0.000000] Linux version 3.18.20 (hik@build) (gcc version 4.9.4) #1 SMP PREEMPT\n"
        f"[    0.000000] Booting {info.get('model', 'device')} at {info.get('boot_time', '?')}\n"
        "[    0.412000] NAND device: Manufacturer ID: 0xc2, Chip ID: 0xf1\n"
        "[    1.208000] UBIFS: mounted UBI device 0, volume 0, name \"rootfs\"\n"
        f"[    2.031000] eth0: link up, MAC {info.get('mac', '?')}\n"
        "[    3.117000] psh: Protect Shell ready\n"
    )


class _Session:
    """One psh session on one SSH channel."""

    def __init__(self, device: DeviceHandle, process: asyncssh.SSHServerProcess[str],
                 schedule_reboot: Callable[[], None]) -> None:
        self._device = device
        self._process = process
        self._schedule_reboot = schedule_reboot

    def _write(self, text: str) -> None:
        self._process.stdout.write(text)

    def run_command(self, line: str) -> tuple[int, bool]:
        """Run one command line; return (exit status, True when the session must end)."""
        words = line.split()
        if not words:
            return 0, False
        command = words[0]
        info = self._device.hard_info()
        if command == "help":
            self._write(_HELP)
        elif command == "prtHardInfo":
            self._write(hard_info_text(info))
        elif command == "getIp":
            local = self._process.get_extra_info("sockname")
            address = str(local[0]) if local else "0.0.0.0"
            self._write(f"eth0 IP Address: {address}\neth0 MAC Address: {info.get('mac', '')}\n")
        elif command == "dmesg":
            self._write(_dmesg_text(info))
        elif command == "ps":
            self._write(_PS)
        elif command == "free":
            self._write(_FREE)
        elif command == "reboot":
            self._write("The system is going down NOW!\nRebooting...\n")
            self._schedule_reboot()
            return 0, True
        elif command in ("exit", "logout"):
            return 0, True
        else:
            self._write(f"'{command}' Not Supported, Try 'help'\n")
            return NOT_SUPPORTED_STATUS, False
        return 0, False

    async def run(self) -> None:
        process = self._process
        try:
            if process.command is not None:
                status, _ = self.run_command(process.command)
                process.exit(status)
                return
            self._write(f"{BANNER}\n\n{PROMPT}")
            while True:
                try:
                    line = await process.stdin.readline()
                except asyncssh.TerminalSizeChanged:
                    continue
                except asyncssh.BreakReceived:
                    self._write(f"\n{PROMPT}")
                    continue
                if not line:  # the client closed its side
                    process.exit(0)
                    return
                status, end = self.run_command(line.strip())
                if end:
                    process.exit(status)
                    return
                self._write(PROMPT)
        except (asyncssh.DisconnectError, asyncssh.ConnectionLost, BrokenPipeError):
            return


class _PshConnection(asyncssh.SSHServer):
    """Authentication for one SSH connection to the device."""

    def __init__(self, device: DeviceHandle,
                 open_connections: set[asyncssh.SSHServerConnection]) -> None:
        self._device = device
        self._open = open_connections
        self._conn: asyncssh.SSHServerConnection | None = None
        self._client_address = ""

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._open.add(conn)
        # asyncssh sets this too; kept explicit because it takes connect + exec from ~60 ms
        # to ~6 ms on loopback (ENVIRONMENT.md) and must not depend on a library default.
        sock = conn.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = conn.get_extra_info("peername")
        self._client_address = str(peer[0]) if peer else ""
        # The listener outlives SSH being switched off or the device losing power; a device
        # in that state has no sshd, so the connection ends before any login.
        if not self._device.ssh_enabled() or self._device.power_state == PowerState.OFF:
            asyncio.get_running_loop().call_soon(conn.abort)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._open.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        # Always ask the device, even for another user name, so that every failed login is
        # seen by the illegal-login lock as on the firmware.
        accepted = self._device.check_admin_password(password, self._client_address)
        return accepted and username == ADMIN


class ShellServer:
    """A running psh server for one device."""

    def __init__(self, device: DeviceHandle) -> None:
        self._device = device
        self._server: asyncssh.SSHAcceptor | None = None
        self._sessions: set[asyncio.Task[None]] = set()
        self._reboots: set[asyncio.Task[None]] = set()
        self._connections: set[asyncssh.SSHServerConnection] = set()
        self.port = 0

    def _schedule_reboot(self) -> None:
        # After the session has said goodbye: the reboot may close this very server.
        task = asyncio.get_running_loop().create_task(self._device.reboot())
        self._reboots.add(task)
        task.add_done_callback(self._reboots.discard)

    async def _process(self, process: asyncssh.SSHServerProcess[str]) -> None:
        session = _Session(self._device, process, self._schedule_reboot)
        task = asyncio.current_task()
        if task is not None:
            self._sessions.add(task)
            task.add_done_callback(self._sessions.discard)
        await session.run()

    async def start(self, host: str, port: int, host_key: asyncssh.SSHKey) -> None:
        self._server = await asyncssh.create_server(
            lambda: _PshConnection(self._device, self._connections), host, port,
            server_host_keys=[host_key], process_factory=self._process,
            encoding="utf-8", login_timeout=30, reuse_address=True)
        self.port = self._server.get_port()

    async def close(self) -> None:
        """Stop listening and drop the open connections, as a device going down does
        (a reboot already under way goes on)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        # asyncssh leaves accepted connections open when its listener closes.
        for conn in list(self._connections):
            conn.abort()
        if server is not None:
            await server.wait_closed()
        for task in list(self._sessions):
            task.cancel()
        await asyncio.gather(*self._sessions, return_exceptions=True)


async def start_device_shell(device: DeviceHandle, *, host: str, port: int,
                             host_key: asyncssh.SSHKey) -> ShellServer:
    """Serve the device's psh over SSH on `host:port` (0 = any free port; see `.port`)."""
    server = ShellServer(device)
    await server.start(host, port, host_key)
    log.info("psh for %s listening on %s:%d", device.name, host, server.port)
    return server
