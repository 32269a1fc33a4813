"""Hostile and careless inventories through the real `hil devices list`: each is refused
with exit 2 and one error line naming the file and the field (or line), never echoing a
secret or an unbounded value, and without first chewing on the file for seconds."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import hil, one_line_error

REAL = "{name: %s, kind: real, model: DS-7608NI-K2, firmware: V4.21.000, " \
       "password_env: HIL_NVR_PASSWORD, base_url: '%s'}"


def _inventory(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "devices.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def _refused(tmp_path: Path, body: str) -> str:
    result = hil("devices", "list", "--devices", _inventory(tmp_path, body), cwd=tmp_path,
                 timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    line = one_line_error(result)
    assert "devices.yaml" in line
    assert len(line) < 300, line
    return line


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://admin:Secret123@127.0.0.1:8080", "credentials in the address"),
        ("http://127.0.0.1:99999", "not between 1 and 65535"),
        ("http://127.0.0.1:0", "not between 1 and 65535"),
        ("http://127.0.0.1:8080/some/path", "without a path, query or fragment"),
        ("http://127.0.0.1:8080/?debug=1", "without a path, query or fragment"),
        ("http://127.0.0.1:8080/#top", "without a path, query or fragment"),
        ("ftp://127.0.0.1", "expected a base URL"),
    ],
)
def test_bad_addresses_are_refused(tmp_path: Path, url: str, expected: str) -> None:
    line = _refused(tmp_path, "devices:\n  - " + REAL % ("nvr1", url) + "\n")
    assert "devices[0].base_url" in line and expected in line
    assert "Secret123" not in line


def test_two_devices_at_one_address_are_refused(tmp_path: Path) -> None:
    body = ("devices:\n  - " + REAL % ("nvr1", "http://127.0.0.1") + "\n  - "
            + REAL % ("nvr2", "http://127.0.0.1:80/") + "\n")
    line = _refused(tmp_path, body)
    assert "devices[1].base_url: 127.0.0.1:80 is already the address of devices[0]" in line


def test_the_same_host_on_other_ports_is_two_devices(tmp_path: Path) -> None:
    body = ("devices:\n  - " + REAL % ("nvr1", "http://127.0.0.1:8080") + "\n  - "
            + REAL % ("nvr2", "http://127.0.0.1:8081") + "\n")
    result = hil("devices", "list", "--devices", _inventory(tmp_path, body), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "nvr1" in result.stdout and "nvr2" in result.stdout


def test_a_duplicated_key_is_refused_with_its_line(tmp_path: Path) -> None:
    body = ("devices:\n"
            "  - name: nvr1\n    kind: emulated\n    model: DS-7608NI-K2\n"
            "    firmware: V4.21.000\n    firmware: V4.22.005\n")
    line = _refused(tmp_path, body)
    assert "line 6" in line and "duplicate key 'firmware' (first on line 5)" in line


def test_a_yaml_merge_is_not_a_duplicate(tmp_path: Path) -> None:
    body = ("base: &nvr {kind: emulated, model: DS-7608NI-K2, firmware: V4.21.000}\n"
            "devices:\n  - {<<: *nvr, name: nvr1, firmware: V4.22.005}\n")
    # `base` is no inventory field: refused for that, not as a duplicate `firmware`.
    line = _refused(tmp_path, body)
    assert "base: unknown field" in line and "duplicate" not in line


def test_an_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    levels = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        refs = ",".join([f"*a{i - 1}"] * 10)
        levels.append(f"a{i}: &a{i} [{refs}]")
    body = "\n".join(levels) + "\ndevices: *a8\n"
    assert len(body) < 1000
    line = _refused(tmp_path, body)
    assert "aliases are expanded" in line


def test_a_huge_file_is_refused_by_its_size(tmp_path: Path) -> None:
    body = "devices:\n" + ("# padding\n" * 200_000)
    line = _refused(tmp_path, body)
    assert "more than an inventory may hold" in line


def test_a_long_bad_value_is_not_echoed_whole(tmp_path: Path) -> None:
    body = ("devices:\n  - {name: nvr1, kind: emulated, model: DS-7608NI-K2, "
            "firmware: V4.21.000, boot_seconds: '" + "x" * 1000 + "'}\n")
    line = _refused(tmp_path, body)
    assert "devices[0].boot_seconds" in line and "xxx..." in line
