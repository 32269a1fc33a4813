"""HTTPS devices with pinned or CA-signed certificates, against the emulator's real HTTPS:
the ISAPI client (pins checked in the handshake, before any byte of a request), the real
Chromium (launched with the run's pins) and the fixture wiring that launches it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest_clients import REPO
from playwright.sync_api import BrowserType
from test_report import PLUGIN_ARGS, RunPytest

from harness.catalogue import GuiGeneration
from harness.clients.isapi import IsapiClient
from harness.clients.tls import (
    PinMismatch,
    TlsTrust,
    chromium_pin_args,
    presented_pin,
    spki_pin,
    tls_context,
)
from harness.errors import InfrastructureError
from harness.gui.base import GuiTarget
from harness.gui.certificates import browser_spki_pins
from harness.gui.recognise import recognise
from harness.inventory.model import RealDevice, TlsSettings
from harness.lab.host import launch_fleet, stop_fleet

PASSWORD = "Qw7!rT9#zPk"
MODEL, FIRMWARE = "DS-7608NI-K2", "V4.21.000"
OTHER_PIN = "AAAAG0eOIQofLP+rSd4hh8xk5ReYr7xwN2vvuI/I5lo="


@dataclass(frozen=True)
class HttpsDevice:
    """One emulated device serving HTTPS, as its fleet's ready line describes it."""

    name: str
    url: str
    pin: str
    cert: Path
    ca_file: Path | None
    tls_dir: Path

    def real(self, tls: TlsSettings) -> RealDevice:
        """This device as a lab file would declare it (`kind: real`)."""
        return RealDevice(kind="real", name=self.name, model=MODEL, firmware=FIRMWARE,
                          base_url=self.url, password_env="HIL_TLS_TEST_PASSWORD", tls=tls)


def _start_fleet(workdir: Path, name: str, *, ca: bool) -> tuple[subprocess.Popen[bytes],
                                                                 HttpsDevice]:
    tls_dir = workdir / "certs"
    config = {"host": "127.0.0.1", "state_dir": str(workdir / "state"), "cloud": None,
              "lab_controller": None, "tls": {"dir": str(tls_dir), "ca": ca},
              "devices": [{"name": name, "model": MODEL, "firmware": FIRMWARE}]}
    path = workdir / "fleet.yaml"
    path.write_text(yaml.safe_dump(config))
    proc, info = launch_fleet(path, workdir / "fleet.log", cwd=REPO)
    ready = info["devices"][0]
    tls = ready["tls"]
    return proc, HttpsDevice(name, ready["http"], tls["spki_sha256"], Path(tls["cert"]),
                             Path(tls["ca_file"]) if tls["ca_file"] else None, tls_dir)


@pytest.fixture(scope="module")
def devices(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, HttpsDevice]]:
    """`self-signed` and `ca-signed`: one HTTPS fleet of each kind."""
    procs, found = [], {}
    try:
        for name, ca in (("self-signed", False), ("ca-signed", True)):
            proc, device = _start_fleet(tmp_path_factory.mktemp(name), name, ca=ca)
            procs.append(proc)
            found[name] = device
        yield found
    finally:
        for proc in procs:
            stop_fleet(proc, timeout=20)


def _address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("https://").rsplit(":", 1)
    return host, int(port)


def test_the_reported_pin_is_the_served_certificates(devices: dict[str, HttpsDevice]) -> None:
    for device in devices.values():
        assert device.url.startswith("https://127.0.0.1:")
        der = ssl.PEM_cert_to_DER_cert(device.cert.read_text())
        # What a handshake shows, what the file holds and what the ready line says agree.
        seen = presented_pin(*_address(device.url), tls_context(False), timeout=5)
        assert seen == spki_pin(der) == device.pin
        pins = json.loads((device.tls_dir / "pins.json").read_text())
        assert pins["devices"][0]["tls"]["spki_sha256"] == device.pin
    assert devices["self-signed"].pin != devices["ca-signed"].pin
    assert devices["ca-signed"].ca_file == devices["ca-signed"].tls_dir / "lab-ca.crt"


