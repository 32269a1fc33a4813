"""Fixtures that start real emulated fleets on free loopback ports.

`fleet_factory(devices, **options)` starts a fleet and returns a `RunningFleet`:

    def test_something(fleet_factory):
        lab = fleet_factory([{"model": "DS-2CD2143G2-I", "firmware": "V5.6.0"}])
        url = lab.url()                     # first device's http://127.0.0.1:PORT
        info = lab.info["devices"][0]       # the ready JSON of `python -m emulator fleet`

Device specs are fleet-config device entries; `name` defaults to dev0, dev1, ...
Options: `subprocess=True` runs `python -m emulator fleet CONFIG` in a child process through
the harness's own launcher (harness.lab.host.launch_fleet; its stderr in fleetN.log),
otherwise the fleet runs in-process on its own event-loop thread, which is faster and lets
a test reach the Device object (`lab.device(name)`) and run coroutines on
the fleet's loop (`lab.call(coro)`). Further options: `mail_relay=(host, port)`,
`cloud=False`, `lab_controller=False`, `defect_modules=[...]`, `env={...}` (subprocess),
`state_dir=PATH` (reuse a flash folder, e.g. to check what survives a restart).
Everything is stopped at the end of the test.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess as sp
import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from harness.lab.host import launch_fleet, stop_fleet

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 60.0
T = TypeVar("T")


@dataclass
class RunningFleet:
    """A started fleet: its ready info, and (in-process) the Fleet object and its loop."""

    info: dict[str, Any]
    state_dir: Path
    config_path: Path
    fleet: Any = None
    loop: asyncio.AbstractEventLoop | None = None
    process: sp.Popen[bytes] | None = None
    _by_name: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_name = {d["name"]: d for d in self.info["devices"]}

    def entry(self, name: str | None = None) -> dict[str, Any]:
        """The ready-JSON entry of a device (the first one by default)."""
        return self._by_name[name] if name else self.info["devices"][0]

    def url(self, name: str | None = None) -> str:
        return str(self.entry(name)["http"])

    def device(self, name: str | None = None) -> Any:
        """The emulator's Device object (in-process fleets only)."""
        assert self.fleet is not None, "device() needs an in-process fleet"
        return self.fleet.emulated(self.entry(name)["name"])

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the fleet's event loop (in-process fleets only)."""
        assert self.loop is not None, "call() needs an in-process fleet"
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def run(self, fn: Callable[[], T], timeout: float = 30.0) -> T:
        """Run a plain function on the fleet's loop thread (device state is not thread-safe)."""

        async def wrapper() -> T:
            return fn()

        return self.call(wrapper(), timeout)


def _config(devices: list[dict[str, Any]], state_dir: Path, *, mail_relay: tuple[str, int],
            cloud: bool, lab_controller: bool, defect_modules: list[str]) -> dict[str, Any]:
    entries = []
    for i, spec in enumerate(devices):
        entry = {"name": f"dev{i}", "http_port": 0, "ssh_port": 0, **spec}
        entries.append(entry)
    return {
        "host": "127.0.0.1", "state_dir": str(state_dir),
        "mail_relay": {"host": mail_relay[0], "port": mail_relay[1]},
        "cloud": {"http_port": 0, "smtp_port": 0} if cloud else None,
        "lab_controller": {"ssh_port": 0} if lab_controller else None,
        "defect_modules": defect_modules, "devices": entries,
    }


def _start_in_process(config: dict[str, Any], source: str) -> tuple[Any, Any, Any]:
    from emulator.config import validate_config
    from emulator.fleet import Fleet

    fleet = Fleet(validate_config(config, source))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="emulator-fleet", daemon=True)
    thread.start()
    try:
        info = asyncio.run_coroutine_threadsafe(fleet.start(), loop).result(READY_TIMEOUT_S)
    except BaseException:
        asyncio.run_coroutine_threadsafe(fleet.close(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        raise
    return fleet, loop, (thread, info)


@pytest.fixture
def fleet_factory(tmp_path: Path) -> Iterator[Callable[..., RunningFleet]]:
    """Start fleets for one test; see the module docstring."""
    started: list[RunningFleet] = []
    threads: list[threading.Thread] = []

    def start(devices: list[dict[str, Any]], *, subprocess: bool = False,
              mail_relay: tuple[str, int] = ("127.0.0.1", 2525), cloud: bool = True,
              lab_controller: bool = True, defect_modules: list[str] | None = None,
              env: dict[str, str] | None = None,
              state_dir: Path | None = None) -> RunningFleet:
        n = len(started)
        state_dir = state_dir or tmp_path / f"fleet{n}" / "state"
        config = _config(devices, state_dir, mail_relay=mail_relay, cloud=cloud,
                         lab_controller=lab_controller, defect_modules=defect_modules or [])
        config_path = tmp_path / f"fleet{n}.json"
        config_path.write_text(json.dumps(config, indent=1))
        if subprocess:
            process, info = launch_fleet(config_path, tmp_path / f"fleet{n}.log", cwd=REPO,
                                         env={**os.environ, **(env or {})},
                                         timeout=READY_TIMEOUT_S)
            running = RunningFleet(info, state_dir, config_path, process=process)
        else:
            fleet, loop, (thread, info) = _start_in_process(config, str(config_path))
            threads.append(thread)
            running = RunningFleet(info, state_dir, config_path, fleet=fleet, loop=loop)
        started.append(running)
        return running

    yield start
    for running in started:
        if running.process is not None:
            stop_fleet(running.process, timeout=15)
            if running.process.stdout is not None:
                running.process.stdout.close()
        elif running.loop is not None:
            running.call(running.fleet.close())
            running.loop.call_soon_threadsafe(running.loop.stop)
    for thread in threads:
        thread.join(10)
    for running in started:
        if running.loop is not None and not running.loop.is_running():
            running.loop.close()
