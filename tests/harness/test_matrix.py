"""The matrix by capability: which devices a `needs(...)` selects, the test ids, the
xdist group per device, and a bad inventory as one line."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures.matrix import device_in_nodeid
from harness.errors import HarnessError
from harness.inventory.load import load_inventory
from harness.lab.dut import device_id
from harness.lab.needs import satisfies_needs, select_by_needs

DEFAULT = Path(__file__).resolve().parents[2] / "devices.yaml"
# The root conftest.py is not above a temporary test file, so its plugins are named here;
# pytest-playwright first, so that fixtures.browser's launch arguments override its own.
PLUGIN_ARGS = ("-p", "no:playwright", "-p", "pytest_playwright.pytest_playwright",
               "-p", "fixtures.lab", "-p", "fixtures.matrix", "-p", "fixtures.devices",
               "-p", "fixtures.browser", "-p", "fixtures.reporting")
RunPytest = Callable[..., subprocess.CompletedProcess[str]]
WriteInventory = Callable[..., Path]


def test_selection_by_capability_on_the_default_lab() -> None:
    inventory = load_inventory(DEFAULT)
    below = {d.name for d in select_by_needs(inventory, {"reset_by_email": False})}
    assert below == {"dvr-k-v4.1.70", "dvr-f-v3.4.88", "nvr-v4.20.000", "ipc-v5.5.82"}
    spa = [d.name for d in select_by_needs(inventory, {"generation": "camera-spa"})]
    assert spa == ["ipc-v5.7.10"]
    nvr_ok = {d.name for d in select_by_needs(inventory, {"line": "nvr", "reset_by_email": True})}
    assert nvr_ok == {"nvr-v4.21.000", "nvr-v4.22.005", "nvr-v4.30.005"}
    cameras = select_by_needs(inventory, {"recorder": False, "generation": ["camera-classic"]})
    assert {d.name for d in cameras} == {"ipc-v5.5.82", "ipc-v5.6.0", "ipc-v5.6.3"}
    assert len(select_by_needs(inventory, {})) == len(inventory.devices)


def test_unknown_capability_is_refused() -> None:
    inventory = load_inventory(DEFAULT)
    with pytest.raises(HarnessError, match="unknown capability colour"):
        satisfies_needs(inventory.devices[0], {"colour": "red"})


def test_ids_name_device_model_and_firmware() -> None:
    inventory = load_inventory(DEFAULT)
    assert device_id(inventory.device("nvr-v4.21.000")) == "nvr-v4.21.000-DS-7608NI-K2-V4.21.000"
    assert device_id(inventory.device("ipc-v5.7.10")) == "ipc-v5.7.10-DS-2CD2143G2-I-V5.7.10"
    # A '/' in a model would make a path of the id.
    assert device_id(inventory.device("dvr-f-v3.4.89")) == "dvr-f-v3.4.89-DS-7208HUHI-F2_N-V3.4.89"


def test_suites_collect_over_the_inventory(
    run_pytest: RunPytest, write_inventory: WriteInventory
) -> None:
    devices = write_inventory([
        {"name": "nvr-old", "kind": "emulated", "model": "DS-7604NI-E1", "firmware": "V4.20.000"},
        {"name": "nvr-new", "kind": "emulated", "model": "DS-7608NI-K2", "firmware": "V4.21.000"},
        {"name": "cam-spa", "kind": "emulated", "model": "DS-2CD2143G2-I",
         "firmware": "V5.7.10 build 240120"},
    ])
    result = run_pytest("suites", "--collect-only", "-q", "--devices", str(devices))
    assert result.returncode == 0, result.stdout + result.stderr
    ids = [line for line in result.stdout.splitlines() if "::" in line]
    below = [i for i in ids if "test_below_threshold_api_answers_not_support" in i]
    assert below == ["suites/test_gating.py::test_below_threshold_api_answers_not_support"
                     "[nvr-old-DS-7604NI-E1-V4.20.000]"]
    reset = {re.search(r"\[(.*?)(-chromium)?\]", i)[1]  # type: ignore[index]
             for i in ids if "test_reset_by_email_in_gui" in i}
    assert reset == {"nvr-new-DS-7608NI-K2-V4.21.000", "cam-spa-DS-2CD2143G2-I-V5.7.10"}
    assert all("[" in i for i in ids), "every suite test runs on a device"


def test_tests_are_grouped_per_device_for_xdist(
    run_pytest: RunPytest, write_inventory: WriteInventory, tmp_path: Path
) -> None:
    devices = write_inventory([
        {"name": "nvr-new", "kind": "emulated", "model": "DS-7608NI-K2", "firmware": "V4.21.000"},
        {"name": "cam-old", "kind": "emulated", "model": "DS-2CD2043G2-I", "firmware": "V5.5.82"},
    ])
    probe = tmp_path / "test_groups.py"
    probe.write_text(
        "import pytest\n"
        "@pytest.fixture\n"
        "def dut(request):\n"
        "    return request.param\n"
        "@pytest.mark.needs(recorder=True)\n"
        "def test_group(dut, request):\n"
        "    mark = request.node.get_closest_marker('xdist_group')\n"
        "    assert mark is not None and mark.kwargs['name'] == dut == 'nvr-new'\n"
    )
    result = run_pytest(*PLUGIN_ARGS, str(probe), "-q", "--devices", str(devices),
                        "--lab", "off", "--collect-only")
    assert "test_group[nvr-new-DS-7608NI-K2-V4.21.000]" in result.stdout, result.stdout
    # The group mark itself, in a run that starts nothing: the probe overrides `dut`.
    result = run_pytest(*PLUGIN_ARGS, str(probe), "-q", "--devices", str(devices),
                        "--lab", "off")
    assert result.returncode == 0 and "1 passed" in result.stdout, result.stdout + result.stderr


def test_one_worker_runs_a_devices_tests_in_the_cheapest_order(
    run_pytest: RunPytest, write_inventory: WriteInventory, tmp_path: Path
) -> None:
    devices = write_inventory([
        {"name": "nvr-new", "kind": "emulated", "model": "DS-7608NI-K2", "firmware": "V4.21.000"},
        {"name": "cam-new", "kind": "emulated", "model": "DS-2CD2143G2-I",
         "firmware": "V5.7.10 build 240120"},
    ])
    probe = tmp_path / "test_order.py"
    probe.write_text(
        "import pytest\n"
        "@pytest.fixture\n"
        "def dut(request):\n"
        "    return request.param\n"
        "@pytest.mark.state('active')\n"
        "@pytest.mark.leaves('locked')\n"
        "def test_lockout(dut): pass\n"
        "@pytest.mark.state('email_reserved')\n"
        "def test_reserved(dut): pass\n"
        "def test_no_device(): pass\n"
        "@pytest.mark.state('inactive')\n"
        "@pytest.mark.leaves('active')\n"
        "def test_activates(dut): pass\n"
        "@pytest.mark.state('inactive')\n"
        "def test_activation_page(dut): pass\n"
    )
    # --dist as pyproject.toml's addopts give it (a file outside the project gets none).
    result = run_pytest(*PLUGIN_ARGS, str(probe), "-v", "-n", "2", "--dist", "loadgroup",
                        "--devices", str(devices), "--lab", "off")
    assert result.returncode == 0, result.stdout + result.stderr
    ran: dict[str, list[tuple[str, str]]] = {}
    for found in re.finditer(r"\[(gw\d)\].*PASSED \S*::(test_\w+)(?:\[(\w+-\w+))?",
                             result.stdout):
        worker, test, device = found.groups()
        ran.setdefault(device or "none", []).append((worker, test))
    expected = ["test_activation_page", "test_activates", "test_reserved", "test_lockout"]
    for device in ("nvr-new", "cam-new"):
        # One worker (xdist's own loadgroup loses the group under pytest 9.2), this order.
        assert len({worker for worker, _test in ran[device]}) == 1, result.stdout
        assert [test for _worker, test in ran[device]] == expected, result.stdout
    assert [test for _worker, test in ran["none"]] == ["test_no_device"]


def test_the_device_of_a_node_id() -> None:
    ids = {"nvr-NI-V4.21.000": "nvr", "nvr-NI-V4.21.000-c1-NI-V4.21.000": "nvr-c1"}
    assert device_in_nodeid("s/t.py::test_a[nvr-NI-V4.21.000-chromium]", ids) == "nvr"
    assert device_in_nodeid("s/t.py::test_a[nvr-NI-V4.21.000-c1-NI-V4.21.000]", ids) == "nvr-c1"
    assert device_in_nodeid("s/t.py::test_a[x-nvr-NI-V4.21.0]", ids) is None
    assert device_in_nodeid("tests/t.py::test_b", ids) is None


def test_a_bad_inventory_is_one_line_and_a_usage_error(
    run_pytest: RunPytest, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("devices:\n  - {name: x, kind: emulated, model: DS-7608NI-K2, firmware: 4.21}\n")
    result = run_pytest("suites", "--collect-only", "-q", "--devices", str(bad))
    assert result.returncode == 4, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and "devices[0].firmware" in errors[0], result.stderr
