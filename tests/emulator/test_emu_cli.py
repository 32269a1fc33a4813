"""`python -m emulator`: fleet start, ready line, bad arguments and configs (exit 2, one line)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "emulator", *args], cwd=REPO, text=True,
                          capture_output=True, timeout=timeout)


def test_fleet_of_twenty_devices(fleet_factory) -> None:  # type: ignore[no-untyped-def]
    models = [("DS-2CD2143G2-I", "V5.6.3"), ("DS-2CD2043G2-I", "V5.7.10 build 240120"),
              ("DS-7608NI-K2", "V4.21.000"), ("DS-7204HQHI-K1", "V4.2.00"),
              ("DS-7208HGHI-F1", "V3.4.89")]
    specs = [{"name": f"d{i}", "model": models[i % 5][0], "firmware": models[i % 5][1]}
             for i in range(20)]
    lab = fleet_factory(specs, subprocess=True)
    info = lab.info
    assert info["ready"] is True and len(info["devices"]) == 20
    assert len({d["http_port"] for d in info["devices"]}) == 20
    assert len({d["serial"] for d in info["devices"]}) == 20
    for entry in info["devices"]:
        r = httpx.get(entry["http"] + "/SDK/activateStatus", timeout=10)
        assert "<Activated>false</Activated>" in r.text
    assert {d["generation"] for d in info["devices"]} == {"recorder", "camera-classic",
                                                          "camera-spa"}


def _one_line_exit_2(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.parametrize(("args", "words"), [
    (["serve", "--model", "DS-0000", "--firmware", "V5.6.0"], ["model", "DS-0000"]),
    (["serve", "--model", "DS-2CD2143G2-I", "--firmware", "5.6"], ["firmware", "5.6"]),
    (["serve", "--model", "DS-2CD2143G2-I", "--firmware", "V5.6.0", "--defect", "nope"],
     ["defect", "nope"]),
    (["serve", "--model", "DS-2CD2143G2-I", "--firmware", "V5.6.0", "--http-port", "x"],
     ["http-port"]),
    (["serve", "--firmware", "V5.6.0"], ["--model"]),
    (["bogus"], ["bogus"]),
    (["fleet", "/nonexistent/fleet.yaml"], ["/nonexistent/fleet.yaml"]),
    (["serve", "--model", "DS-2CD2143G2-I", "--firmware", "V5.6.0", "--tls-ca"],
     ["--tls-ca", "--tls-dir"]),
    (["serve", "--model", "DS-2CD2143G2-I", "--firmware", "V5.6.0", "--tls-dir",
      "/proc/version/certs"], ["--tls-dir /proc/version/certs", "not a writable folder"]),
])
def test_bad_arguments(args: list[str], words: list[str]) -> None:
    _one_line_exit_2(_run(*args), *words)


def test_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = _run("serve", "--model", "DS-2CD2143G2-I", "--firmware", "V5.6.0",
                      "--http-port", str(port), "--state", str(tmp_path))
    _one_line_exit_2(result, "listen")


@pytest.mark.parametrize(("config", "words"), [
    ({"devices": [{"name": "a", "model": "DS-2CD2143G2-I"}]}, ["devices[0].firmware"]),
    ({"devices": [{"name": "a", "model": "X", "firmware": "V5.6.0"}]}, ["devices[0].model"]),
    ({"devices": [{"name": "a", "model": "DS-2CD2143G2-I", "firmware": "V5.6.0",
                   "defects": ["nope"]}]}, ["devices[0].defects[0]", "nope"]),
    ({"devices": [], "colour": "red"}, ["colour"]),
    ({"devices": [{"name": "a", "model": "DS-2CD2143G2-I", "firmware": "V5.6.0",
                   "http_port": 70000}]}, ["devices[0].http_port"]),
    ({"devices": [], "tls": {"ca": True}}, ["tls.dir", "required"]),
    ({"devices": [], "tls": {"dir": "/proc/version/certs"}},
     ["tls.dir /proc/version/certs", "not a writable folder"]),
])
def test_bad_fleet_config(tmp_path: Path, config: dict[str, object], words: list[str]) -> None:
    path = tmp_path / "fleet.json"
    path.write_text(json.dumps(config))
    _one_line_exit_2(_run("fleet", str(path)), str(path), *words)


def test_bad_yaml(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text("devices: [\n")
    _one_line_exit_2(_run("fleet", str(path)), str(path), "YAML")


def test_defects_listing_and_help(tmp_path: Path) -> None:
    result = _run("defects")
    assert result.returncode == 0
    assert "code_reusable" in result.stdout and "strength_bar_wrong" in result.stdout
    module = tmp_path / "extra.py"
    module.write_text("from emulator.defects import defect\n"
                      "@defect('my_bug', 'my one line')\ndef f(policy):\n    pass\n")
    assert "my one line" in _run("defects", "--defect-module", str(module)).stdout
    for args in (["--help"], ["serve", "--help"], ["fleet", "--help"]):
        assert _run(*args).returncode == 0


@pytest.mark.parametrize(("entry", "words"), [
    ({"digest_algorithm": "SHA-1"}, ["devices[0].digest_algorithm", "SHA-1"]),
    ({"session_id_version": "3"}, ["devices[0].session_id_version", "3"]),
    ({"session_timeout_s": 0}, ["devices[0].session_timeout_s"]),
])
def test_bad_per_device_settings(tmp_path: Path, entry: dict[str, object],
                                 words: list[str]) -> None:
    from emulator.config import ConfigError, validate_config

    config = {"devices": [{"name": "a", "model": "DS-2CD2143G2-I", "firmware": "V5.6.0",
                           **entry}]}
    with pytest.raises(ConfigError) as err:
        validate_config(config, "fleet.json")
    for word in words:
        assert word in str(err.value)


def test_per_device_settings_from_yaml(tmp_path: Path) -> None:
    from emulator.config import load_config

    path = tmp_path / "fleet.yaml"
    path.write_text("devices:\n"
                    "  - {name: a, model: DS-2CD2143G2-I, firmware: V5.6.0}\n"
                    "  - {name: b, model: DS-7608NI-K2, firmware: V4.21.000,\n"
                    "     digest_algorithm: SHA-256, session_id_version: 2.1,\n"
                    "     session_timeout_s: 30}\n")
    a, b = load_config(path).devices
    assert (a.digest_algorithm, a.session_id_version, a.session_timeout_s) == \
        ("MD5", "2", 120.0)
    assert (b.digest_algorithm, b.session_id_version, b.session_timeout_s) == \
        ("SHA-256", "2.1", 30.0)


def test_serve_flags_reach_the_device_entry() -> None:
    from emulator.cli import _serve_config, build_parser

    args = build_parser().parse_args([
        "serve", "--model", "DS-2CD2143G2-I", "--firmware", "V5.6.0",
        "--digest-algorithm", "SHA-256", "--session-id-version", "2.1",
        "--session-timeout-s", "15"])
    device = _serve_config(args)["devices"][0]
    assert (device["digest_algorithm"], device["session_id_version"],
            device["session_timeout_s"]) == ("SHA-256", "2.1", 15.0)
    defaults = _serve_config(build_parser().parse_args(
        ["serve", "--model", "DS-2CD2143G2-I", "--firmware", "V5.6.0"]))["devices"][0]
    assert (defaults["digest_algorithm"], defaults["session_id_version"],
            defaults["session_timeout_s"]) == ("MD5", "2", 120.0)