def test_a_pinned_self_signed_device_is_reached(devices: dict[str, HttpsDevice]) -> None:
    device = devices["self-signed"]
    trust = TlsTrust(device=device.name, spki_sha256=(OTHER_PIN, device.pin))
    with IsapiClient(device.url, verify=trust, timeout=5) as client:
        if not client.activated():
            client.activate(PASSWORD)
        client.use_digest(PASSWORD)
        assert client.device_info().model == MODEL
    # Without the pin the chain cannot be verified: refused, naming what to check.
    with IsapiClient(device.url, verify=True, timeout=5) as unpinned, \
            pytest.raises(InfrastructureError, match="TLS verification failed"):
        unpinned.activated()


def test_a_wrong_pin_names_the_device_and_both_pins(devices: dict[str, HttpsDevice]) -> None:
    device = devices["self-signed"]
    trust = TlsTrust(device=device.name, spki_sha256=(OTHER_PIN,))
    with IsapiClient(device.url, verify=trust, timeout=5) as client, \
            pytest.raises(InfrastructureError) as info:
        client.activated()
    message = str(info.value)
    assert "\n" not in message
    assert message == (
        f"GET {device.url}/SDK/activateStatus: {device.name}: the certificate presented at "
        f"127.0.0.1:{_address(device.url)[1]} has SPKI pin {device.pin}, expected "
        f"{OTHER_PIN} (tls.spki_sha256); refused before anything was sent")


class _Recorder:
    """A TLS server with the device's certificate that keeps every byte it receives."""

    def __init__(self, device: HttpsDevice) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(device.cert, device.cert.with_suffix(".key"))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received = b""
        self.handshakes = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        conn.settimeout(5)
        with self.context.wrap_socket(conn, server_side=True) as tls:
            self.handshakes += 1
            try:
                while chunk := tls.recv(4096):
                    self.received += chunk
            except (OSError, ssl.SSLError):
                pass


def test_credentials_never_reach_a_peer_with_another_key(
        devices: dict[str, HttpsDevice]) -> None:
    # The peer completes its handshake with a real certificate, which is not the pinned
    # one: the client must close without writing the request (and its Digest password).
    recorder = _Recorder(devices["self-signed"])
    trust = TlsTrust(device="nvr-pinned", spki_sha256=(devices["ca-signed"].pin,))
    with IsapiClient(f"https://127.0.0.1:{recorder.port}", verify=trust, timeout=5) as client:
        client.use_digest(PASSWORD)
        with pytest.raises(InfrastructureError, match=r"nvr-pinned: .* refused before anything"):
            client.device_info()
    recorder.thread.join(10)
    assert recorder.handshakes == 1 and recorder.received == b""


def test_the_lab_ca_verifies_its_device_and_no_other(
        devices: dict[str, HttpsDevice]) -> None:
    signed, other = devices["ca-signed"], devices["self-signed"]
    assert signed.ca_file is not None
    trust = TlsTrust(device=signed.name, ca_file=str(signed.ca_file))
    # The CA-verified handshake reaches the device itself (its key), and the client gets
    # the device's answer through it.
    assert presented_pin(*_address(signed.url), tls_context(trust), timeout=5) == signed.pin
    with IsapiClient(signed.url, verify=trust, timeout=5) as client:
        assert isinstance(client.activated(), bool)
    # CA and pin together: both must hold.
    both = TlsTrust(device=signed.name, ca_file=str(signed.ca_file), spki_sha256=(signed.pin,))
    assert presented_pin(*_address(signed.url), tls_context(both), timeout=5) == signed.pin
    pinned_elsewhere = TlsTrust(device=signed.name, ca_file=str(signed.ca_file),
                                spki_sha256=(OTHER_PIN,))
    with pytest.raises(PinMismatch):  # a CA-signed certificate with another key
        presented_pin(*_address(signed.url), tls_context(pinned_elsewhere), timeout=5)
    # The self-signed device's certificate as the "CA": not the one that signed.
    wrong = TlsTrust(device=signed.name, ca_file=str(other.cert))
    with IsapiClient(signed.url, verify=wrong, timeout=5) as client, \
            pytest.raises(InfrastructureError, match=r"TLS verification failed .*CA file"):
        client.activated()
    # The lab CA does not vouch for a device it did not sign.
    with IsapiClient(other.url, verify=trust, timeout=5) as client, \
            pytest.raises(InfrastructureError, match="TLS verification failed"):
        client.activated()


