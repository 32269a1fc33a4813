"""`hil devices probe` against real small servers that misbehave as something between the
lab and a device can (issue 14, misbehaving devices; issue 13, answers that are not a
device's): each ends within a bounded time (the subprocess's timeout, not a timed
assertion), exits 2 (unreachable), names the device and says what was seen in one line,
classified as no verdict (infrastructure or device), never as a product defect, with
nothing on stderr and no traceback."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import misbehaving_servers as servers
import pytest
from cli_helpers import hil, write_inventory

from harness.clients.mail import ImapMailbox
from harness.errors import InfrastructureError

NVR = ("DS-7608NI-K2", "V4.21.000")
PASSWORD_ENV = "HIL_MISBEHAVING_PASSWORD"
PASSWORD = "Qa-misbehave-2026x"
# The probe's timeout is 5 s per request (harness.lab.probe): a bounded probe of one
# device ends well within this, a probe that waits on a dripping peer does not.
PROBE_LIMIT_S = 30


def real_device(name: str, base_url: str, **extra: object) -> dict[str, object]:
    """A real-device entry of devices.yaml at `base_url`."""
    entry: dict[str, object] = {
        "name": name,
        "kind": "real",
        "model": NVR[0],
        "firmware": NVR[1],
        "base_url": base_url,
        "password_env": PASSWORD_ENV,
    }
    return {**entry, **extra}


def probe(tmp_path: Path, device: dict[str, object]) -> subprocess.CompletedProcess[str]:
    inventory = write_inventory(tmp_path, "devices.yaml", [device])
    return hil(
        "devices", "probe", "--devices", inventory, "--workdir", tmp_path / "lab",
        cwd=tmp_path, env={PASSWORD_ENV: PASSWORD}, timeout=PROBE_LIMIT_S,
    )


def assert_clear_no_verdict(
    result: subprocess.CompletedProcess[str], name: str, kind: str, seen: str
) -> str:
    """Exit 2, at most 2 lines on stderr, no traceback, no secret, and the device's note:
    one line naming it, classified `kind`, saying `seen`. Returns the note."""
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert len([ln for ln in result.stderr.splitlines() if ln.strip()]) <= 2, result.stderr
    assert "Traceback" not in output
    assert PASSWORD not in output
    notes = [ln for ln in result.stdout.splitlines() if ln.startswith(f"{name}: ")]
    assert len(notes) == 1, result.stdout
    note = notes[0]
    assert note.startswith(f"{name}: {kind}: "), note
    assert seen in note, note
    assert "product" not in note.lower(), note
    return note


def _serve(started: list[servers.Server], server: servers.Server) -> str:
    started.append(server)
    return server.url()


def test_closed_port(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{servers.closed_port()}"
    result = probe(tmp_path, real_device("mis-closed", url))
    assert_clear_no_verdict(result, "mis-closed", "device", "connection refused")


def test_accept_and_silence(tmp_path: Path, started: list[servers.Server]) -> None:
    url = _serve(started, servers.silent())
    result = probe(tmp_path, real_device("mis-silent", url))
    note = assert_clear_no_verdict(result, "mis-silent", "infrastructure", url)
    assert "within the 5 s deadline" in note


def test_slow_drip_is_cut_at_the_deadline(tmp_path: Path, started: list[servers.Server]) -> None:
    # One byte every 2 s satisfies every 5 s read timeout: only a total deadline ends it.
    url = _serve(started, servers.dripping())
    result = probe(tmp_path, real_device("mis-drip", url))
    note = assert_clear_no_verdict(result, "mis-drip", "infrastructure", url)
    assert "no complete answer within the 5 s deadline" in note


@pytest.mark.parametrize(
    ("name", "server", "seen"),
    [
        ("mis-500", servers.http_500, "answered HTTP 500 without a ResponseStatus"),
        ("mis-garbage", servers.garbage, "answered something that is not HTTP"),
        ("mis-captive", servers.captive_page, "answered 200 with no XML or JSON document"),
    ],
)
def test_answer_that_is_not_a_device_answer(
    tmp_path: Path,
    started: list[servers.Server],
    name: str,
    server: Callable[[], servers.Server],
    seen: str,
) -> None:
    url = _serve(started, server())
    result = probe(tmp_path, real_device(name, url))
    assert_clear_no_verdict(result, name, "infrastructure", seen)


def test_proxy_error_page(tmp_path: Path, started: list[servers.Server]) -> None:
    url = _serve(started, servers.proxy_page())
    result = probe(tmp_path, real_device("mis-proxy", url))
    note = assert_clear_no_verdict(
        result, "mis-proxy", "infrastructure", "answered HTTP 502 without a ResponseStatus"
    )
    # What was seen is quoted, bounded: the page's start, not all of it.
    assert "Bad Gateway" in note and "squid" not in note


def test_certificate_not_the_pinned_one(tmp_path: Path, started: list[servers.Server]) -> None:
    server, pinned = servers.wrong_certificate(tmp_path / "tls")
    url = _serve(started, server)
    device = real_device("mis-tls", url, tls={"ca_file": str(pinned)})
    result = probe(tmp_path, device)
    assert_clear_no_verdict(result, "mis-tls", "infrastructure", "TLS verification failed")


def test_imap_server_dripping_its_greeting(started: list[servers.Server]) -> None:
    # imaplib's timeout bounds each read: without the watchdog this waits for ever.
    server = servers.dripping_greeting()
    started.append(server)
    mailbox = ImapMailbox(
        "127.0.0.1", server.port, "qa", PASSWORD, tls="starttls", poll=0.1, io_timeout=3
    )
    done: list[BaseException] = []

    def wait() -> None:
        try:
            mailbox.wait_for("qa@example.com", since=0, timeout=1)
        except BaseException as exc:  # the failure is the result
            done.append(exc)

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    waiter.join(PROBE_LIMIT_S)
    assert done, "the IMAP wait did not end"
    assert isinstance(done[0], InfrastructureError), done[0]
    message = str(done[0])
    assert f"127.0.0.1:{server.port}" in message and "within 4 s" in message, message
    assert PASSWORD not in message
