"""Issue 17 item 5, `hil` for scripts and shells, through the real command: `--json` on
`devices list` and `devices probe` (machine-readable, no secrets), `--version`, and
typer's shell completion as bash runs it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from cli_helpers import HIL, emulated, hil, write_inventory

from harness.cli import hil_version

NVR = ("DS-7608NI-K2", "V4.21.000")
SECRET = "Qa-json-2026x"


def real_closed() -> dict[str, object]:
    return {"name": "json-real", "kind": "real", "model": NVR[0], "firmware": NVR[1],
            # Port 9 (discard) on loopback: nothing listens there.
            "base_url": "http://127.0.0.1:9", "password_env": "HIL_JSON_TEST_PASSWORD"}


def test_version() -> None:
    result = hil("--version", cwd=Path.cwd())
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"hil {hil_version()}\n"
    assert hil_version() not in ("", "unknown")


def test_devices_list_json_has_the_inventory_and_no_secret(tmp_path: Path) -> None:
    inventory = write_inventory(tmp_path, "devices.yaml", [
        emulated("json-nvr", *NVR, "code_reusable"),
        emulated("json-ipc", "DS-2CD2143G2-I", "V5.7.10 build 240120"),
        real_closed(),
    ])
    result = hil("devices", "list", "--json", "--devices", inventory, "--workdir",
                 tmp_path / "lab", cwd=tmp_path, env={"HIL_JSON_TEST_PASSWORD": SECRET})
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    data = json.loads(result.stdout)
    assert data["inventory"] == str(inventory) and data["lab_running"] is False
    devices = {d["name"]: d for d in data["devices"]}
    assert list(devices) == ["json-nvr", "json-ipc", "json-real"]
    assert devices["json-nvr"] == {
        "name": "json-nvr", "kind": "emulated", "line": "nvr", "line_title": "NVR",
        "model": NVR[0], "firmware": NVR[1], "firmware_version": "V4.21.000",
        "gui_generation": "recorder", "reset_by_email": True, "address": None,
        "defects": ["code_reusable"]}
    assert devices["json-ipc"]["firmware_version"] == "V5.7.10"
    assert devices["json-ipc"]["gui_generation"] == "camera-spa"
    assert devices["json-real"]["address"] == "http://127.0.0.1:9"
    assert SECRET not in result.stdout and "HIL_JSON_TEST_PASSWORD" not in result.stdout


def test_devices_probe_json_says_what_each_device_answered(tmp_path: Path) -> None:
    inventory = write_inventory(tmp_path, "devices.yaml", [
        emulated("json-lab-nvr", *NVR), real_closed()])
    workdir = tmp_path / "lab"
    up = hil("lab", "up", "--devices", inventory, "--workdir", workdir, cwd=tmp_path)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        result = hil("devices", "probe", "--json", "--devices", inventory, "--workdir",
                     workdir, cwd=tmp_path, env={"HIL_JSON_TEST_PASSWORD": SECRET})
        # The closed real device is unreachable: exit 2, and still one JSON document.
        assert result.returncode == 2, result.stdout + result.stderr
        data = json.loads(result.stdout)
        emulated_one, real = data["devices"]
        assert emulated_one["name"] == "json-lab-nvr"
        assert emulated_one["status"] == "partial" and emulated_one["reachable"] is True
        assert emulated_one["activated"] is False and emulated_one["answered"] is None
        assert emulated_one["address"].startswith("http://127.0.0.1:")
        assert "not activated" in emulated_one["note"]
        assert real["status"] == "unreachable" and real["reachable"] is False
        assert real["claimed"] == {"model": NVR[0], "firmware": NVR[1], "line": "nvr"}
        assert "connection refused" in real["note"]
        assert SECRET not in result.stdout + result.stderr
    finally:
        hil("lab", "down", "--workdir", workdir, cwd=tmp_path)


def _complete(tmp_path: Path, words: list[str]) -> list[str]:
    """What bash offers for the last of `words`, with hil's completion script loaded."""
    script = (f'eval "$({HIL} --show-completion bash)"; COMP_WORDS=({" ".join(words)}); '
              f"COMP_CWORD={len(words) - 1}; _hil_completion hil; "
              'printf "%s\\n" "${COMPREPLY[@]}"')
    environment = {**os.environ, "PATH": f"{HIL.parent}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=environment,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return [ln for ln in done.stdout.splitlines() if ln]


def test_bash_completion(tmp_path: Path) -> None:
    inventory = write_inventory(tmp_path, "devices.yaml", [
        emulated("comp-ipc-a", "DS-2CD2143G2-I", "V5.6.0"),
        emulated("comp-ipc-b", "DS-2CD3725G0-IZS", "V5.6.3"),
        emulated("comp-nvr", *NVR)])
    assert _complete(tmp_path, ["hil", "ru"]) == ["run"]
    assert _complete(tmp_path, ["hil", "devices", "''"]) == ["list", "probe", "leases",
                                                             "release", "health",
                                                             "credentials"]
    assert "--device" in _complete(tmp_path, ["hil", "run", "--dev"])
    assert _complete(tmp_path, ["hil", "run", "--line", "dvr"]) == ["dvr-k", "dvr-hghi-f"]
    assert _complete(tmp_path, ["hil", "run", "--profile", "n"]) == ["nightly"]
    # Device names from the inventory the command line names.
    assert _complete(tmp_path, ["hil", "run", "--devices", str(inventory), "--device",
                                "comp-ipc"]) == ["comp-ipc-a", "comp-ipc-b"]
    # --install-completion writes into the shell's rc file: here, the help only.
    result = hil("--help", cwd=tmp_path)
    assert "--install-completion" in result.stdout and "--show-completion" in result.stdout