async def _status_line_over_asyncio(url: str, context: ssl.SSLContext) -> bytes:
    """GET / through asyncio's TLS (a memory-BIO SSLObject, not an SSLSocket)."""
    host, port = _address(url)
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port, ssl=context, server_hostname=host), 10)
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: device\r\nConnection: close\r\n\r\n")
        await writer.drain()
        return await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.close()


def _status_line_in_own_loop(url: str, context: ssl.SSLContext) -> bytes:
    """`_status_line_over_asyncio` in a thread with its own event loop: an xdist worker
    whose earlier test started Playwright's sync API has a loop running in this thread,
    where asyncio.run() refuses to start."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _status_line_over_asyncio(url, context)).result(30)


def test_the_pin_holds_for_asyncio_connections_too(devices: dict[str, HttpsDevice]) -> None:
    device = devices["self-signed"]
    good = tls_context(TlsTrust(device=device.name, spki_sha256=(device.pin,)))
    assert _status_line_in_own_loop(device.url, good).startswith(b"HTTP/1.1 ")
    wrong = tls_context(TlsTrust(device=device.name, spki_sha256=(OTHER_PIN,)))
    with pytest.raises(PinMismatch, match=f"has SPKI pin {re.escape(device.pin)}, expected "
                                          f"{re.escape(OTHER_PIN)}"):
        _status_line_in_own_loop(device.url, wrong)
    # The same through a bare memory BIO, as any wrap_bio user drives it: nothing written.
    recorder = _Recorder(device)
    with socket.create_connection(("127.0.0.1", recorder.port), timeout=5) as raw, \
            pytest.raises(PinMismatch):
        _bio_handshake(raw, wrong)
    recorder.thread.join(10)
    assert recorder.handshakes == 1 and recorder.received == b""


def _bio_handshake(raw: socket.socket, context: ssl.SSLContext) -> None:
    """A memory-BIO TLS client (`wrap_bio`) driven over `raw` until its handshake
    completes (or raises)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
    while True:
        try:
            tls.do_handshake()
            return
        except ssl.SSLWantReadError:
            pass
        finally:
            if outgoing.pending:
                raw.sendall(outgoing.read())
        chunk = raw.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed during the handshake")
        incoming.write(chunk)


def test_verify_true_is_the_system_trust_store_honouring_ssl_cert_file(
        devices: dict[str, HttpsDevice]) -> None:
    # One rule for devices, the cloud API, the mailbox and the submission server: the
    # system store (not certifi's bundle), and SSL_CERT_FILE replaces it, in a process of
    # its own (the contexts are built once per process).
    signed = devices["ca-signed"]
    assert signed.ca_file is not None
    probe = ("import sys, ssl; from harness.clients.tls import tls_context, presented_pin; "
             "d = ssl.create_default_context(); c = tls_context(True); "
             "print(c.get_ca_certs() == d.get_ca_certs(), c.verify_mode == ssl.CERT_REQUIRED); "
             f"print(presented_pin('127.0.0.1', {_address(signed.url)[1]}, c, timeout=5))")
    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    plain = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=60, check=False)
    assert plain.stdout.startswith("True True\n") and "CERTIFICATE_VERIFY_FAILED" in plain.stderr
    lab = subprocess.run([sys.executable, "-c", probe], cwd=REPO,
                         env={**env, "SSL_CERT_FILE": str(signed.ca_file)},
                         capture_output=True, text=True, timeout=60, check=False)
    assert lab.returncode == 0, lab.stderr
    assert lab.stdout.splitlines()[-1] == signed.pin


