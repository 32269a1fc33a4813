"""Issue 17 item 5, device selection: `hil run` and `hil gate` choose devices by `--line`,
`--firmware` and `--device` (exact names), through the real command. Mistakes are one
line on stderr naming the inventory (exit 2), a selection with no device in common is
`nothing selected` (exit 5) and neither starts a lab; `--collect-only` shows the chosen
tests without a lab; one real run shows that only the chosen device runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cli_helpers import emulated, hil, one_line_error, write_inventory

from harness.lab.endpoints import lab_status

# Two cameras whose names share a prefix (`-k sel-ipc-v5.6` matches both), an NVR, a DVR.
DEVICES = [
    emulated("sel-ipc-v5.6.0", "DS-2CD2143G2-I", "V5.6.0"),
    emulated("sel-ipc-v5.6.3", "DS-2CD3725G0-IZS", "V5.6.3"),
    emulated("sel-nvr", "DS-7608NI-K2", "V4.21.000"),
    emulated("sel-dvr", "DS-7216HUI-K2", "V4.2.00"),
]


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    return write_inventory(tmp_path, "devices.yaml", DEVICES)


def run(tmp_path: Path, inventory: Path, *args: str, pytest_args: tuple[str, ...] = ()
        ) -> list[str]:
    """`hil run ARGS --collect-only` on `inventory`: the devices of the listed tests."""
    result = hil("run", "--devices", inventory, "--workdir", tmp_path / "lab", "-o",
                 tmp_path / "out", *args, "--collect-only", *pytest_args, cwd=tmp_path,
                 timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.strip() == "" and "Traceback" not in result.stdout
    tests = [ln for ln in result.stdout.splitlines() if "::" in ln]
    assert tests, result.stdout
    assert not (tmp_path / "lab" / "lab.json").exists(), "a lab was started to list tests"
    assert not (tmp_path / "out").exists(), "listing wrote a run's output"
    names = {d["name"] for d in DEVICES}
    found = set()
    for test in tests:
        params = test[test.index("[") + 1:]
        hits = [n for n in names if re.match(rf"{re.escape(n)}-", params)]
        assert len(hits) == 1, test
        found.add(hits[0])
    return sorted(found)


@pytest.mark.parametrize(
    ("args", "devices"),
    [
        (["--device", "sel-ipc-v5.6.0"], ["sel-ipc-v5.6.0"]),
        (["--device", "sel-nvr", "--device", "sel-dvr"], ["sel-dvr", "sel-nvr"]),
        (["--line", "ipc"], ["sel-ipc-v5.6.0", "sel-ipc-v5.6.3"]),
        (["--line", "nvr", "--line", "dvr-k"], ["sel-dvr", "sel-nvr"]),
        # Compared as versions: V5.6 is V5.6.0, not V5.6.3.
        (["--firmware", "V5.6"], ["sel-ipc-v5.6.0"]),
        (["--line", "ipc", "--firmware", "V5.6.3", "--firmware", "V4.21.000"],
         ["sel-ipc-v5.6.3"]),
    ],
)
def test_the_chosen_devices_and_no_others(
    tmp_path: Path, inventory: Path, args: list[str], devices: list[str]
) -> None:
    assert run(tmp_path, inventory, *args) == devices


MISTAKES = {
    # Exact names: a prefix of two devices is no device.
    "prefix": (["--device", "sel-ipc-v5.6"],
               ["no device 'sel-ipc-v5.6' in", "devices.yaml", "sel-ipc-v5.6.0, sel-ipc-v5.6.3"]),
    "one unknown name": (["--device", "sel-nvr", "--device", "nope"], ["no device 'nope' in"]),
    "unknown line": (["--line", "dvr"], ["unknown product line 'dvr'",
                                         "dvr-k, dvr-hghi-f, nvr, ipc"]),
    "line not in the inventory": (["--line", "dvr-hghi-f"], [
        "no device of product line dvr-hghi-f in", "devices.yaml",
        "lines there: dvr-k, ipc, nvr"]),
    "firmware not in the inventory": (["--firmware", "V9.9.9"], [
        "no device with firmware V9.9.9 in", "devices.yaml", "V4.2.00, V4.21.000, V5.6.0"]),
    "malformed firmware": (["--firmware", "five"], ["expected a firmware version", "'five'"]),
}
# The gate's --firmware is the firmware gated, and a known line without a device at it is
# its documented exit 3 (no matching device): these mistakes are the gate's exit 2 too.
GATE_MISTAKES = ("prefix", "one unknown name", "unknown line")


def _refused(tmp_path: Path, inventory: Path, argv: list[str], says: list[str]) -> None:
    result = hil(*argv[:1], "--devices", inventory, "--workdir", tmp_path / "lab", "-o",
                 tmp_path / "out", *argv[1:], cwd=tmp_path, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    line = one_line_error(result)
    for words in says:
        assert words in line, line
    assert not (tmp_path / "lab" / "lab.json").exists()


@pytest.mark.parametrize("case", list(MISTAKES))
def test_run_refuses_a_value_the_inventory_lacks(
    tmp_path: Path, inventory: Path, case: str
) -> None:
    args, says = MISTAKES[case]
    _refused(tmp_path, inventory, ["run", *args], says)


@pytest.mark.parametrize("case", GATE_MISTAKES)
def test_gate_refuses_a_value_the_inventory_lacks(
    tmp_path: Path, inventory: Path, case: str
) -> None:
    args, says = MISTAKES[case]
    _refused(tmp_path, inventory, ["gate", "--firmware", "V5.6.0", *args], says)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--line", "nvr", "--firmware", "V5.6.0"],
         "nothing selected: no device of {inv} matches --line nvr --firmware V5.6.0"),
        (["--device", "sel-nvr", "-k", "no_such_test_anywhere"],
         "nothing selected: no test of profile regression matches --device sel-nvr "
         "-k 'no_such_test_anywhere'"),
    ],
)
def test_nothing_selected_is_one_line_before_any_lab(
    tmp_path: Path, inventory: Path, args: list[str], says: str
) -> None:
    result = hil("run", "--devices", inventory, "--workdir", tmp_path / "lab", "-o",
                 tmp_path / "out", *args, cwd=tmp_path, timeout=120)
    assert result.returncode == 5, result.stdout + result.stderr
    assert one_line_error(result) == f"error: {says.format(inv=inventory)}"
    assert not (tmp_path / "lab" / "lab.json").exists()


def test_gate_device_at_another_firmware_is_no_match(tmp_path: Path, inventory: Path) -> None:
    result = hil("gate", "--devices", inventory, "-f", "V4.21.000", "--device", "sel-dvr",
                 "-o", tmp_path / "out", cwd=tmp_path, timeout=120)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "no device with firmware V4.21.000 and name sel-dvr in" in result.stdout


@pytest.mark.parametrize("browser", ["firefox", "webkit"])
@pytest.mark.parametrize("command", [["run"], ["gate", "-f", "V4.21.000"]])
def test_another_browser_is_refused_in_one_line(
    tmp_path: Path, inventory: Path, command: list[str], browser: str
) -> None:
    result = hil(*command, "--devices", inventory, "--workdir", tmp_path / "lab", "-o",
                 tmp_path / "out", "--", "--browser", browser, cwd=tmp_path, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    line = one_line_error(result)
    assert f"--browser {browser}: this harness runs Chromium only" in line
    assert not (tmp_path / "lab" / "lab.json").exists()


def test_chromium_named_is_accepted(tmp_path: Path, inventory: Path) -> None:
    chosen = run(tmp_path, inventory, "--device", "sel-nvr",
                 pytest_args=("--", "--browser", "chromium"))
    assert chosen == ["sel-nvr"]


def test_a_run_on_one_device_runs_it_alone(tmp_path: Path, inventory: Path) -> None:
    """A real run: the name shared by a prefix picks one camera; the lab starts only it;
    a log (not a terminal) gets one line per finished test before the summary."""
    output = tmp_path / "out"
    result = hil("run", "--devices", inventory, "--workdir", tmp_path / "lab", "-o", output,
                 "-n", "0", "--device", "sel-ipc-v5.6.0", "-k", "risky_password_refused_by_api",
                 cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    records = [json.loads(line) for line in
               (output / "records" / "records.jsonl").read_text().splitlines()]
    assert [r["device"] for r in records] == ["sel-ipc-v5.6.0"]
    lines = result.stdout.splitlines()
    finished = [i for i, ln in enumerate(lines)
                if ln.startswith("[1/1] PASSED on sel-ipc-v5.6.0 in ")]
    assert len(finished) == 1, result.stdout
    assert "test_risky_password_refused_by_api[sel-ipc-v5.6.0-" in lines[finished[0]]
    summary = next(i for i, ln in enumerate(lines) if "Outcomes per product line" in ln)
    assert finished[0] < summary
    # The run's inventory held the chosen device only, and its lab is gone.
    subset = (output / "run-devices.yaml").read_text()
    assert "sel-ipc-v5.6.0" in subset and "sel-ipc-v5.6.3" not in subset
    assert lab_status(tmp_path / "lab") is None
    assert "Traceback" not in result.stdout + result.stderr
