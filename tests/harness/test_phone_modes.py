"""The phone step per lab (issue 15 item 3) and lab state outside the workspace (item 4).

Each cloud kind end to end against an emulated lab, through the real suites:
- export: the API-level reset mails the device's QR picture through the emulated cloud's
  submission server (STARTTLS with its own certificate, then AUTH) to the recovery address;
- attended: a "person" (a thread) scans the PNG the harness saved and asks the emulated
  cloud's HTTP API for the code as the app would; the QR and the countdown must reach the
  terminal although pytest captures the test's output;
- none: the test that needs the phone step is skipped with the reason, and `hil gate` lists
  the missing verdict.
Then the state folder: modes, the lock under two processes, `hil devices credentials`, and
two fresh clones sharing one HIL_STATE_DIR (the nightly run twice).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import smtplib
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from cli_helpers import hil, run_on_a_terminal

from harness.clients.attended import qr_on_terminal
from harness.clients.cloud import ExportPhoneApp, PhoneApp, export_channel, qr_picture
from harness.clients.qr import decode_qr
from harness.errors import InfrastructureError
from harness.inventory.fields import InventoryError
from harness.inventory.load import load_inventory
from harness.inventory.model import AttendedCloud
from harness.lab.credentials import CredentialStore
from harness.lab.endpoints import LabEndpoints
from harness.lab.host import start_lab, stop_lab
from harness.lab.session import LabSession
from harness.lab.statedir import STATE_DIR_ENV, lab_state_dir, persistent_keys
from harness.lab.states import Quarantine, State, TransitionLog, bring

REPO = Path(__file__).resolve().parents[2]
NVR = {"model": "DS-7608NI-K2", "firmware": "V4.21.000"}
API_RESET = "test_reset_by_email_api"
QR_TEXT = "HIKRESET1:eyJzbiI6IkRTLTc2MDhOSS1LMiIsIm5vbmNlIjoicGhvbmUifQ"


def _inventory(folder: Path, name: str, cloud: dict[str, object]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "devices.yaml"
    path.write_text(yaml.safe_dump({
        "devices": [{"name": name, "kind": "emulated", **NVR}],
        "mailbox": {"kind": "smtp-sink"},
        "cloud": cloud,
        "leases": {"kind": "file", "directory": str(folder / "leases")},
    }, sort_keys=False))
    return path


def _suite_argv(devices: Path, workdir: Path, *more: str, keyword: str = API_RESET
                ) -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA",
            "suites/test_reset_by_email.py", "-k", keyword, "--devices", str(devices),
            "--lab-workdir", str(workdir), *more]


def _env(state: Path) -> dict[str, str]:
    return {**os.environ, STATE_DIR_ENV: str(state), "PYTHONDONTWRITEBYTECODE": "1"}


# --- export ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def export_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path,
                                                                            LabEndpoints]]:
    folder = tmp_path_factory.mktemp("export")
    devices = _inventory(folder, "pm-export", {"kind": "export"})
    workdir = folder / "lab"
    endpoints = start_lab(load_inventory(devices), workdir)
    try:
        yield devices, workdir, endpoints
    finally:
        stop_lab(workdir)


def test_export_mode_resets_at_the_api_through_auth_and_starttls(
        export_lab: tuple[Path, Path, LabEndpoints], tmp_path: Path) -> None:
    devices, workdir, endpoints = export_lab
    assert endpoints.cloud_smtp_user and endpoints.cloud_smtp_ca_file
    # At the API (the device's QR picture) and in the GUI (the picture its Export button
    # saves), and the Export-channel test through the lab's own submission server.
    tests = (API_RESET, "test_reset_by_email_in_gui", "test_reset_by_export_channel")
    done = subprocess.run(_suite_argv(devices, workdir, "--mail-timeout", "30",
                                      keyword=" or ".join(tests)),
                          cwd=REPO, env=_env(tmp_path / "state"), capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    for test in tests:
        assert f"PASSED suites/test_reset_by_email.py::{test}[pm-export" in done.stdout, test


def test_export_phone_app_mails_the_devices_qr_picture_and_the_code_comes_back(
        export_lab: tuple[Path, Path, LabEndpoints]) -> None:
    devices, workdir, endpoints = export_lab
    lab = LabSession(inventory=load_inventory(devices), workdir=workdir, endpoints=endpoints)
    dut = lab.device("pm-export")
    bring(dut, State.EMAIL_RESERVED, log=TransitionLog(lab.state_dir),
          quarantine=Quarantine(workdir))
    app = dut.phone_app()
    assert isinstance(app, ExportPhoneApp) and app.server.tls == "starttls" and app.server.user
    with dut.isapi(login=False) as device:
        qr = device.qr_code()
        code = dut.request_code(qr, timeout=30)  # through STARTTLS + AUTH, back by mail
        device.check_verification_code(code)
    assert not [e for e in dut.log if "device-password-reset" in e.url]  # no HTTP API call


def test_export_submission_server_wants_starttls_auth_and_the_right_password(
        export_lab: tuple[Path, Path, LabEndpoints]) -> None:
    _, _, ep = export_lab
    assert ep.cloud_smtp_port is not None and ep.recovery_address
    host, port = ep.cloud_smtp_host or "127.0.0.1", ep.cloud_smtp_port
    png = qr_picture(QR_TEXT)
    with smtplib.SMTP(host, port, timeout=10) as plain:  # no STARTTLS: refused
        code, _ = plain.mail("qa@hil.test")
        assert code == 530
    wrong = "not-the-password-42"
    with pytest.raises(InfrastructureError) as refused:
        export_channel(png, ep.recovery_address, host, port, "qa@hil.test", tls="starttls",
                       user=ep.cloud_smtp_user, password=wrong, ca_file=ep.cloud_smtp_ca_file)
    message = str(refused.value)
    assert f"SMTP server {host}:{port} refused the login of 'hil-export'" in message
    assert wrong not in message and "\n" not in message
    with pytest.raises(InfrastructureError, match=rf"SMTP server {host}:{port}.*certificate"):
        export_channel(png, ep.recovery_address, host, port, "qa@hil.test", tls="starttls",
                       user=ep.cloud_smtp_user, password=ep.cloud_smtp_password())


# --- attended -------------------------------------------------------------------------------


class Person(threading.Thread):
    """Scans the next QR picture saved under `qr_dir` with the phone app (the emulated
    cloud's HTTP API), as a person with Hik-Connect would."""

    def __init__(self, qr_dir: Path, cloud_url: str) -> None:
        super().__init__(daemon=True)
        self.qr_dir, self.cloud_url = qr_dir, cloud_url
        self.scanned: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        seen: set[Path] = set()
        while not self.stop.wait(0.2):
            for picture in sorted(self.qr_dir.glob("*.png")) if self.qr_dir.is_dir() else []:
                if picture in seen:
                    continue
                seen.add(picture)
                app = PhoneApp(self.cloud_url)
                text = app.scan(picture.read_bytes())
                app.request_code(text)
                self.scanned.append(text)


def test_attended_mode_shows_the_qr_to_the_person_past_pytests_capture(tmp_path: Path) -> None:
    devices = _inventory(tmp_path, "pm-attended", {"kind": "attended", "timeout_s": 90})
    workdir = tmp_path / "lab"
    endpoints = start_lab(load_inventory(devices), workdir)
    person = Person(workdir / "qr", str(endpoints.cloud_http))
    person.start()
    try:
        status, shown = run_on_a_terminal(
            _suite_argv(devices, workdir, "--mail-timeout", "5"), REPO, bound_s=300,
            env=_env(tmp_path / "state"), controlling=True)
        shown = shown.replace("\r\n", "\n")
    finally:
        person.stop.set()
        stop_lab(workdir)
    assert status == 0, shown[-3000:]
    assert len(person.scanned) == 1, shown[-3000:]
    # The QR the person saw on the terminal is the one in the picture, with the countdown;
    # the mail wait was the attended deadline, not --mail-timeout 5.
    assert qr_on_terminal(person.scanned[0]) in shown
    assert "with the vendor's phone app" in shown
    assert re.search(r"waiting for the code mail: 1:[23]\d left", shown), shown[-2000:]
    saved = list((workdir / "qr").glob("*.png"))
    assert len(saved) == 1 and decode_qr(saved[0].read_bytes()) == person.scanned[0]


# --- none -----------------------------------------------------------------------------------


def test_none_mode_skips_with_the_reason_and_the_gate_names_the_missing_verdict(
        tmp_path: Path) -> None:
    devices = _inventory(tmp_path, "pm-none", {"kind": "none"})
    done = hil("gate", "-f", NVR["firmware"], "--devices", devices, "--workdir",
               tmp_path / "lab", "-o", tmp_path / "out", "-n", "0", "-k",
               f"{API_RESET} or test_activate_again_refused", cwd=tmp_path,
               env={STATE_DIR_ENV: str(tmp_path / "state")}, timeout=300)
    out = " ".join(done.stdout.split())
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-2000:]
    assert re.search(rf"SKIPPED on pm-none in [\d.]+ s: \S+::{API_RESET}\[pm-none-\S+\]: "
                     r"phone step not available in this lab \(cloud: none\)", out), out[-3000:]
    assert (f"missing verdict: pm-none: skipped: {API_RESET}: phone step not available in "
            "this lab (cloud: none)") in out
    assert "GATE NO_VERDICT" in out
    verdict = json.loads((tmp_path / "out" / "gate-verdict.json").read_text())
    device = verdict["devices"][0]
    assert device["passed"] == 1 and len(device["blocked"]) == 1


