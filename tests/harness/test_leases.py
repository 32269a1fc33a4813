"""Device leases across processes: the second waits, then gets the device; death releases."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import HarnessError, InfrastructureError
from harness.inventory.model import FileLeases
from harness.lab.leases import FileLeaseBackend, LeaseTimeout, acquire, backend_for

# A second process: takes a lease on argv devices, prints what it got, then waits for a line
# on stdin before releasing (so the test decides when it lets go, with no sleeps).
HOLDER = """
import sys
from pathlib import Path
from harness.lab.leases import FileLeaseBackend, acquire, LeaseTimeout
backend = FileLeaseBackend(Path(sys.argv[1]))
print("waiting", flush=True)
try:
    lease = acquire(sys.argv[3:], timeout=float(sys.argv[2]), backend=backend, holder="child")
except LeaseTimeout as exc:
    print("timeout", exc, flush=True)
    sys.exit(3)
print("got", lease.device, flush=True)
sys.stdin.readline()
lease.release()
print("released", flush=True)
"""

TIMEOUT = 60.0


def spawn(directory: Path, wait: float, *devices: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(directory), str(wait), *devices],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )


def expect(proc: subprocess.Popen[str], prefix: str) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line.startswith(prefix), f"expected {prefix!r} from the child, got {line!r}"
    return line


@pytest.fixture
def backend(tmp_path: Path) -> FileLeaseBackend:
    return FileLeaseBackend(tmp_path / "leases")


def test_second_process_waits_then_gets_the_device(backend: FileLeaseBackend) -> None:
    first = acquire(["nvr-v4.21.000"], timeout=1, backend=backend, holder="first test")
    child = spawn(backend.directory, TIMEOUT, "nvr-v4.21.000")
    try:
        expect(child, "waiting")
        # While we hold it, the child cannot have it: the lease file still names us.
        assert backend.holder_of("nvr-v4.21.000") == f"first test (pid {os.getpid()})"
        assert child.poll() is None
        first.release()
        assert expect(child, "got") == "got nvr-v4.21.000"
        with pytest.raises(LeaseTimeout):
            acquire(["nvr-v4.21.000"], timeout=0, backend=backend)
        child.stdin.write("\n")  # type: ignore[union-attr]
        child.stdin.flush()  # type: ignore[union-attr]
        expect(child, "released")
        assert child.wait(timeout=TIMEOUT) == 0
        with acquire(["nvr-v4.21.000"], timeout=TIMEOUT, backend=backend) as lease:
            assert lease.held
        assert not lease.held
    finally:
        child.kill()
        child.wait()


def test_a_killed_holder_releases_its_device(backend: FileLeaseBackend) -> None:
    child = spawn(backend.directory, TIMEOUT, "ipc-v5.6.0")
    try:
        expect(child, "waiting")
        expect(child, "got")
        with pytest.raises(LeaseTimeout) as info:
            acquire(["ipc-v5.6.0"], timeout=0.2, backend=backend)
        assert f"held by child (pid {child.pid})" in str(info.value)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=TIMEOUT)
        lease = acquire(["ipc-v5.6.0"], timeout=TIMEOUT, backend=backend)
        assert lease.device == "ipc-v5.6.0"
        lease.release()
    finally:
        child.kill()
        child.wait()


def test_any_free_candidate_is_taken(backend: FileLeaseBackend) -> None:
    with acquire(["a", "b"], timeout=1, backend=backend) as first:
        assert first.device == "a"
        with acquire(["a", "b"], timeout=1, backend=backend) as second:
            assert second.device == "b"


def test_two_leases_in_one_process_exclude_each_other(backend: FileLeaseBackend) -> None:
    with acquire(["a"], timeout=1, backend=backend):
        assert backend.try_acquire("a", "same process") is None


def test_timeout_names_devices_wait_and_holders(backend: FileLeaseBackend) -> None:
    with (
        acquire(["a"], timeout=1, backend=backend, holder="test_x"),
        pytest.raises(LeaseTimeout) as info,
    ):
        acquire(["a"], timeout=0.3, backend=backend)
    assert str(info.value) == (
        f"no device free among a after waiting 0.3 s (a held by test_x (pid {os.getpid()}))"
    )
    assert isinstance(info.value, InfrastructureError)


@pytest.mark.parametrize("timeout", [float("inf"), float("nan"), -1.0])
def test_leases_are_never_waited_for_indefinitely(
    backend: FileLeaseBackend, timeout: float
) -> None:
    with pytest.raises(HarnessError, match="finite"):
        acquire(["a"], timeout=timeout, backend=backend)


def test_backend_registry(tmp_path: Path) -> None:
    backend = backend_for(FileLeases(kind="file", directory=Path("leases")), base=tmp_path)
    assert isinstance(backend, FileLeaseBackend)
    assert backend.directory == tmp_path / "leases"
