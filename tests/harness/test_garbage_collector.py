"""The harness's pytest processes keep their imported object graph out of the garbage
collector's reach once collection is done (fixtures/lab.py, for speed), and still free
all later garbage: nothing allocated after that is frozen, even at exit, so no native
extension reports leaked objects when the process ends."""

from __future__ import annotations

from pathlib import Path

from test_report import PLUGIN_ARGS, RunPytest

REPO = Path(__file__).resolve().parents[2]

LEAVES_CYCLES = '''
import atexit
import gc
import io

import segno
import zxingcpp
from PIL import Image


def _decoded_in_a_cycle():
    buffer = io.BytesIO()
    segno.make("hil").save(buffer, kind="png", scale=5)
    buffer.seek(0)
    found = zxingcpp.read_barcodes(Image.open(buffer).convert("RGB"))
    cycle = {"found": found}
    cycle["self"] = cycle  # garbage only the collector frees
    return found[0].text


def test_decoded_barcodes_left_in_reference_cycles():
    assert gc.get_freeze_count() > 0  # the import-time graph is frozen by now
    frozen = gc.get_freeze_count()
    assert _decoded_in_a_cycle() == "hil"
    assert gc.get_freeze_count() == frozen  # nothing the test made is frozen
    # One more at exit, after pytest's own last collection (exit handlers run last in,
    # first out, so this one runs before any the run registered earlier).
    atexit.register(_decoded_in_a_cycle)
'''


def test_the_run_freezes_the_imports_and_frees_all_later_garbage(
    run_pytest: RunPytest, tmp_path: Path
) -> None:
    test_file = tmp_path / "test_cycles.py"
    test_file.write_text(LEAVES_CYCLES)
    # The harness's fixture modules as plugins, without a lab.
    result = run_pytest(*PLUGIN_ARGS, "--rootdir", str(tmp_path), "-c", "/dev/null", "-q",
                        "--lab", "off", "--devices", str(REPO / "devices.yaml"),
                        "--lab-workdir", str(tmp_path / "lab"), str(test_file), timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "1 passed" in result.stdout
    # Had the run frozen the collector at exit too, the last cycle would never be freed
    # and nanobind (under zxing-cpp) would report its Barcode as leaked.
    assert "nanobind" not in output and "leaked" not in output, output