# --- the inventory ----------------------------------------------------------------------------


@pytest.mark.parametrize(("cloud", "error"), [
    ("{kind: export, smtp: {host: smtp.lab, user: hil}}",
     "cloud.smtp: user and password_env go together"),
    ("{kind: export, smtp: {host: smtp.lab, port: 99999}}", "cloud.smtp.port: expected a number"),
    ("{kind: export, smtp: {host: smtp.lab, tls: none, user: hil, password_env: HIL_SMTP_PW}}",
     "cloud.smtp.tls: AUTH (user) over plain SMTP would send the password in clear: use tls: "
     "starttls (port 587) or ssl (465)"),
    ("{kind: export, smtp: {host: smtp.lab, starttls: false, user: hil, "
     "password_env: HIL_SMTP_PW}}", "cloud.smtp.tls: AUTH (user) over plain SMTP"),
    ("{kind: export, smtp: {host: smtp.lab, tls: tls}}",
     "cloud.smtp.tls: expected 'starttls', 'ssl' or 'none', got 'tls'"),
    ("{kind: export, smtp: {host: smtp.lab, ca_file: no-such-ca.pem}}",
     "cloud.smtp.ca_file: cannot load the CA file"),
    ("{kind: attended, timeout_s: 0}", "cloud.timeout_s: expected a number more than 0"),
    ("{kind: phone}", "cloud: expected kind to be one of 'emulated', 'export', 'attended', "
                      "'manual', 'none', got 'phone'"),
])
def test_cloud_mistakes_are_one_line_naming_the_field(tmp_path: Path, cloud: str,
                                                      error: str) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text("devices:\n  - {name: n1, kind: emulated, model: DS-7608NI-K2, "
                    f"firmware: V4.21.000}}\ncloud: {cloud}\n")
    with pytest.raises(InventoryError) as mistake:
        load_inventory(path)
    assert error in str(mistake.value) and "\n" not in str(mistake.value)
    assert str(mistake.value).startswith(str(path))


