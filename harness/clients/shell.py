"""The two SSH peers of a lab (paramiko, over `harness.clients.ssh`): a device's psh shell
(§8) and the lab's power/reset controller.
"""

from __future__ import annotations

import json
import re
from typing import Literal, Unpack

from harness.clients.hostkeys import HostKeyRefused, KnownHosts, fingerprint_of
from harness.clients.ssh import DEFAULT_TIMEOUT_S, CommandResult, SshClient, SshOptions
from harness.errors import DeviceError, InfrastructureError

# Re-exported: callers name the SSH parts through the peer they talk to.
__all__ = [
    "DEFAULT_TIMEOUT_S",
    "PSH_BANNER",
    "PSH_PROMPT",
    "CommandResult",
    "DeviceShell",
    "HostKeyRefused",
    "KnownHosts",
    "LabController",
    "LabControllerLoginRejected",
    "PowerAction",
    "ShellLoginRejected",
    "fingerprint_of",
    "parse_key_values",
]

PSH_BANNER = "BusyBox v1.19.4 Protect Shell (psh)"
PSH_PROMPT = "# "
PowerAction = Literal["on", "off", "cycle"]
# The first ':' or '=' splits; values (MACs, times) may contain more of them.
_KEY_VALUE = re.compile(r"\s*([^:=]*[^:=\s])\s*[:=](.*)")


class ShellLoginRejected(Exception):
    """A device's SSH server refused the user name or password the lab knows: a product
    defect (harness.errors.FAILURE_TABLE). Never retried (`during_login`)."""

    during_login = True


class LabControllerLoginRejected(InfrastructureError):
    """The lab controller refused its login: the lab's set-up, not a device's answer.
    Never retried (`during_login`)."""

    during_login = True


class DeviceShell(SshClient):
    """A device's SSH shell (psh, §8), user `admin` with the device password.

    SSH is off on a device until `IsapiClient.set_ssh(True)`. `connect_deadline` bounds
    how long a refused connection is retried (a booting device refuses connections).
    """

    UNREACHABLE = DeviceError
    REFUSED = ShellLoginRejected
    CONNECT_DEADLINE_S = 30.0  # a device refuses connections while it boots

    def __init__(
        self, host: str, port: int, password: str, *, user: str = "admin",
        **options: Unpack[SshOptions],
    ) -> None:
        super().__init__(host, port, user, password, **options)

    def greeting(self, timeout: float = DEFAULT_TIMEOUT_S) -> str:
        """What an interactive login prints up to the prompt (banner, then `# `)."""
        return self._ssh.interactive_greeting(timeout, PSH_PROMPT)

    def exec(self, command: str, *, timeout: float | None = None) -> CommandResult:
        """Run one psh command; exit status and both streams."""
        return self._ssh.exec(command, timeout=timeout)

    def run(self, command: str, *, timeout: float | None = None) -> str:
        """Run one psh command and return what it printed (stdout, then stderr)."""
        result = self._ssh.exec(command, timeout=timeout)
        return result.stdout + result.stderr

    def hard_info(self) -> dict[str, str]:
        """`prtHardInfo` as {key: value}; keys lower-case with `_` (e.g. `serial`, `mac`).

        The output's layout is not pinned by the spec, so any `key: value` or `key = value`
        line is read; lines without a separator are skipped.
        """
        return parse_key_values(self.run("prtHardInfo"))


def parse_key_values(text: str) -> dict[str, str]:
    """`key: value` / `key = value` lines as a dict with normalised keys."""
    info: dict[str, str] = {}
    for line in text.splitlines():
        match = _KEY_VALUE.match(line)
        if match:
            name = "_".join(match.group(1).strip().lower().replace("-", " ").split())
            info[name] = match.group(2).strip()
    return info


class LabController(SshClient):
    """The lab's power/reset controller over SSH (§8): relays and reset buttons by device.

    Failures reaching it are `InfrastructureError`s: the lab, not a device, is at fault.
    """

    REFUSED = LabControllerLoginRejected

    def _command(self, command: str, timeout: float | None = None) -> str:
        result = self._ssh.exec(command, timeout=timeout)
        if result.exit_status != 0:
            reason = (result.stderr or result.stdout).strip().splitlines()
            raise InfrastructureError(
                f"lab controller {self._ssh.address}: '{command}' failed "
                f"(exit {result.exit_status}): {reason[0] if reason else 'no message'}"
            )
        return result.stdout

    def power(self, device: str, action: PowerAction, *, timeout: float | None = None) -> None:
        """Switch a device's power relay: `on`, `off` or `cycle`."""
        if action not in ("on", "off", "cycle"):
            raise ValueError(f"power action must be on, off or cycle, not {action!r}")
        self._command(f"power {action} {device}", timeout)

    def reset_button(self, device: str, *, timeout: float | None = None) -> None:
        """Hold the device's reset button through a boot: full factory reset (inactive)."""
        self._command(f"reset-button {device}", timeout)

    def status(self, device: str | None = None) -> list[dict[str, object]]:
        """One dict per device (name, power, boots, reboots, factory_resets, ...)."""
        text = self._command("status" if device is None else f"status {device}")
        rows: list[dict[str, object]] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InfrastructureError(
                    f"lab controller {self._ssh.address}: status line {number} is not JSON: "
                    f"{line[:80]!r}"
                ) from exc
            if not isinstance(row, dict):
                raise InfrastructureError(
                    f"lab controller {self._ssh.address}: status line {number} is not an object"
                )
            rows.append(row)
        return rows
