"""The real-lab rehearsal (issue 15 item 5): the commands of a real lab against the
rehearsal lab on loopback (`python -m emulator rehearsal up`), from a work folder and a
state folder of their own in tmp.

`hil devices list` and `probe` green; then `hil run --profile rehearsal` green on every
device, and the evidence that a real lab's paths were taken: HTTPS with pins or the lab
CA only (no plain http address), the code mails delivered by the lab's relay into Dovecot
(LMTP) and read over IMAP with TLS (Dovecot's log), every QR mailed through the
submission server after STARTTLS and AUTH (the cloud's log), the lab controller reached
over SSH with its pinned key to recover a device whose password the CI's secret no longer
opens (and a device reset by hand before the run taken as found: inactive, no finding),
the passwords the run set kept in HIL_STATE_DIR and nowhere in the checkout, and
no secret value in the reports, the JUnit XML or any log.

CI runs a reduced but real selection of the profile (the `SELECTION` below: the reset by
e-mail in the GUI, at the API and by the Export channel, reserving the address in the GUI,
activation in the GUI with an address, a code void after a new QR; 6 tests x 3 devices,
about 90 s with the lab's start). The full profile (82 tests, 2 min 30 s at -n 2 on this
2-core machine, measured with nothing else running) is what `hil run --profile rehearsal`
runs by hand, as docs/real-lab.md walks through.
"""

from __future__ import annotations

import json
import re
import socket
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from cli_helpers import PROJECT, hil

from emulator.cli import main as emulator_main
from emulator.rehearsal import ensure_ports, read_secrets
from harness.inventory.load import load_inventory
from harness.lab.session import LabSession
from harness.lab.states import Quarantine, State, TransitionLog, bring, expected_by_knowledge

SELECTION = ("test_reset_by_email_in_gui or test_reset_by_export_channel or "
             "test_reset_by_email_api or test_reserve_email_in_gui or "
             "test_activate_in_gui_with_email or test_code_void_after_new_qr")
SELECTED_TESTS = 6
DEVICES = ("nvr-lab-1", "ipc-lab-1", "ipc-lab-2")
# The device whose password the CI's secret no longer opens: the run must recover it.
STALE = "ipc-lab-1"
# The device someone factory-reset by hand before the run: found inactive, taken as it is.
RESET_BY_HAND = "nvr-lab-1"