def test_manual_is_the_attended_kinds_old_name(tmp_path: Path) -> None:
    path = _inventory(tmp_path, "pm-manual", {"kind": "manual"})
    cloud = load_inventory(path).cloud
    assert isinstance(cloud, AttendedCloud) and cloud.timeout_s == 600


# --- the state folder -----------------------------------------------------------------------


def _real_inventory(folder: Path, base_url: str, name: str = "nightly-nvr") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "lab.yaml"
    path.write_text(yaml.safe_dump({
        "devices": [{"name": name, "kind": "real", **NVR, "base_url": base_url,
                     "password_env": "HIL_NIGHTLY_PASSWORD"}],
        "cloud": {"kind": "none"},
        "leases": {"kind": "file", "directory": str(folder / "leases")},
    }, sort_keys=False))
    return path


def _remember_many(state: str, inventory: str, device: str, count: int) -> None:
    os.environ[STATE_DIR_ENV] = state  # a spawned process of its own
    loaded = load_inventory(inventory)
    folder = lab_state_dir(loaded, Path(state) / "work")
    store = CredentialStore(Path(state) / "work", state_dir=folder,
                            persistent=persistent_keys(loaded))
    log = TransitionLog(folder, run_id=str(os.getpid()))
    for number in range(count):
        store.remember(device, password=f"Pass-{os.getpid()}-{number}!")
        log.record(device, "activate", State.INACTIVE, 0.001)


