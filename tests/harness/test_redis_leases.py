"""Redis leases against a real redis-server (Debian's package) that the tests start on
loopback: exclusion, holder identity, fencing tokens, expiry after a holder dies, a late
holder refused, force-release, and an unreachable server as one infrastructure line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
import redis

from harness.clients.mail import free_port
from harness.errors import InfrastructureError, failure_kind
from harness.inventory.fields import InventoryError
from harness.inventory.load import parse_inventory
from harness.lab.leases import LeaseTimeout, acquire, backend_for
from harness.lab.redisleases import LeaseLost, RedisLeaseBackend, ci_job_url

TTL_S: Final = 2.0
START_WAIT_S: Final = 10.0
REPO: Final = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server of our own on a free loopback port, no persistence."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is missing: scripts/ensure.sh installs Debian's redis-server"
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    deadline = time.monotonic() + START_WAIT_S
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert server.poll() is None, "redis-server exited at start"
            assert time.monotonic() < deadline, f"redis-server not up in {START_WAIT_S} s"
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def backend(redis_url: str, request: pytest.FixtureRequest) -> RedisLeaseBackend:
    # A prefix per test: the tests share one server.
    return RedisLeaseBackend(redis_url, ttl_s=TTL_S, prefix=f"t{abs(hash(request.node.name))}",
                             run="run-1")


def test_one_holder_at_a_time_and_who_it_is(backend: RedisLeaseBackend) -> None:
    first = backend.try_acquire("nvr1", "test_a")
    assert first is not None
    assert backend.try_acquire("nvr1", "test_b") is None
    holder = backend.holder_of("nvr1")
    assert holder is not None and "test_a" in holder and f"pid {os.getpid()}" in holder
    assert "run run-1" in holder
    first.verify()
    first.release()
    assert backend.holder_of("nvr1") is None
    second = backend.try_acquire("nvr1", "test_b")
    assert second is not None and second.token > first.token  # fencing tokens only grow
    second.release()


def test_a_waiter_names_the_holder_when_it_gives_up(backend: RedisLeaseBackend) -> None:
    with backend.try_acquire("nvr1", "test_a") as held:  # type: ignore[union-attr]
        with pytest.raises(LeaseTimeout) as info:
            acquire(["nvr1"], 0.3, backend=backend, holder="test_b")
        assert "nvr1 held by test_a on" in str(info.value)
        assert held.held


def test_the_heartbeat_keeps_a_lease_past_its_ttl(backend: RedisLeaseBackend) -> None:
    lease = backend.try_acquire("nvr1", "test_a")
    assert lease is not None
    time.sleep(TTL_S * 2)  # several renewals
    lease.verify()
    assert backend.try_acquire("nvr1", "test_b") is None
    lease.release()


def test_a_late_holder_is_fenced_off(backend: RedisLeaseBackend) -> None:
    late = backend.try_acquire("nvr1", "test_late")
    assert late is not None
    late._stop.set()  # the holder stalls (a paused VM, a stopped process): no renewal
    deadline = time.monotonic() + TTL_S * 3
    taker = None
    while taker is None and time.monotonic() < deadline:
        taker = backend.try_acquire("nvr1", "test_next")
        time.sleep(0.1)
    assert taker is not None, "the stalled lease never expired"
    with pytest.raises(LeaseLost, match=r"nvr1: this runner lost its lease.*test_next"):
        late.verify()
    late.release()  # must not free the new holder's lease
    taker.verify()
    assert backend.holder_of("nvr1") is not None
    taker.release()
    assert failure_kind(LeaseLost("x")) == "infrastructure"


def test_a_killed_holder_loses_its_lease_within_one_ttl(redis_url: str,
                                                        backend: RedisLeaseBackend) -> None:
    script = (
        "import sys, time; from harness.lab.redisleases import RedisLeaseBackend;"
        f"b = RedisLeaseBackend({redis_url!r}, ttl_s={TTL_S}, prefix={backend.prefix!r});"
        "lease = b.try_acquire('nvr1', 'doomed'); print('held', flush=True); time.sleep(600)"
    )
    holder = subprocess.Popen([sys.executable, "-c", script], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert "doomed" in (backend.holder_of("nvr1") or "")
        os.kill(holder.pid, signal.SIGKILL)
        killed = time.monotonic()
        lease = acquire(["nvr1"], TTL_S * 3, backend=backend, holder="survivor", poll=0.05)
        freed_after = time.monotonic() - killed
        lease.release()
    finally:
        holder.kill()
        holder.wait(timeout=10)
    # Redis expired the key by itself: at most one TTL after the last renewal, which was
    # at most a third of a TTL before the kill.
    print(f"lease free {freed_after:.2f} s after SIGKILL (TTL {TTL_S:g} s)")
    assert lease.token > 0


def test_force_release_ends_the_holders_test(backend: RedisLeaseBackend) -> None:
    lease = backend.try_acquire("nvr1", "test_a")
    assert lease is not None
    assert [r.device for r in backend.held()] == ["nvr1"]
    was = backend.force_release("nvr1", by="admin@host")
    assert was is not None and was.holder == "test_a"
    with pytest.raises(LeaseLost):
        lease.verify()
    lease.release()
    assert backend.held() == []


def test_ci_job_url_from_the_ci() -> None:
    assert ci_job_url({"CI_JOB_URL": "https://gitlab.example/j/1"}) == "https://gitlab.example/j/1"
    assert ci_job_url({"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r",
                       "GITHUB_RUN_ID": "7"}) == "https://github.com/o/r/actions/runs/7"
    assert ci_job_url({}) is None


def test_an_unreachable_server_is_one_infrastructure_line() -> None:
    port = free_port()  # nothing listens there
    backend = RedisLeaseBackend(f"redis://127.0.0.1:{port}/0", ttl_s=TTL_S)
    with pytest.raises(InfrastructureError) as info:
        backend.try_acquire("nvr1", "test_a")
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(f"lease server redis://127.0.0.1:{port}/0: read: ")


def test_the_inventory_chooses_redis(redis_url: str) -> None:
    inventory = parse_inventory(
        "devices: [{name: n, kind: emulated, model: DS-7608NI-K2, firmware: V4.21.000}]\n"
        f"leases: {{kind: redis, url: '{redis_url}', ttl_s: 5, prefix: lab1}}\n")
    backend = backend_for(inventory.leases)
    assert isinstance(backend, RedisLeaseBackend)
    assert (backend.ttl_s, backend.prefix) == (5.0, "lab1")
    with pytest.raises(InventoryError) as info:
        parse_inventory(
            "devices: [{name: n, kind: emulated, model: DS-7608NI-K2, firmware: V4.21.000}]\n"
            "leases: {kind: redis, url: 'redis://user:secret@127.0.0.1:6379/0'}\n")
    assert str(info.value).startswith("devices.yaml: line 2: leases.url: credentials in the ")
    assert "secret" not in str(info.value)


# --- through pytest: a suite's test holds its device by a Redis lease ------------------------

LEASED_SUITE = '''
import pytest
from harness.lab.leases import backend_for


@pytest.mark.state("active")
def test_holds_its_device(dut):
    held = backend_for(dut.lab.inventory.leases).held()
    assert [(r.device, r.holder.split("::")[-1]) for r in held] == [
        (dut.name, "test_holds_its_device[" + dut.id + "]")]


@pytest.mark.state("active")
def test_loses_its_device(dut):
    backend_for(dut.lab.inventory.leases).force_release(dut.name, by="an admin")
    with dut.isapi() as device:  # fenced: never reaches the device
        device.device_info()
'''


def test_a_suite_leases_by_redis_and_a_lost_lease_is_no_pass(
        redis_url: str, tmp_path: Path) -> None:
    devices = tmp_path / "devices.yaml"
    devices.write_text(
        "devices: [{name: nvr, kind: emulated, model: DS-7608NI-K2, firmware: V4.21.000}]\n"
        f"leases: {{kind: redis, url: '{redis_url}', ttl_s: 5, prefix: e2e}}\n")
    suite = tmp_path / "test_leased.py"
    suite.write_text(LEASED_SUITE)
    records = tmp_path / "records"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:playwright",
         "-p", "pytest_playwright.pytest_playwright", "-p", "fixtures.lab",
         "-p", "fixtures.matrix", "-p", "fixtures.devices", "-p", "fixtures.browser",
         "-p", "fixtures.reporting", "-p", "fixtures.records", "--run-records", str(records),
         str(suite), "-q", "--devices", str(devices), "--lab-workdir", str(tmp_path / "lab")],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-2000:]
    from harness.run.records import read_records

    outcomes = {r.nodeid.split("::")[-1].split("[")[0]: (r.outcome, r.kind)
                for r in read_records(records)}
    assert outcomes["test_holds_its_device"] == ("passed", None)
    assert outcomes["test_loses_its_device"] == ("failed", "infrastructure"), run.stdout[-3000:]
    assert "this runner lost its lease" in run.stdout
    backend = RedisLeaseBackend(redis_url, ttl_s=5, prefix="e2e")
    assert backend.held() == [], "every lease released at the end"


# --- device health shared by every runner ----------------------------------------------------

def test_a_bad_mark_reaches_every_runner_and_outlives_a_run(redis_url: str,
                                                            tmp_path: Path) -> None:
    from harness.lab.devicehealth import RedisHealth, SharedQuarantine

    store = RedisHealth(redis_url, prefix="health1")
    runner_a = SharedQuarantine(tmp_path / "a", store)
    runner_b = SharedQuarantine(tmp_path / "b", RedisHealth(redis_url, prefix="health1"))
    runner_a.mark("nvr", "bring-up to active failed (device): no answer from 127.0.0.1:9")
    assert runner_b.reason("nvr") is not None
    assert (runner_b.reason("nvr") or "").startswith("bring-up to active failed (device)")
    runner_b.clear()  # a new run on B forgets its own quarantine only
    assert runner_b.reason("nvr") is not None
    assert list(store.bad()) == ["nvr"]
    assert store.clear("nvr") and runner_b.reason("nvr") is None


def test_a_run_skips_a_device_another_runner_marked_bad(redis_url: str, tmp_path: Path) -> None:
    from harness.lab.devicehealth import RedisHealth

    RedisHealth(redis_url, prefix="health2").mark_bad("nvr", "lab controller: outlet 3 dead")
    devices = tmp_path / "devices.yaml"
    devices.write_text(
        "devices: [{name: nvr, kind: emulated, model: DS-7608NI-K2, firmware: V4.21.000}]\n"
        f"leases: {{kind: redis, url: '{redis_url}', ttl_s: 5, prefix: health2}}\n")
    suite = tmp_path / "test_skipped.py"
    suite.write_text("def test_needs_the_nvr(dut):\n    raise AssertionError('ran')\n")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "fixtures.lab",
         "-p", "fixtures.matrix", "-p", "fixtures.devices", str(suite), "-q", "-rs",
         "--devices", str(devices), "--lab-workdir", str(tmp_path / "lab")],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "1 skipped" in run.stdout
    assert "lab controller: outlet 3 dead (marked bad by" in run.stdout


# --- the admin's commands: hil devices leases | release --force | health ---------------------

def test_hil_lists_releases_and_heals(redis_url: str, tmp_path: Path) -> None:
    from cli_helpers import hil

    from harness.lab.devicehealth import RedisHealth

    devices = tmp_path / "devices.yaml"
    devices.write_text(
        "devices:\n"
        "  - {name: nvr, kind: emulated, model: DS-7608NI-K2, firmware: V4.21.000}\n"
        "  - {name: gone, kind: real, model: DS-7608NI-K2, firmware: V4.21.000,\n"
        f"     base_url: 'http://127.0.0.1:{free_port()}', password_env: HIL_GONE_PASSWORD}}\n"
        f"leases: {{kind: redis, url: '{redis_url}', ttl_s: 5, prefix: admin}}\n")
    where = ("--devices", devices)
    backend = RedisLeaseBackend(redis_url, ttl_s=5, prefix="admin", run="nightly-7")
    lease = backend.try_acquire("nvr", "test_x")
    assert lease is not None
    listed = hil("devices", "leases", *where, "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)["leases"]
    assert (row["device"], row["holder"], row["run"]) == ("nvr", "test_x", "nightly-7")

    refused = hil("devices", "release", "nvr", *where, cwd=tmp_path)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "say --force" in refused.stderr
    lease.verify()  # still held
    done = hil("devices", "release", "nvr", "--force", *where, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "released the lease of nvr (held by test_x on" in done.stdout
    with pytest.raises(LeaseLost):
        lease.verify()
    lease.release()
    assert backend.audit()[0]["device"] == "nvr"

    # Health: the emulated NVR answers (its bad mark goes), the real one's port is closed
    # (marked bad for every runner).
    store = RedisHealth(redis_url, prefix="admin")
    store.mark_bad("nvr", "bring-up failed yesterday")
    workdir = tmp_path / "lab"
    up = hil("lab", "up", *where, "--workdir", workdir, cwd=tmp_path)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        healed = hil("devices", "health", *where, "--workdir", workdir, cwd=tmp_path)
    finally:
        hil("lab", "down", "--workdir", workdir, cwd=tmp_path)
    assert healed.returncode == 2, healed.stdout + healed.stderr
    assert store.reason("nvr") is None
    assert (store.reason("gone") or "").startswith("health probe failed: ")
