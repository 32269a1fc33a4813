"""The state folder of real devices (harness/lab/statedir.py): keyed per device, so the rest
of the inventory cannot move a stored password; never created by a read; refused when
others can write to it; one transition file per run."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import yaml
from cli_helpers import hil

from harness.errors import InfrastructureError
from harness.inventory.load import load_inventory
from harness.inventory.model import RealDevice
from harness.lab.session import LabSession
from harness.lab.statedir import STATE_DIR_ENV
from harness.lab.states import State, TransitionLog

NVR = {"model": "DS-7608NI-K2", "firmware": "V4.21.000"}


def _inventory(folder: Path, devices: dict[str, str]) -> Path:
    """An inventory of real devices, name -> base_url."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "lab.yaml"
    path.write_text(yaml.safe_dump({
        "devices": [{"name": name, "kind": "real", **NVR, "base_url": url,
                     "password_env": "HIL_STATEDIR_TEST_PASSWORD"}
                    for name, url in devices.items()],
        "cloud": {"kind": "none"},
        "leases": {"kind": "file", "directory": str(folder / "leases")},
    }, sort_keys=False))
    return path


def _known_password(inventory: Path, workdir: Path, device: str) -> str | None:
    lab = LabSession(load_inventory(inventory), workdir, None)
    entry = lab.inventory.device(device)
    assert isinstance(entry, RealDevice)
    password = lab.store.known(entry).password
    return password.reveal() if password is not None else None


def test_a_device_added_renamed_or_moved_elsewhere_leaves_stored_passwords_found(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STATE_DIR_ENV, str(tmp_path / "state"))
    monkeypatch.setenv("HIL_STATEDIR_TEST_PASSWORD", "Env-Pass-1!")
    first = _inventory(tmp_path / "monday", {"nvr-1": "http://127.0.0.1:9",
                                             "nvr-2": "https://NVR2.lab.example"})
    lab = LabSession(load_inventory(first), tmp_path / "work", None)
    lab.store.remember("nvr-1", password="Set-By-Run-1!")
    lab.store.remember("nvr-2", password="Set-By-Run-2!")
    # Tuesday's inventory: a device added, another renamed, nvr-2's URL spelt otherwise.
    second = _inventory(tmp_path / "tuesday", {"nvr-1": "http://127.0.0.1:9",
                                               "nvr-2": "https://nvr2.lab.example:443/",
                                               "nvr-3": "http://127.0.0.1:11"})
    assert _known_password(second, tmp_path / "clone", "nvr-1") == "Set-By-Run-1!"
    assert _known_password(second, tmp_path / "clone", "nvr-2") == "Set-By-Run-2!"
    assert _known_password(second, tmp_path / "clone", "nvr-3") == "Env-Pass-1!"
    # A device at a new address is another device for the harness: the env password.
    moved = _inventory(tmp_path / "wed", {"nvr-1": "http://127.0.0.1:12"})
    assert _known_password(moved, tmp_path / "clone", "nvr-1") == "Env-Pass-1!"


def test_credentials_command_reports_a_missing_state_folder_without_making_it(
        tmp_path: Path) -> None:
    inventory = _inventory(tmp_path, {"nvr-1": "http://127.0.0.1:9"})
    typo = tmp_path / "stat-typo"
    shown = hil("devices", "credentials", "--devices", inventory, "--workdir",
                tmp_path / "lab", cwd=tmp_path, env={STATE_DIR_ENV: str(typo)})
    as_json = hil("devices", "credentials", "--json", "--devices", inventory, "--workdir",
                  tmp_path / "lab", cwd=tmp_path, env={STATE_DIR_ENV: str(typo)})
    assert shown.returncode == 0 and as_json.returncode == 0, shown.stderr + as_json.stderr
    assert f"no state kept at {typo} yet" in " ".join(shown.stdout.split()), shown.stdout
    assert json.loads(as_json.stdout)["state_kept"] is False
    assert not typo.exists() and not (tmp_path / "lab").exists()


def test_a_state_root_others_can_write_is_refused_in_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # as /tmp
    monkeypatch.setenv(STATE_DIR_ENV, str(shared))
    inventory = _inventory(tmp_path / "inv", {"nvr-1": "http://127.0.0.1:9"})
    with pytest.raises(InfrastructureError) as refused:
        LabSession(load_inventory(inventory), tmp_path / "work", None)
    message = str(refused.value)
    assert "\n" not in message and f"{STATE_DIR_ENV}={shared}" in message
    assert "writable by its group or by others" in message
    shown = hil("devices", "credentials", "--devices", inventory, cwd=tmp_path,
                env={STATE_DIR_ENV: str(shared)})
    assert shown.returncode != 0 and f"{STATE_DIR_ENV}={shared}" in shown.stderr + shown.stdout
    assert not (shared / "credentials").exists()


def test_an_existing_root_keeps_its_mode_and_new_folders_are_private(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "kept"
    root.mkdir()
    os.chmod(root, 0o750)  # the admin's choice: group may read
    monkeypatch.setenv(STATE_DIR_ENV, str(root))
    lab = LabSession(load_inventory(_inventory(tmp_path / "inv", {"nvr-1": "http://127.0.0.1:9"})),
              tmp_path / "work", None)
    lab.store.remember("nvr-1", password="Set-By-Run-1!")
    assert stat.S_IMODE(root.stat().st_mode) == 0o750
    assert stat.S_IMODE((root / "credentials").stat().st_mode) == 0o700
    fresh = tmp_path / "fresh" / "state"
    monkeypatch.setenv(STATE_DIR_ENV, str(fresh))
    LabSession(load_inventory(_inventory(tmp_path / "inv", {"nvr-1": "http://127.0.0.1:9"})),
        tmp_path / "work", None)
    for made in (fresh.parent, fresh):
        assert stat.S_IMODE(made.stat().st_mode) == 0o700, made


def test_a_run_reads_only_its_own_transitions(tmp_path: Path) -> None:
    older = TransitionLog(tmp_path, run_id="20261205T020000-aaaaaa")
    older.record("nvr-1", "activate", State.INACTIVE, 1.0)
    # Yesterday's file damaged: today's summary does not even open it.
    with older.path.open("a") as handle:
        handle.write("{not json\n")
    today = TransitionLog(tmp_path, run_id="20261206T020000-bbbbbb")
    today.record("nvr-1", "reserve_email", State.ACTIVE, 2.0)
    assert [(e["run"], e["transition"]) for e in today.entries()] == [
        ("20261206T020000-bbbbbb", "reserve_email")]
    assert stat.S_IMODE(today.path.stat().st_mode) == 0o600