def test_state_folder_is_private_per_device_and_whole_under_two_writers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv(STATE_DIR_ENV, str(state))
    inventory = _real_inventory(tmp_path / "a", "http://127.0.0.1:9")
    other_lab = load_inventory(_real_inventory(tmp_path / "b", "http://127.0.0.1:10"))
    loaded = load_inventory(inventory)
    # Two checkouts of one lab share a device's file; a device elsewhere has its own.
    clone = load_inventory(_real_inventory(tmp_path / "clone", "http://127.0.0.1:9"))
    assert (persistent_keys(clone) == persistent_keys(loaded)
            == {"nightly-nvr": "nightly-nvr@127.0.0.1_9"} != persistent_keys(other_lab))
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_remember_many,
                               args=(str(state), str(inventory), "nightly-nvr", 40))
               for _ in range(2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(60)
        assert writer.exitcode == 0
    credentials = state / "credentials" / "nightly-nvr@127.0.0.1_9.json"
    data = json.loads(credentials.read_text())  # whole: one writer's last word
    assert re.fullmatch(r"Pass-\d+-39!", data["password"]) and data["changed_at"]
    runs = sorted((state / "transitions").glob("*.jsonl"))
    assert len(runs) == 2  # one file per run (here: per writer process)
    for run in runs:
        lines = run.read_text().splitlines()
        assert len(lines) == 40 and all(json.loads(line)["device"] == "nightly-nvr"
                                        for line in lines)
    for private in (state, state / "credentials", state / "transitions"):
        assert stat.S_IMODE(private.stat().st_mode) == 0o700, private
    for private in (credentials, *runs):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600, private


def test_hil_devices_credentials_shows_what_is_known_masked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    inventory = _real_inventory(tmp_path, "http://127.0.0.1:9", name="cred-nvr")
    secret_password = "Zq8#secret-Pw"
    monkeypatch.setenv(STATE_DIR_ENV, str(state))
    loaded = load_inventory(inventory)
    store = CredentialStore(tmp_path / "lab", state_dir=lab_state_dir(loaded, tmp_path),
                            persistent=persistent_keys(loaded), run_id="20261206T2100-abc123")
    store.remember("cred-nvr", password=secret_password, email="owner.reset@lab.example")
    env = {STATE_DIR_ENV: str(state)}
    as_json = hil("devices", "credentials", "--json", "--devices", inventory, "--workdir",
                  tmp_path / "lab", cwd=tmp_path, env=env)
    table = hil("devices", "credentials", "--devices", inventory, "--workdir",
                tmp_path / "lab", cwd=tmp_path, env=env)
    assert as_json.returncode == 0 and table.returncode == 0, as_json.stderr + table.stderr
    row = json.loads(as_json.stdout)["devices"][0]
    assert row["password"] == "****" and row["reserved_email"] == "o****@lab.example"
    assert row["source"].startswith("changed by run 20261206T2100-abc123 at 20")
    assert row["file"] == str(state / "credentials" / "cred-nvr@127.0.0.1_9.json")
    assert "o****@lab.example" in table.stdout and "changed by run" in table.stdout
    for shown in (as_json.stdout, table.stdout, as_json.stderr, table.stderr):
        assert secret_password not in shown and "owner.reset" not in shown


@pytest.fixture
def outside_device(tmp_path: Path) -> Iterator[str]:
    """A device that outlives the checkouts: `python -m emulator serve` with its flash
    outside them, reached as a real device."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulator", "serve", "--model", NVR["model"], "--firmware",
         NVR["firmware"], "--name", "nightly-nvr", "--http-port", "0",
         "--state", str(tmp_path / "flash")],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        base_url = None
        deadline = time.monotonic() + 60
        while base_url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, "the emulated device stopped before saying where it answers"
            found = re.search(r"browser:\s+(http://\S+?)/?$", line.strip())
            base_url = found.group(1) if found else None
        assert base_url is not None
        yield base_url
    finally:
        proc.terminate()
        proc.wait(20)


def test_nightly_twice_from_fresh_clones_logs_in_with_the_password_the_first_set(
        tmp_path: Path, outside_device: str) -> None:
    """Two clean checkouts of the repository sharing one HIL_STATE_DIR: the first run
    activates the (inactive) device with a password it makes up, the second, from a clone
    without the first's workdir, logs in with it (the env password is wrong)."""
    state = tmp_path / "state"
    runs = []
    for number in (1, 2):
        clone = tmp_path / f"clone{number}"
        subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(REPO), str(clone)],
                       check=True, timeout=120)
        inventory = _real_inventory(clone / "lab", outside_device)
        env = {**_env(state), "HIL_NIGHTLY_PASSWORD": "Not-the-password-1"}
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA",
             "suites/test_activation.py", "-k", "test_activate_again_refused",
             "--devices", str(inventory), "--lab-workdir", str(clone / ".lab")],
            cwd=clone, env=env, capture_output=True, text=True, timeout=300, check=False)
        runs.append(done)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        assert "1 passed" in done.stdout, done.stdout[-3000:]  # not skipped as quarantined
        assert not (clone / ".lab" / "credentials" / "nightly-nvr.json").exists()
    assert "device state transitions: 1 (activate 1)" in runs[0].stdout
    assert "device state transitions: 0" in runs[1].stdout or \
        "device state transitions" not in runs[1].stdout, runs[1].stdout[-2000:]
    shown = hil("devices", "credentials", "--json", "--devices",
                tmp_path / "clone2" / "lab" / "lab.yaml", "--workdir",
                tmp_path / "clone2" / ".lab", cwd=tmp_path / "clone2",
                env={STATE_DIR_ENV: str(state)})
    row = json.loads(shown.stdout)["devices"][0]
    assert row["password"] == "****" and row["source"].startswith("changed by run ")