def test_chromium_loads_a_pinned_device_and_refuses_an_unpinned_one(
        devices: dict[str, HttpsDevice], browser_type: BrowserType,
        browser_type_launch_args: dict[str, Any]) -> None:
    pinned, signed = devices["self-signed"], devices["ca-signed"]
    pins = browser_spki_pins([
        pinned.real(TlsSettings(spki_sha256=(pinned.pin,))),
        # The CA device's pin is read through a handshake the CA verified.
        signed.real(TlsSettings(ca_file=signed.ca_file)),
    ])
    assert pins == {pinned.pin, signed.pin}
    targets = {d.name: GuiTarget(name=d.name, base_url=d.url,
                                 generation=GuiGeneration.RECORDER)
               for d in (pinned, signed)}
    launch = dict(browser_type_launch_args)
    with_pins = browser_type.launch(**{**launch, "args": chromium_pin_args(pins)})
    try:
        page = with_pins.new_page()
        for target in targets.values():
            assert recognise(page, target) == GuiGeneration.RECORDER
    finally:
        with_pins.close()
    without = browser_type.launch(**{**launch, "args": chromium_pin_args(frozenset())})
    try:
        page = without.new_page()
        with pytest.raises(InfrastructureError) as info:
            recognise(page, targets[pinned.name])
    finally:
        without.close()
    assert str(info.value) == (
        f"{pinned.name}: {pinned.url}/ did not load: the browser does not trust the device's "
        "certificate (net::ERR_CERT_AUTHORITY_INVALID); pin it (tls.spki_sha256) or name the "
        "lab CA (tls.ca_file) in devices.yaml")


# A run of its own: the browser fixture launches Chromium with the pins of the lab file's
# HTTPS devices (one pinned, one by its lab CA), and a plain page test loads both.
WIRING_SUITE = '''
def test_both_devices_load(lab, page, browser_type_launch_args):
    flags = [a for a in browser_type_launch_args.get("args", [])
             if a.startswith("--ignore-certificate-errors-spki-list=")]
    assert len(flags) == 1
    for device in lab.inventory.real_devices:
        response = page.goto(device.base_url + "/")
        assert response is not None and response.status == 200, device.name
'''


def test_the_browser_fixture_launches_with_the_labs_pins(
        devices: dict[str, HttpsDevice], run_pytest: RunPytest, tmp_path: Path) -> None:
    pinned, signed = devices["self-signed"], devices["ca-signed"]
    inventory = {
        "devices": [
            {"name": pinned.name, "kind": "real", "model": MODEL, "firmware": FIRMWARE,
             "base_url": pinned.url, "password_env": "HIL_TLS_A",
             "tls": {"spki_sha256": pinned.pin}},
            {"name": signed.name, "kind": "real", "model": MODEL, "firmware": FIRMWARE,
             "base_url": signed.url, "password_env": "HIL_TLS_B",
             "tls": {"ca_file": str(signed.ca_file)}},
        ],
        "cloud": {"kind": "manual"},
        "lab_controller": {"kind": "emulated"},
        "leases": {"kind": "file", "directory": str(tmp_path / "leases")},
    }
    lab_file = tmp_path / "lab.yaml"
    lab_file.write_text(yaml.safe_dump(inventory))
    suite = tmp_path / "test_wiring.py"
    suite.write_text(WIRING_SUITE)
    result = run_pytest(*PLUGIN_ARGS, str(suite), "-q", "--devices", str(lab_file),
                        "--lab", "on", "--lab-workdir", str(tmp_path / "lab"), timeout=120)
    out = result.stdout[-3000:] + result.stderr[-2000:]
    assert result.returncode == 0 and "1 passed" in out, out


def test_the_inventory_pins_reach_the_client(devices: dict[str, HttpsDevice]) -> None:
    # devices.yaml's `tls` as the harness turns it into the clients' trust (harness.lab.dut).
    from harness.lab.dut import device_trust

    device = devices["self-signed"]
    entry = device.real(TlsSettings(spki_sha256=(device.pin,)))
    assert device_trust(entry) == TlsTrust(device=device.name, spki_sha256=(device.pin,))
    with IsapiClient(device.url, verify=device_trust(entry), timeout=5) as client:
        client.activated()
    assert os.environ.get("HIL_TLS_TEST_PASSWORD") is None  # nothing read it
