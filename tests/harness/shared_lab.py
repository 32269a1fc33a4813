"""Several machines on one: a shared lab in network namespaces that the test makes itself.

`lab` (10.77.<n>.2) holds the emulated fleet and Redis; each runner `r1`, `r2`, ...
(10.77.<n>.11, .12, ...) has its own namespace and address, and reaches them only over a
bridge in the root namespace that has no address itself: nothing else is reachable from
the runners, and the lab answers nobody else. The file system is shared, as a lab's NFS
home would be: runners read the lab's mail folder and credential store directly.

`judge_double_bookings` holds the devices' own account (the emulator's access log: which
client asked which device what, when) against the lease journal (which runner held which
device from when to when): a request from one runner inside another runner's lease of the
same device is a double booking.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

REPO: Final = Path(__file__).resolve().parents[2]
HIL: Final = Path(sys.executable).parent / "hil"
REDIS_PORT: Final = 6379
UP_WAIT_S: Final = 60.0


def _ip(*argv: str) -> None:
    subprocess.run(["ip", *argv], check=True, capture_output=True, text=True, timeout=30)


@dataclass
class NetLab:
    """A bridge and namespaces named after a random tag, removed by `down`."""

    runners: int
    tag: str = field(default_factory=lambda: secrets.token_hex(2))
    subnet: int = field(default_factory=lambda: 100 + secrets.randbelow(100))

    @property
    def lab_ns(self) -> str:
        return f"hil-{self.tag}-lab"

    @property
    def lab_ip(self) -> str:
        return f"10.77.{self.subnet}.2"

    def runner_ns(self, index: int) -> str:
        return f"hil-{self.tag}-r{index}"

    def runner_ip(self, index: int) -> str:
        return f"10.77.{self.subnet}.{10 + index}"

    def _names(self) -> list[tuple[str, str]]:
        """(namespace, address) of the lab and of each runner."""
        return [(self.lab_ns, self.lab_ip)] + [
            (self.runner_ns(i), self.runner_ip(i)) for i in range(1, self.runners + 1)]

    def up(self) -> None:
        bridge = f"hb{self.tag}"
        _ip("link", "add", bridge, "type", "bridge")
        _ip("link", "set", bridge, "up")
        for n, (namespace, address) in enumerate(self._names()):
            outside, inside = f"hv{self.tag}{n}a", f"hv{self.tag}{n}b"
            _ip("netns", "add", namespace)
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            _ip("link", "set", outside, "master", bridge)
            _ip("link", "set", outside, "up")
            _ip("link", "set", inside, "netns", namespace)
            _ip("-n", namespace, "addr", "add", f"{address}/24", "dev", inside)
            _ip("-n", namespace, "link", "set", inside, "up")
            _ip("-n", namespace, "link", "set", "lo", "up")

    def down(self) -> None:
        for namespace, _ in self._names():
            pids = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True,
                                  text=True, check=False).stdout.split()
            for pid in pids:
                with suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)
        subprocess.run(["ip", "link", "del", f"hb{self.tag}"], capture_output=True, check=False)

    def popen(self, namespace: str, argv: list[str], env: dict[str, str] | None = None,
              **kwargs: Any) -> subprocess.Popen[str]:
        """`argv` in `namespace`, in its own process group (so a kill takes its workers)."""
        return subprocess.Popen(["ip", "netns", "exec", namespace, *argv], cwd=REPO,
                                env={**os.environ, **(env or {})}, text=True,
                                start_new_session=True, **kwargs)

    def run(self, namespace: str, argv: list[str], env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["ip", "netns", "exec", namespace, *argv], cwd=REPO,
                              env={**os.environ, **(env or {})}, text=True,
                              capture_output=True, timeout=timeout, check=False)


@contextmanager
def shared_lab(folder: Path, runners: int, devices: list[dict[str, Any]],
               latency_ms: int = 150, ttl_s: float = 5.0) -> Iterator[SharedLab]:
    """Namespaces, Redis and the emulated fleet of `devices` in the lab namespace; the
    inventory every runner uses (leases in that Redis)."""
    net = NetLab(runners)
    net.up()
    redis_server = None
    lab = None
    try:
        redis_server = net.popen(net.lab_ns, [
            shutil.which("redis-server") or "redis-server", "--bind", net.lab_ip, "--port",
            str(REDIS_PORT), "--save", "", "--appendonly", "no", "--dir", str(folder),
            # Reachable only from the test's own namespaces: no password needed.
            "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"redis://{net.lab_ip}:{REDIS_PORT}/0"
        inventory = folder / "devices.yaml"
        entries = [{**d, "latency_ms": latency_ms} for d in devices]
        inventory.write_text(json.dumps({
            "devices": entries,
            "leases": {"kind": "redis", "url": url, "ttl_s": ttl_s, "prefix": "shared"},
        }))
        access_log = folder / "access.jsonl"
        workdir = folder / "lab"
        lab = SharedLab(net, inventory, workdir, access_log, url)
        started = net.run(net.lab_ns, [str(HIL), "lab", "up", "--devices", str(inventory),
                                       "--workdir", str(workdir)],
                          env={"HIL_LAB_HOST": net.lab_ip,
                               "HIL_EMULATOR_ACCESS_LOG": str(access_log)}, timeout=UP_WAIT_S)
        assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-2000:]
        lab.wait_for_redis()
        yield lab
    finally:
        if lab is not None:
            subprocess.run([str(HIL), "lab", "down", "--workdir", str(lab.workdir)],
                           cwd=REPO, capture_output=True, check=False, timeout=60)
        if redis_server is not None:
            os.killpg(redis_server.pid, signal.SIGKILL)
            redis_server.wait(timeout=10)
        net.down()


@dataclass
class SharedLab:
    net: NetLab
    inventory: Path
    workdir: Path
    access_log: Path
    redis_url: str

    def wait_for_redis(self) -> None:
        deadline = time.monotonic() + UP_WAIT_S
        while True:
            done = self.net.run(self.net.runner_ns(1), [
                sys.executable, "-c",
                f"import redis; redis.Redis.from_url({self.redis_url!r}).ping()"], timeout=30)
            if done.returncode == 0:
                return
            assert time.monotonic() < deadline, f"Redis not reachable: {done.stderr[-500:]}"
            time.sleep(0.2)

    def runner(self, index: int, output: Path, *args: str,
               workers: int = 2) -> subprocess.Popen[str]:
        """`hil run` as runner `index` in its namespace, into `output`."""
        return self.net.popen(self.net.runner_ns(index), [
            str(HIL), "run", "--devices", str(self.inventory), "--workdir", str(self.workdir),
            "-o", str(output), "-n", str(workers), *args],
            env={"HIL_RUNNER": f"r{index}"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def acquire_as(self, runner: str, device: str, timeout: float) -> float:
        """Lease `device` from runner 1's namespace as `runner`, waiting at most `timeout`,
        release it; the time it was acquired."""
        done = self.net.run(self.net.runner_ns(1), [
            sys.executable, "-c",
            "import time; from harness.lab.leases import acquire;"
            "from harness.lab.redisleases import RedisLeaseBackend;"
            f"b = RedisLeaseBackend({self.redis_url!r}, prefix='shared');"
            f"lease = acquire([{device!r}], {timeout}, backend=b, holder='check', poll=0.05);"
            "print(time.time()); lease.release()"], env={"HIL_RUNNER": runner},
            timeout=timeout + 30)
        assert done.returncode == 0, done.stdout[-1000:] + done.stderr[-1000:]
        return float(done.stdout.strip().splitlines()[-1])

    def journal(self) -> list[dict[str, Any]]:
        done = self.net.run(self.net.runner_ns(1), [
            sys.executable, "-c",
            "import json, redis;"
            f"r = redis.Redis.from_url({self.redis_url!r}, decode_responses=True);"
            "print(json.dumps([json.loads(x) for x in r.lrange('shared:journal', 0, -1)]))"])
        assert done.returncode == 0, done.stderr[-1000:]
        events: list[dict[str, Any]] = json.loads(done.stdout)
        return events


@dataclass(frozen=True)
class Judgement:
    requests: int
    double_bookings: list[str]
    outside_leases: int


def judge_double_bookings(lab: SharedLab) -> Judgement:
    """Hold the emulator's access log against the lease journal."""
    ip_of = {f"r{i}": lab.net.runner_ip(i) for i in range(1, lab.net.runners + 1)}
    runner_of = {ip: name for name, ip in ip_of.items()}
    windows: dict[str, list[tuple[float, float, str]]] = {}
    open_at: dict[tuple[str, int], tuple[float, str]] = {}
    for event in lab.journal():
        key = (event["device"], event["token"])
        if event["event"] == "acquire":
            open_at[key] = (event["t"], event["runner"])
        elif key in open_at:
            start, runner = open_at.pop(key)
            windows.setdefault(event["device"], []).append((start, event["t"], runner))
    # A lease never released (its holder was killed) lasted until it expired, which is
    # when Redis let the next holder of the device in.
    for (device, _token), (start, runner) in open_at.items():
        later = [w[0] for w in windows.get(device, []) if w[0] > start]
        later += [s for (d, _t), (s, _r) in open_at.items() if d == device and s > start]
        windows.setdefault(device, []).append((start, min(later, default=float("inf")), runner))
    doubles: list[str] = []
    outside = 0
    count = 0
    for line in lab.access_log.read_text().splitlines():
        entry = json.loads(line)
        runner = runner_of.get(entry["client"])
        if runner is None or entry["device"] is None:
            continue
        count += 1
        inside = [w for w in windows.get(entry["device"], []) if w[0] <= entry["t"] <= w[1]]
        if any(w[2] != runner for w in inside):
            doubles.append(f"{entry['device']}: {runner} {entry['method']} {entry['path']} at "
                           f"{entry['t']:.3f} inside {[w for w in inside if w[2] != runner]}")
        elif not inside:
            outside += 1
    return Judgement(count, doubles, outside)

