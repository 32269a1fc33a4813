"""The inventory: the default devices.yaml, one-line errors, secrets by reference, schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

import certifi
import pytest

from harness.catalogue import GuiGeneration, LineId
from harness.inventory.fields import InventoryError, MissingSecret
from harness.inventory.load import (
    DEFAULT_INVENTORY,
    SCHEMA_FILE,
    load_inventory,
    parse_inventory,
    schema_text,
)
from harness.inventory.model import (
    EmulatedDevice,
    ImapConfig,
    RealDevice,
    RealLabController,
    TlsSettings,
)
from harness.lab.host import fleet_config

CAMERA = "{name: cam, kind: emulated, model: DS-2CD2143G2-I, firmware: V5.6.0}"
PIN = "5GaAG0eOIQofLP+rSd4hh8xk5ReYr7xwN2vvuI/I5lo="
FINGERPRINT = "SHA256:RLWAz2NxkrWjvEIC4fHnAxup/fM3hL6q5LEMXRqfXUU"


def error_of(text: str) -> str:
    with pytest.raises(InventoryError) as info:
        parse_inventory(text)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_default_inventory_covers_the_matrix() -> None:
    inventory = load_inventory(DEFAULT_INVENTORY)
    devices = inventory.devices
    assert len(devices) >= 13
    assert all(isinstance(d, EmulatedDevice) for d in devices)
    for line in LineId:
        on_line = [d for d in devices if d.line.id is line]
        threshold = on_line[0].line.reset_threshold
        versions = [d.firmware_version for d in on_line]
        assert any(v < threshold for v in versions), line
        assert any(v == threshold for v in versions), line
        assert any(v > threshold for v in versions), line
    assert {d.gui_generation for d in devices} == set(GuiGeneration)
    for device in devices:
        # names say line and firmware, e.g. nvr-v4.21.000
        assert device.firmware_version.version.lower() in device.name


def test_real_device_and_secret_by_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    inventory = parse_inventory(
        """
devices:
  - name: nvr1
    kind: real
    model: DS-7608NI-K2
    firmware: V4.30.005
    base_url: https://192.0.2.10/
    tls: {verify: true, ca_file: lab-ca.pem}
    password_env: HIL_NVR1_PASSWORD
    ssh_port: 2222
    outlet: "3"
