"""bench/_common.timed_run counts the CPU of the whole process tree, orphans included, as
a Chromium renderer is one (its zygote outlives the browser that started it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BURN_S = 0.5
# A child that leaves a grandchild behind: the grandchild, an orphan, burns BURN_S of CPU
# after the command has already exited.
ORPHAN_MAKER = f"""
import os, time
child = os.fork()
if child == 0:
    if os.fork() == 0:
        start = time.process_time()
        while time.process_time() - start < {BURN_S}:
            pass
    os._exit(0)
os.waitpid(child, 0)
"""
# In a process of its own: timed_run makes its caller the reaper of orphans for good.
MEASURE = f"""
import json, sys
sys.path.insert(0, {str(REPO / "bench")!r})
from _common import timed_run
wall, cpu, proc = timed_run([sys.executable, "-c", {ORPHAN_MAKER!r}], timeout=60)
print(json.dumps({{"cpu": cpu, "rc": proc.returncode}}))
"""


def test_cpu_of_an_orphaned_grandchild_is_counted() -> None:
    proc = subprocess.run([sys.executable, "-c", MEASURE], capture_output=True, text=True,
                          timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["rc"] == 0
    assert result["cpu"] >= 0.8 * BURN_S, f"the orphan's CPU was not counted: {result}"
