"""Spec §8: state on flash survives power loss; a power cut never leaves a mixture."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from specclient import EMAIL, PASSWORD, SpecClient, activated_client

from emulator.flash import Flash

REPO = Path(__file__).resolve().parents[2]

WRITER = """
import hashlib, sys
from pathlib import Path
from emulator.flash import Flash
flash = Flash(Path(sys.argv[1]), "dev")
i = 0
print("writing", flush=True)
while True:
    i += 1
    blob = ("%08d" % i) * 4000          # 32 kB: many write() pages per state
    flash.save({"n": i, "blob": blob, "sum": hashlib.sha256(blob.encode()).hexdigest()})
"""


def _complete(path: Path) -> int:
    import hashlib

    state = json.loads(path.read_text())
    assert hashlib.sha256(state["blob"].encode()).hexdigest() == state["sum"]
    assert state["blob"] == f"{state['n']:08d}" * 4000
    return int(state["n"])


def test_sigkill_during_writes_leaves_one_complete_state(tmp_path: Path) -> None:
    rng = random.Random(1234)
    last = 0
    for _round in range(12):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], cwd=REPO,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "writing"
        time.sleep(rng.uniform(0.01, 0.15))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
        path = tmp_path / "dev.json"
        if path.exists():
            last = _complete(path)
    assert last > 0, "the writer never completed a state"


def test_a_torn_save_is_dropped_at_boot(tmp_path: Path) -> None:
    # What a cut during a save leaves: the last complete state and a half-written copy.
    Flash(tmp_path, "dev").save({"n": 1})
    torn = tmp_path / ".dev.json.k3j2h1.tmp"
    torn.write_text('{"n": 2, "blo')
    other = tmp_path / ".cam.json.a1b2c3.tmp"  # another device's save in progress
    other.write_text("{")
    assert Flash(tmp_path, "dev").load() == {"n": 1}
    assert not torn.exists() and other.exists()


def test_state_survives_a_fleet_restart(fleet_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec = [{"name": "cam", "model": "DS-2CD2143G2-I", "firmware": "V5.6.3"}]
    state_dir = tmp_path / "flash"
    first = fleet_factory(spec, cloud=False, lab_controller=False, state_dir=state_dir)
    activated_client(first.url(), email=EMAIL).close()
    serial = first.entry()["serial"]
    first.call(first.fleet.close())
    second = fleet_factory(spec, cloud=False, lab_controller=False, state_dir=state_dir)
    assert second.entry()["serial"] == serial
    c = SpecClient(second.url())
    assert c.activated()
    assert c.session_login(PASSWORD).status_code == 200
    saved = json.loads((state_dir / "cam.json").read_text())
    assert PASSWORD not in json.dumps(saved)  # the device keeps hashes, not the password