mailbox: {kind: imap, host: imap.lab.test, user: qa, password_env: HIL_IMAP_PASSWORD}
cloud: {kind: manual}
lab_controller: {kind: real, host: relay.lab.test, user: lab, password_env: HIL_LABCTL}
leases: {kind: file, directory: /tmp/leases}
"""
    )
    device = inventory.device("nvr1")
    assert isinstance(device, RealDevice)
    assert device.base_url == "https://192.0.2.10"
    assert device.tls.ca_file == Path("lab-ca.pem")
    assert not inventory.needs_emulator
    monkeypatch.delenv("HIL_NVR1_PASSWORD", raising=False)
    with pytest.raises(MissingSecret) as info:
        device.secret()
    assert str(info.value) == (
        "environment variable HIL_NVR1_PASSWORD is not set: it must hold the admin password "
        "of device 'nvr1' (named in devices.yaml)"
    )
    monkeypatch.setenv("HIL_NVR1_PASSWORD", "Qx7!mZ2p")
    assert device.secret() == "Qx7!mZ2p"
    assert isinstance(inventory.mailbox, ImapConfig)
    with pytest.raises(MissingSecret, match="HIL_IMAP_PASSWORD"):
        inventory.mailbox.secret()


def test_a_missing_secret_does_not_stop_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HIL_X", raising=False)
    parse_inventory(
        "devices: [{name: a, kind: real, model: DS-2CD2143G2-I, firmware: V5.6.0, "
        "base_url: 'http://127.0.0.1:8080', password_env: HIL_X}]"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            f"devices:\n  - {CAMERA}\n  - {{name: b, kind: emulated, model: DS-2CD2143G2-I, "
            "firmware: five}",
            "devices.yaml: devices[1].firmware: expected a firmware version like V5.6.3, "
            "got 'five'",
        ),
        (
            f"devices:\n  - {CAMERA}\n  - {CAMERA}",
            "devices.yaml: devices[1].name: duplicate device name 'cam' (first at devices[0])",
        ),
        (
            "devices: [{name: a, kind: emulated, model: XYZ-1, firmware: V5.6.0}]",
            "devices.yaml: devices[0].model: unknown model 'XYZ-1': expected a model of a known "
            "product line (DS-2CD… camera, DS-xxxxNI-… NVR, DS-xxxxH…-K… DVR K, "
            "DS-xxxxH…-F… DVR HGHI-F)",
        ),
        (
            "devices: [{name: a, kind: robot, model: DS-2CD2143G2-I, firmware: V5.6.0}]",
            "devices.yaml: devices[0]: expected kind to be one of 'real', 'emulated', got 'robot'",
        ),
        (
            "devices: [{name: a, model: DS-2CD2143G2-I, firmware: V5.6.0}]",
            "devices.yaml: devices[0]: missing 'kind' (what sort of entry this is)",
        ),
        (
            "devices: [{name: a, kind: emulated, firmware: V5.6.0}]",
            "devices.yaml: devices[0].model: required field is missing",
        ),
        (
            "devices: [{name: a, kind: emulated, model: DS-2CD2143G2-I, firmware: V5.6.0, "
            "colour: red}]",
            "devices.yaml: devices[0].colour: unknown field (got 'red'); check the spelling "
            "against devices.schema.json",
        ),
        (
            "devices: [{name: a, kind: emulated, model: DS-2CD2143G2-I, firmware: V5.6.0, "
            "latency_ms: lots}]",
            "devices.yaml: devices[0].latency_ms: expected a whole number, got 'lots'",
        ),
        (
            "devices: [{name: 'a b', kind: emulated, model: DS-2CD2143G2-I, firmware: V5.6.0}]",
            "devices.yaml: devices[0].name: expected a device name of letters, digits, '.', '_' "
            "or '-' (at most 64), got 'a b'",
        ),
        (
            "devices: [{name: a, kind: real, model: DS-2CD2143G2-I, firmware: V5.6.0, "
            "base_url: 'ftp://x', password_env: HIL_A}]",
            "devices.yaml: devices[0].base_url: expected a base URL like https://192.0.2.10 or "
            "http://host:8080, got 'ftp://x'",
        ),
        (
            "devices: [{name: a, kind: real, model: DS-2CD2143G2-I, firmware: V5.6.0, "
            "base_url: 'https://x', password_env: 'my password'}]",
            "devices.yaml: devices[0].password_env: expected the name of an environment "
            "variable, e.g. HIL_NVR1_PASSWORD, got 'my password'",
        ),
        (
            f"devices: [{CAMERA}]\nmailbox: {{kind: imap, host: h, user: u, password_env: P, "
            "port: 99999}",
            "devices.yaml: mailbox.port: expected a number at most 65535, got 99999",
        ),
        (
            f"devices: [{CAMERA}]\nleases: {{kind: etcd}}",
            "devices.yaml: leases: expected kind to be one of 'file', 'redis', got 'etcd'",
        ),
        (
            "devices: [{name: a, kind: emulated, model: DS-2CD2143G2-I, firmware: V5.6.0, "
            "emulation: {digest_algorithm: SHA256}}]",
            "devices.yaml: devices[0].emulation.digest_algorithm: expected 'MD5' or "
            "'SHA-256', got 'SHA256'",
        ),
        (
            "devices: [{name: a, kind: emulated, model: DS-2CD2143G2-I, firmware: V5.6.0, "
            "emulation: {session_id_version: 2.1}}]",
            'devices.yaml: devices[0].emulation.session_id_version: expected "2" or "2.1" in '
            "quotes, got the number 2.1",
        ),
        (
            "devices: [{name: a, kind: emulated, model: DS-2CD2143G2-I, firmware: V5.6.0, "
            "emulation: {session_id_version: '3'}}]",
            "devices.yaml: devices[0].emulation.session_id_version: expected '2' or '2.1', "
            "got '3'",
        ),
        (
            "devices: [{name: a, kind: emulated, model: DS-2CD2143G2-I, firmware: V5.6.0, "
            "emulation: {session_timeout_s: 0}}]",
            "devices.yaml: devices[0].emulation.session_timeout_s: expected a number more "
            "than 0.0, got 0",
        ),
        (
            "devices: [{name: a, kind: emulated, model: DS-2CD2143G2-I, firmware: V5.6.0, "
            "emulation: {heartbeat: 30}}]",
            "devices.yaml: devices[0].emulation.heartbeat: unknown field (got 30); check the "
            "spelling against devices.schema.json",
        ),
        (
            "devices: [{name: a, kind: real, model: DS-2CD2143G2-I, firmware: V5.6.0, "
            "base_url: 'https://x', password_env: HIL_A, tls: {spki_sha256: abc}}]",
            "devices.yaml: devices[0].tls.spki_sha256: expected the base64 SHA-256 of the "
            "certificate's public key (44 characters ending in '='; docs/real-lab.md says how "
            "to get it), got 'abc'",
        ),
        (
            "devices: [{name: a, kind: real, model: DS-2CD2143G2-I, firmware: V5.6.0, "
            "base_url: 'https://x', password_env: HIL_A, tls: {spki_sha256: "
            f"['{PIN}', 'sha256/{PIN}']}}}}]",
            "devices.yaml: devices[0].tls.spki_sha256[1]: expected the base64 SHA-256 of the "
            "certificate's public key (44 characters ending in '='; docs/real-lab.md says how "
            f"to get it), got 'sha256/{PIN}'",
        ),
        (
            "devices: [{name: a, kind: real, model: DS-2CD2143G2-I, firmware: V5.6.0, "
            "base_url: 'https://x', password_env: HIL_A, ssh_host_key: 'SHA256:abc'}]",
            "devices.yaml: devices[0].ssh_host_key: expected a host key fingerprint "
            "SHA256:<43 base64 characters> as `ssh-keyscan HOST | ssh-keygen -lf -` prints "
            "it, or a known_hosts file, got 'SHA256:abc'",
        ),
        (
            "devices: [{name: a, kind: real, model: DS-2CD2143G2-I, firmware: V5.6.0, "
            f"base_url: 'https://x', password_env: HIL_A, ssh_host_key: ['{FINGERPRINT}', "
            "keys/known_hosts]}]",
            "devices.yaml: devices[0].ssh_host_key[1]: expected a host key fingerprint "
            "SHA256:<43 base64 characters> (a list holds fingerprints only; a known_hosts file "
            "is given alone), got 'keys/known_hosts'",
        ),
        (
            f"devices: [{CAMERA}]\nlab_controller: {{kind: real, host: h, user: lab, "
            "password_env: P, ssh_host_key: '9d:38:5b:83:a9:17:52:92:56:1a:5e:c4:d4:81:8e:0a'}",
            "devices.yaml: lab_controller.ssh_host_key: expected a host key fingerprint "
            "SHA256:<43 base64 characters> as `ssh-keyscan HOST | ssh-keygen -lf -` prints "
            "it, or a known_hosts file, got '9d:38:5b:83:a9:17:52:92:56:1a:5e:c4:d4:81:8e:0a'",
        ),
        ("devices: []", "devices.yaml: devices: expected at least one device"),
        ("mailbox: {kind: smtp-sink}", "devices.yaml: devices: required field is missing"),
        ("- just a list", "devices.yaml: expected a mapping with 'devices:' at the top, got list"),
    ],
)
def test_each_mistake_is_one_line(text: str, message: str) -> None:
    # A mistake in an entry names its line too: `devices.yaml: line N: devices[...]`.
    error = error_of(text)
    if "devices[" in message:
        assert re.match(r"devices\.yaml: line \d+: ", error), error
    assert re.sub(r"line \d+: ", "", error, count=1) == message


def test_a_mistake_names_its_line() -> None:
    text = f"devices:\n  - {CAMERA}\n  - {{name: b, kind: emulated, model: DS-2CD2143G2-I,\n" \
           "      firmware: five}"
    assert error_of(text).startswith("devices.yaml: line 4: devices[1].firmware: ")


def test_yaml_syntax_error_names_the_line() -> None:
    text = f"devices:\n  - {CAMERA}\n  - {{name: b, kind: emulated\n"
    assert error_of(text).startswith("devices.yaml: line 4: invalid YAML (")


def test_several_mistakes_are_counted_on_the_one_line() -> None:
    text = "devices: [{name: a, kind: emulated, model: XYZ-1, firmware: five}]"
    assert error_of(text).endswith("(and 1 more)")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match=r"missing\.yaml: cannot read the inventory"):
        load_inventory(tmp_path / "missing.yaml")


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text("devices: [{name: a, kind: emulated, model: DS-2CD2143G2-I, firmware: x}]")
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    assert str(info.value).startswith(f"{path}: line 1: devices[0].firmware: ")


def test_schema_takes_one_pin_or_a_list_as_the_loader_does() -> None:
    # The docs write `spki_sha256: <pin>`: an editor checking devices.yaml against the
    # schema must not flag it.
    definitions = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))["$defs"]
    one_or_many = [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
    for model in ("TlsSettings", "ImapConfig"):
        assert definitions[model]["properties"]["spki_sha256"]["anyOf"] == one_or_many, model
    for model in ("RealDevice", "RealLabController"):
        kinds = definitions[model]["properties"]["ssh_host_key"]["anyOf"]
        assert {"type": "string"} in kinds and one_or_many[1] in kinds, model


def test_committed_schema_is_current() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        "devices.schema.json is stale: run `python -m harness.inventory.load`"
    )


def test_a_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    path.write_bytes(b"devices:\n  - {name: caf\xe9, kind: emulated, model: DS-2CD2143G2-I, "
                     b"firmware: V5.6.0}\n")
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    assert str(info.value) == (
        f"{path}: cannot read the inventory (line 2: not UTF-8 text, byte 0xe9); "
        "save it as UTF-8"
    )


def _real_device_with_ca(path: Path, ca_file: str) -> None:
    path.write_text(
        "devices:\n"
        f"  - {CAMERA}\n"
        "  - {name: nvr1, kind: real, model: DS-7608NI-K2, firmware: V4.30.005, "
        f"base_url: 'https://192.0.2.10', password_env: HIL_NVR1_PASSWORD, "
        f"tls: {{ca_file: '{ca_file}'}}}}\n"
    )


def test_a_missing_ca_file_is_one_line_naming_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Relative to the working directory, as the schema and docs/real-lab.md say.
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "lab.yaml"
    _real_device_with_ca(path, "certs/lab-ca.pem")
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    assert str(info.value) == (
        f"{path}: devices[1].tls.ca_file: cannot load the CA file 'certs/lab-ca.pem', "
        f"relative to {tmp_path}: No such file or directory"
    )
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "lab-ca.pem").write_text("not a certificate\n")
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(
        f"{path}: devices[1].tls.ca_file: cannot load the CA file 'certs/lab-ca.pem', "
        f"relative to {tmp_path}: not a PEM CA bundle ("
    )
    (tmp_path / "certs" / "lab-ca.pem").write_bytes(Path(certifi.where()).read_bytes())
    device = load_inventory(path).device("nvr1")
    assert isinstance(device, RealDevice) and device.tls.ca_file == Path("certs/lab-ca.pem")


def test_pins_and_host_keys_of_a_real_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "lab.yaml"
    path.write_text(
        "devices:\n"
        "  - {name: nvr1, kind: real, model: DS-7608NI-K2, firmware: V4.30.005, "
        f"base_url: 'https://192.0.2.10', password_env: HIL_NVR1, tls: {{spki_sha256: '{PIN}'}}, "
        f"ssh_host_key: '{FINGERPRINT}'}}\n"
        "  - {name: nvr2, kind: real, model: DS-7608NI-K2, firmware: V4.30.005, "
        f"base_url: 'https://192.0.2.11', password_env: HIL_NVR2, tls: {{spki_sha256: ['{PIN}']}}, "
        "ssh_host_key: keys/known_hosts}\n"
        "lab_controller: {kind: real, host: 192.0.2.2, user: lab, password_env: HIL_LABCTL, "
        "ssh_host_key: keys/labctl_known_hosts}\n"
    )
    # A known_hosts file is read at load, relative to the working directory.
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    assert str(info.value) == (
        f"{path}: devices[1].ssh_host_key: cannot read the known_hosts file 'keys/known_hosts', "
        f"relative to {tmp_path}: No such file or directory (or give the key's fingerprint, "
        "SHA256:...)"
    )
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "known_hosts").write_text("")
    with pytest.raises(InventoryError, match=r"lab_controller\.ssh_host_key: cannot read"):
        load_inventory(path)
    (tmp_path / "keys" / "labctl_known_hosts").write_text("")
    inventory = load_inventory(path)
    first, second = inventory.real_devices
    assert first.tls.spki_sha256 == second.tls.spki_sha256 == (PIN,)
    assert first.ssh_host_key == FINGERPRINT and second.ssh_host_key == "keys/known_hosts"
    several = path.read_text().replace(f"'{FINGERPRINT}'", f"['{FINGERPRINT}', '{FINGERPRINT}']")
    path.write_text(several)
    assert load_inventory(path).real_devices[0].ssh_host_key == (FINGERPRINT, FINGERPRINT)
    controller = inventory.lab_controller
    assert isinstance(controller, RealLabController)
    assert controller.ssh_host_key == "keys/labctl_known_hosts"


def test_ca_file_description_says_where_relative_paths_start() -> None:
    description = TlsSettings.model_fields["ca_file"].description or ""
    assert "working directory" in description and "devices.yaml" not in description


def test_emulation_settings_reach_the_fleet_config(tmp_path: Path) -> None:
    inventory = parse_inventory(
        "devices:\n"
        "  - {name: a, kind: emulated, model: DS-7608NI-K2, firmware: V4.30.005,\n"
        "     emulation: {digest_algorithm: SHA-256, session_id_version: '2.1',\n"
        "                 session_timeout_s: 2.5}}\n"
        "  - {name: b, kind: emulated, model: DS-2CD2143G2-I, firmware: V5.6.0}\n"
    )
    first, second = fleet_config(inventory, tmp_path, 2525)["devices"]
    assert (first["digest_algorithm"], first["session_id_version"],
            first["session_timeout_s"]) == ("SHA-256", "2.1", 2.5)
    # Absent settings stay absent: the emulator's defaults apply.
    assert not {"digest_algorithm", "session_id_version", "session_timeout_s"} & set(second)


def test_default_inventory_meets_both_digests_and_both_session_versions() -> None:
    devices = {d.name: d for d in load_inventory().emulated_devices}
    assert devices["nvr-v4.30.005"].emulation.digest_algorithm == "SHA-256"
    assert devices["ipc-v5.7.10"].emulation.session_id_version == "2.1"