def _launcher(action: str, folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emulator", "rehearsal", action, str(folder)], cwd=PROJECT,
        capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("rehearsal") / "lab"
    started = _launcher("up", folder)
    try:
        assert started.returncode == 0, started.stderr + started.stdout
        yield folder
    finally:
        stopped = _launcher("down", folder)
        assert stopped.returncode == 0, stopped.stderr


def _env(lab: Path, state: Path, **override: str) -> dict[str, str]:
    """What a lab runner has: the secrets (`source secrets.env`) and its state folder."""
    return {**read_secrets(lab), "HIL_STATE_DIR": str(state), **override}


def test_launcher_writes_a_real_lab_inventory(lab: Path) -> None:
    inventory = yaml.safe_load((lab / "devices.yaml").read_text())
    devices = inventory["devices"]
    assert [d["name"] for d in devices] == list(DEVICES)
    for device in devices:
        assert device["kind"] == "real"
        assert device["base_url"].startswith("https://127.0.0.1:"), device
        assert device["tls"].get("spki_sha256") or device["tls"].get("ca_file"), device
        assert device["ssh_host_key"].startswith("SHA256:")
        assert device["password_env"] in read_secrets(lab)
    assert sum("ca_file" in d["tls"] for d in devices) == 1  # one by the lab CA, two pinned
    assert inventory["mailbox"]["kind"] == "imap" and inventory["mailbox"]["ca_file"]
    smtp = inventory["cloud"]["smtp"]
    assert inventory["cloud"]["kind"] == "export" and smtp["tls"] == "starttls" and smtp["user"]
    controller = inventory["lab_controller"]
    assert controller["kind"] == "real" and Path(controller["ssh_host_key"]).is_file()
    assert "http://" not in (lab / "devices.yaml").read_text()
    secrets_file = lab / "secrets.env"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert set(read_secrets(lab)) == {d["password_env"] for d in devices} | {
        inventory["mailbox"]["password_env"], smtp["password_env"], controller["password_env"]}
    for value in read_secrets(lab).values():  # names in the inventory, values never
        assert value not in (lab / "devices.yaml").read_text()


def test_launcher_refuses_a_second_lab_in_the_same_folder(lab: Path) -> None:
    again = _launcher("up", lab)
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1 and "already runs from" in again.stderr


def test_rehearsal_profile_green_over_a_real_labs_paths(
        lab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work, state = tmp_path / "work", tmp_path / "state"
    work.mkdir()
    devices = lab / "devices.yaml"
    env = _env(lab, state)

    listed = hil("devices", "list", "--devices", devices, cwd=work, env=env)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert all(name in listed.stdout for name in DEVICES)
    probed = hil("devices", "probe", "--devices", devices, cwd=work, env=env)
    assert probed.returncode == 0, probed.stdout + probed.stderr
    assert len(re.findall(r"│ (?:nvr|ipc)-lab-\d +│ yes .*│ ok +│", probed.stdout)) == 3, \
        probed.stdout

    # Someone reset one device by hand (the lab controller's reset button, over SSH with
    # its pinned known_hosts): the harness finds it inactive although its secret is set,
    # and takes it as it is (no finding: it never set that password itself).
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    seen = LabSession(inventory=load_inventory(devices), workdir=work / "lab", endpoints=None)
    with seen.lab_controller() as by_hand:
        by_hand.reset_button(RESET_BY_HAND)
    dut = seen.device(RESET_BY_HAND)
    assert expected_by_knowledge(dut) == State.ACTIVE  # its secret is set: believed active
    assert bring(dut, State.INACTIVE, log=TransitionLog(seen.state_dir),
                 quarantine=Quarantine(work / "lab")) == []
    assert expected_by_knowledge(dut) == State.INACTIVE  # the record follows the device
    # The CI secret of another device is stale (someone changed its password by hand): the
    # harness logs in once, is refused, and recovers it with the lab controller.
    stale = {f"HIL_{STALE.upper().replace('-', '_')}_PASSWORD": "Stale-Secret-123x"}
    reports = work / "reports"
    run = hil("run", "--profile", "rehearsal", "--devices", devices, "-k", SELECTION,
              "--output", reports, "--workdir", work / "lab", cwd=work,
              env={**env, **stale}, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    suite = ET.parse(reports / "junit.xml").getroot()
    counts = {key: sum(int(s.get(key, 0)) for s in suite.iter("testsuite"))
              for key in ("tests", "failures", "errors", "skipped")}
    assert counts == {"tests": SELECTED_TESTS * len(DEVICES), "failures": 0, "errors": 0,
                      "skipped": 0}, counts

    logs = lab / "logs"
    dovecot, lab_log = (logs / "dovecot.log").read_text(), (logs / "lab.log").read_text()
    user = yaml.safe_load(devices.read_text())["mailbox"]["user"]
    # Code mails: the cloud handed them to the relay, which delivered them by LMTP into
    # Dovecot, and the harness read them over IMAP with TLS as the mailbox's user.
    delivered = lab_log.count("delivered by LMTP 127.0.0.1:")
    assert delivered >= 3 * len(DEVICES), lab_log[-3000:]
    assert dovecot.count("saved mail to INBOX") >= delivered, dovecot[-3000:]
    assert re.search(rf"imap-login: Info: Login: user=<{re.escape(user)}>, method=PLAIN, "
                     r"rip=127\.0\.0\.1, .*TLS", dovecot), dovecot[-3000:]
    # Every QR went through the submission server: STARTTLS, AUTH, then the Export channel.
    assert f"SMTP AUTH PLAIN accepted for '{user}' over STARTTLS" in lab_log \
        or f"SMTP AUTH LOGIN accepted for '{user}' over STARTTLS" in lab_log
    exports = re.findall(rf"Export-channel mail from <[^>]+> \(AUTH as '{re.escape(user)}'\)",
                         lab_log)
    assert len(exports) >= 3 * len(DEVICES)
    assert "(no AUTH)" not in lab_log
    # The stale device was recovered by the lab controller over SSH (pinned known_hosts).
    assert f"lab controller: reset button {STALE}" in lab_log, lab_log[-3000:]

    # The passwords the run set live in the state folder, none in the checkout or workdir.
    credential_files = list(state.rglob("credentials/*.json"))
    assert len(credential_files) == len(DEVICES), credential_files
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in credential_files)
    assert not list((work / "lab").rglob("credentials/*.json"))
    assert not [p for p in (PROJECT / ".lab").rglob("credentials/*.json")
                if any(name in p.name for name in DEVICES)]
    set_passwords = [json.loads(f.read_text()).get("password") for f in credential_files]
    assert all(set_passwords)

    # No secret value anywhere a person or a CI keeps: reports, JUnit, logs, stdout.
    values = [v for v in [*read_secrets(lab).values(), *set_passwords, *stale.values()] if v]
    kept = [p for folder in (reports, work / "lab", logs) for p in folder.rglob("*")
            if p.is_file()]
    assert any(p.name == "junit.xml" for p in kept)
    for path in kept:
        text = path.read_bytes().decode(errors="replace")
        leaked = [v[:3] + "..." for v in values if v in text]
        assert not leaked, f"{path}: {leaked}"
    for value in values:
        assert value not in run.stdout + run.stderr + probed.stdout + listed.stdout


def test_a_machine_without_dovecot_is_told_what_to_install(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("emulator.mailserver.LMTP_SERVICE", tmp_path / "no-lmtp")
    with pytest.raises(SystemExit) as exited:
        emulator_main(["rehearsal", "up", str(tmp_path / "lab")])
    assert exited.value.code == 2
    said = capsys.readouterr().err
    assert said.count("\n") == 1, said
    assert "install dovecot-imapd and dovecot-lmtpd (scripts/ensure.sh)" in said
    stopped = _launcher("down", tmp_path / "lab")
    assert stopped.returncode == 0 and "was not running" in stopped.stdout, stopped.stderr


def test_a_port_in_use_is_one_line_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "lab"
    folder.mkdir()
    # The lab keeps its ports (ports.json, chosen at its first start); someone else now
    # listens on the mailbox's.
    imaps = ensure_ports(folder)["imaps"]
    with socket.create_server(("127.0.0.1", imaps)):
        again = _launcher("up", folder)
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1, again.stderr
    assert f"listen(127.0.0.1, {imaps}) failed: Address already in use" in again.stderr
    assert not (folder / "serve.pid").exists()
