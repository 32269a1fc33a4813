"""The SSH clients against the emulated lab: psh on a device, the lab controller."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from conftest_clients import EmulatedLab

from harness.clients.isapi import IsapiClient
from harness.clients.shell import (
    PSH_BANNER,
    PSH_PROMPT,
    DeviceShell,
    HostKeyRefused,
    KnownHosts,
    LabController,
    ShellLoginRejected,
    fingerprint_of,
    parse_key_values,
)
from harness.errors import DeviceError, InfrastructureError
from harness.evidence import Secrets, ShellTranscript

PASSWORD = "Qw7!rT9#zPk"


def _ssh_on(lab: EmulatedLab, name: str) -> IsapiClient:
    client = IsapiClient(lab.http(name))
    if not client.wait_until_up(30):
        client.activate(PASSWORD)
    client.use_digest(PASSWORD)
    client.set_ssh(True)
    assert client.ssh_enabled()
    return client


def _controller(lab: EmulatedLab, known: KnownHosts | None = None) -> LabController:
    host, port, user = lab.labctl
    return LabController(host, port, user, lab.labctl_password, known_hosts=known)


def test_parse_key_values() -> None:
    text = "Model: DS-2CD2143G2-I\nSerial Number : ABC\nmac=44:19:b6:00:00:01\nnoise\n"
    assert parse_key_values(text) == {
        "model": "DS-2CD2143G2-I",
        "serial_number": "ABC",
        "mac": "44:19:b6:00:00:01",
    }


def test_psh_banner_commands_and_hard_info(emulated_lab: EmulatedLab) -> None:
    _ssh_on(emulated_lab, "ipc")
    device = emulated_lab.device("ipc")
    secrets = Secrets()
    with DeviceShell(
        "127.0.0.1", device["ssh_port"], PASSWORD, transcript=ShellTranscript(secrets=secrets)
    ) as shell:
        greeting = shell.greeting()
        assert PSH_BANNER in greeting and greeting.endswith(PSH_PROMPT)
        assert "prtHardInfo" in shell.run("help")
        assert shell.run("rm -rf /").strip() == "'rm' Not Supported, Try 'help'"
        info = shell.hard_info()
        values = " ".join(info.values())
        assert device["serial"] in values and device["model"] in values
        transcript = shell.transcript.render()
    assert PASSWORD not in transcript and "# prtHardInfo" in transcript


def test_wrong_ssh_password_is_not_retried(emulated_lab: EmulatedLab) -> None:
    _ssh_on(emulated_lab, "ipc")
    port = emulated_lab.device("ipc")["ssh_port"]
    shell = DeviceShell("127.0.0.1", port, "Wrong#Pass77", connect_deadline=30)
    with pytest.raises(ShellLoginRejected, match="not retried"):
        shell.run("help")
    assert shell.transcript.render().count("refused") == 1


def test_refused_ssh_ends_at_the_deadline_with_one_line() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    shell = DeviceShell("127.0.0.1", port, PASSWORD, connect_deadline=1.0)
    with pytest.raises(DeviceError, match=f"127.0.0.1:{port}: not reachable within 1 s") as info:
        shell.run("help")
    assert "\n" not in str(info.value)


def test_host_keys_are_pinned_for_the_run(emulated_lab: EmulatedLab) -> None:
    known = KnownHosts()
    with _controller(emulated_lab, known) as controller:
        controller.status()
    assert len(known) == 1
    with _controller(emulated_lab, known) as again:  # same key: accepted
        again.status()


def test_known_hosts_file_refuses_an_unknown_key(emulated_lab: EmulatedLab, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with (
        _controller(emulated_lab, KnownHosts(path=empty)) as controller,
        pytest.raises(InfrastructureError, match="not in known_hosts"),
    ):
        controller.status()


OTHER_FINGERPRINT = "SHA256:RLWAz2NxkrWjvEIC4fHnAxup/fM3hL6q5LEMXRqfXUU"


def test_a_pinned_fingerprint_admits_the_host_and_refuses_another_key(
    emulated_lab: EmulatedLab,
) -> None:
    served = emulated_lab.ready["lab_controller"]["ssh_host_key"]
    assert served.startswith("SHA256:") and served != OTHER_FINGERPRINT
    with _controller(emulated_lab, KnownHosts.pinned(served)) as controller:
        assert controller.status()
    # A wrong password too: reaching the login would end in a refused login instead.
    host, port, user = emulated_lab.labctl
    transcript = ShellTranscript()
    with LabController(host, port, user, "Wrong#Pass77", transcript=transcript,
                       known_hosts=KnownHosts.pinned(OTHER_FINGERPRINT)) as controller, \
            pytest.raises(HostKeyRefused) as info:
        controller.status()
    assert str(info.value) == (
        f"ssh {host}:{port}: host key {served} (ecdsa-sha2-nistp256) is not the pinned "
        f"{OTHER_FINGERPRINT} (ssh_host_key); refused before login")
    assert "refused" not in transcript.render()


def test_a_device_shell_is_pinned_by_its_fingerprint(emulated_lab: EmulatedLab) -> None:
    _ssh_on(emulated_lab, "ipc")
    device = emulated_lab.device("ipc")
    pinned = KnownHosts.pinned(device["ssh_host_key"])
    with DeviceShell("127.0.0.1", device["ssh_port"], PASSWORD, known_hosts=pinned) as shell:
        assert "prtHardInfo" in shell.run("help")
    wrong = KnownHosts.pinned(OTHER_FINGERPRINT)
    with DeviceShell("127.0.0.1", device["ssh_port"], PASSWORD, known_hosts=wrong) as shell, \
            pytest.raises(HostKeyRefused, match=f"is not the pinned {OTHER_FINGERPRINT}"):
        shell.run("help")


def test_known_hosts_file_names_both_fingerprints_of_a_changed_key(
    emulated_lab: EmulatedLab, tmp_path: Path
) -> None:
    import paramiko

    learnt = KnownHosts()
    with _controller(emulated_lab, learnt) as controller:
        controller.status()
    good = tmp_path / "known_hosts"
    learnt._keys.save(str(good))
    with _controller(emulated_lab, KnownHosts.pinned(str(good))) as controller:
        assert controller.status()
    # The same host line with another key: what a replaced (or impostor) box presents.
    host, port, _ = emulated_lab.labctl
    other = paramiko.ECDSAKey.generate()
    changed = tmp_path / "changed_hosts"
    changed.write_text(f"[{host}]:{port} {other.get_name()} {other.get_base64()}\n")
    served = emulated_lab.ready["lab_controller"]["ssh_host_key"]
    with _controller(emulated_lab, KnownHosts.pinned(str(changed))) as controller, \
            pytest.raises(HostKeyRefused) as info:
        controller.status()
    assert str(info.value) == (
        f"ssh {host}:{port}: host key {served} is not {fingerprint_of(other)} of known_hosts "
        f"{changed}; refused before login")


def test_lab_controller_status_power_and_reset_button(emulated_lab: EmulatedLab) -> None:
    with _controller(emulated_lab) as controller:
        rows = controller.status()
        assert {row["name"] for row in rows} == {d["name"] for d in emulated_lab.ready["devices"]}
        before = controller.status("nvr")
        assert len(before) == 1 and before[0]["name"] == "nvr"
        client = IsapiClient(emulated_lab.http("nvr"))
        if not client.wait_until_up(30):
            client.activate(PASSWORD)
        controller.power("nvr", "cycle")
        assert client.wait_until_up(30) is True  # a power cut keeps the activation
        after = controller.status("nvr")[0]
        assert int(after["boots"]) > int(before[0]["boots"])  # type: ignore[call-overload]
        controller.power("nvr", "off")
        assert controller.status("nvr")[0]["power"] == "off"
        with pytest.raises(DeviceError, match="refused"):
            client.activated()
        controller.power("nvr", "on")
        client.wait_until_up(30)
        controller.reset_button("nvr")
        assert client.wait_until_up(30) is False  # reset button: full factory reset
        with pytest.raises(InfrastructureError, match="no-such-device"):
            controller.power("no-such-device", "on")
        transcript = controller.transcript.render()
    assert emulated_lab.labctl_password not in transcript and "power cycle nvr" in transcript
