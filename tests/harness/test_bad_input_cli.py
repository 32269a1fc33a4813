"""Issue 14's bad-input matrix, through the real commands (`hil`, `python -m emulator`):
every careless or hostile input ends with the documented exit status, at most two lines
on stderr naming the file and field (with its line) or the option, and no traceback,
within a bounded time (the subprocess timeout). None of these starts a lab: what a
selection would run is checked by collecting only. The inventory cases of
test_inventory_bad_input.py are the other part of the matrix.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pytest
from cli_helpers import HIL, PROJECT

from harness.lab.leases import FileLeaseBackend

BOUND_S: Final = 60  # generous for 2 busy cores; the failure is a hang, not a slow line
NVR: Final = "{name: nvr1, kind: emulated, model: DS-7608NI-K2, firmware: V4.21.000"
OK_INVENTORY: Final = f"devices:\n  - {NVR}}}\n"
REAL: Final = ("{name: nvr1, kind: real, model: DS-7608NI-K2, firmware: V4.21.000, "
               "password_env: HIL_NVR_PASSWORD, base_url: 'http://127.0.0.1:8080'")


@dataclass(frozen=True)
class Case:
    """One bad input: the command (`{inv}`: the inventory file, `{tmp}`: the test's
    folder), what goes in the inventory file, and what must come out."""

    argv: tuple[str, ...]
    status: int
    says: tuple[str, ...]
    inventory: str | bytes = OK_INVENTORY
    env: dict[str, str] = field(default_factory=dict)


def hil_case(*argv: str, status: int = 2, says: tuple[str, ...] = (),
             inventory: str | bytes = OK_INVENTORY) -> Case:
    return Case((str(HIL), *argv), status, says, inventory)


def emulator_case(*argv: str, status: int = 2, says: tuple[str, ...] = (),
                  inventory: str | bytes = OK_INVENTORY) -> Case:
    return Case((sys.executable, "-m", "emulator", *argv), status, says, inventory)


def listed(body: str | bytes, *says: str) -> Case:
    """`hil devices list` of an inventory that must be refused, naming devices.yaml."""
    return hil_case("devices", "list", "--devices", "{inv}", says=("devices.yaml", *says),
                    inventory=body)


def device(extra: str) -> str:
    return f"devices:\n  - {NVR}, {extra}}}\n"


CASES: Final[dict[str, Case]] = {
    # --- issue 14 item 7: unknown defects at inventory time, with the line
    "unknown defect": listed(
        "devices:\n  - name: nvr1\n    kind: emulated\n    model: DS-7608NI-K2\n"
        "    firmware: V4.21.000\n    defects: [code-reusable, code_reusabel]\n",
        "line 6", "devices[0].defects[1]", "unknown defect 'code_reusabel'",
        "did you mean 'code_reusable'"),
    "unknown defect, nothing close": listed(
        device("defects: [make_coffee]"), "line 2", "devices[0].defects[0]",
        "python -m emulator defects"),
    "defect is not a list": listed(device("defects: 7"), "devices[0].defects",
                                   "expected a list"),
    "unknown defect at --collect-only": Case(
        (sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q",
         str(PROJECT / "suites"), "--devices", "{inv}", "--lab-workdir", "{tmp}/lab"),
        4, ("devices.yaml", "line 2", "devices[0].defects[0]", "unknown defect"),
        device("defects: [no-such-defect]")),
    "unknown defect at hil run": hil_case(
        "run", "--devices", "{inv}", "--workdir", "{tmp}/lab", "-o", "{tmp}/out",
        says=("devices.yaml", "line 2", "devices[0].defects[0]"),
        inventory=device("defects: [no_such_defect]")),
    # --- item 8: a -k expression pytest cannot parse (issue 17: usage mistakes, ours and
    # pytest's, are exit 2 for `hil run` as for `hil gate`, no longer pytest's 4)
    "run -k and or (": hil_case("run", "--devices", "{inv}", "--workdir", "{tmp}/lab",
                                "-o", "{tmp}/out", "-k", "and or (", status=2,
                                says=("bad -k expression 'and or ('", "column 1")),
    "run -k not (": hil_case("run", "--devices", "{inv}", "-k", "not (", status=2,
                             says=("bad -k expression",)),
    "run -k unclosed": hil_case("run", "--devices", "{inv}", "-k", "(a or b", status=2,
                                says=("bad -k expression", "right parenthesis")),
    "gate -k and or (": hil_case("gate", "-f", "V4.21.000", "--devices", "{inv}",
                                 "--workdir", "{tmp}/lab", "-o", "{tmp}/out", "-k", "and or (",
                                 status=2, says=("bad -k expression 'and or ('",)),
    # --- item 9: usage errors as one line
    "unknown command": hil_case("deploy", says=("No such command 'deploy'", "hil --help")),
    "unknown subcommand": hil_case("lab", "explode", says=("No such command 'explode'",)),
    "unknown option": hil_case("devices", "list", "--colour",
                               says=("No such option: --colour", "hil devices list --help")),
    "gate without --firmware": hil_case("gate", says=("Missing option '--firmware'",)),
    "run -n -1": hil_case("run", "-n", "-1", says=("'-n' / '--workers'", "greater than")),
    "run -n lots": hil_case("run", "-n", "lots", says=("'-n' / '--workers'", "integer")),
    "run -n without a value": hil_case("run", "-n", says=("'-n' requires an argument",)),
    "report --port 70000": hil_case("report", "--port", "70000",
                                    says=("'--port'", "65535")),
    "report --port -5": hil_case("report", "--port", "-5", says=("'--port'",)),
    "--devices without a value": hil_case("devices", "list", "--devices",
                                          says=("'--devices' requires an argument",)),
    "run -- --no-such-flag": hil_case(
        "run", "--devices", "{inv}", "--workdir", "{tmp}/lab", "-o", "{tmp}/out", "--",
        "--no-such-flag", status=2, says=("unrecognized arguments: --no-such-flag",)),
    "run -k nonexistent": hil_case(
        "run", "--devices", "{inv}", "--workdir", "{tmp}/lab", "-o", "{tmp}/out",
        "-k", "nonexistent_test_name", status=5,
        says=("nothing selected", "nonexistent_test_name")),
    "run --profile nosuch": hil_case("run", "--profile", "nosuch", "--devices", "{inv}",
                                     says=("unknown profile 'nosuch'", "profiles.yaml")),
    "run with a missing inventory": hil_case("run", "--devices", "{tmp}/none.yaml",
                                             says=("none.yaml", "cannot read")),
    "gate with a bad firmware": hil_case("gate", "-f", "five", "--devices", "{inv}",
                                         says=("expected a firmware version", "'five'")),
    "report without results": hil_case("report", "--results", "{tmp}/nothing", "-o",
                                       "{tmp}/out", says=("no Allure results",)),
    # --- inventories the loader must refuse in one line (beyond test_inventory_bad_input)
    "empty file": listed("", "expected a mapping with 'devices:'"),
    "a list at the top": listed("- nvr1\n", "expected a mapping", "got list"),
    "no devices": listed("devices: []\n", "devices: expected at least one device"),
    "missing kind": listed("devices:\n  - {name: nvr1, model: DS-7608NI-K2}\n",
                           "devices[0]", "missing 'kind'"),
    "unknown kind": listed("devices:\n  - {name: nvr1, kind: robot}\n", "devices[0]",
                           "got 'robot'"),
    "unknown model": listed("devices:\n  - {name: n, kind: emulated, model: XYZ-1, "
                            "firmware: V4.21.000}\n", "devices[0].model", "unknown model"),
    "bad firmware": listed("devices:\n  - {name: n, kind: emulated, model: DS-7608NI-K2, "
                           "firmware: five}\n", "devices[0].firmware", "'five'"),
    "misspelt field": listed(device("bootseconds: 3"), "devices[0].bootseconds",
                             "unknown field"),
    "negative boot time": listed(device("boot_seconds: -1"), "devices[0].boot_seconds",
                                 "at least 0"),
    "latency in words": listed(device("latency_ms: slow"), "devices[0].latency_ms",
                               "whole number"),
    "bad digest algorithm": listed(device("emulation: {digest_algorithm: MD4}"),
                                   "devices[0].emulation.digest_algorithm"),
    "password_env not a variable name": listed(
        f"devices:\n  - {REAL.replace('HIL_NVR_PASSWORD', 'my password')}}}\n",
        "devices[0].password_env", "environment variable"),
    "missing CA file": listed(f"devices:\n  - {REAL}, tls: {{ca_file: /nonexistent.pem}}}}\n",
                              "devices[0].tls.ca_file", "/nonexistent.pem"),
    "leases of an unknown kind": listed(OK_INVENTORY + "leases: {kind: etcd}\n",
                                        "leases", "'etcd'"),
    "mailbox of an unknown kind": listed(OK_INVENTORY + "mailbox: {kind: pigeon}\n",
                                         "mailbox", "'pigeon'"),
    "a slash in a name": listed("devices:\n  - {name: nvr/1, kind: emulated, model: "
                                "DS-7608NI-K2, firmware: V4.21.000}\n", "devices[0].name"),
    "tab indentation": listed("devices:\n\t- name: nvr1\n", "line 2", "invalid YAML"),
    "unclosed bracket": listed("devices: [\n", "invalid YAML"),
    "not UTF-8": listed(b"devices:\n  - name: nvr\xe91\n", "line 2", "not UTF-8"),
    "a folder as inventory": hil_case("devices", "list", "--devices", "{tmp}",
                                      says=("cannot read the inventory",)),
    # --- the emulator's own command line
    "emulator: unknown command": emulator_case("explode", says=("invalid choice",)),
    "emulator: fleet file missing": emulator_case("fleet", "{tmp}/fleet.yaml",
                                                  says=("fleet.yaml",)),
    "emulator: fleet YAML invalid": emulator_case(
        "fleet", "{inv}", says=("devices.yaml", "not valid YAML", "line 4"),
        inventory="devices:\n  - name: a\n    model: [x\n"),
    "emulator: fleet unknown defect": emulator_case(
        "fleet", "{inv}", says=("devices.yaml", "devices[0].defects[0]", "unknown defect"),
        inventory=("devices:\n  - {name: a, model: DS-7608NI-K2, firmware: V4.21.000, "
                   "defects: [make_coffee]}\n")),
    "emulator: serve on port 70000": emulator_case(
        "serve", "--model", "DS-7608NI-K2", "--firmware", "V4.21.000", "--http-port",
        "70000", says=("--http-port", "port")),
    "emulator: missing defect module": emulator_case(
        "defects", "--defect-module", "{tmp}/nope.py", says=("nope.py", "no such file")),
}


def _run(case: Case, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    inventory = tmp_path / "devices.yaml"
    if isinstance(case.inventory, bytes):
        inventory.write_bytes(case.inventory)
    else:
        inventory.write_text(case.inventory, encoding="utf-8")
    argv = [a.replace("{inv}", str(inventory)).replace("{tmp}", str(tmp_path))
            for a in case.argv]
    environment = {**os.environ, "COLUMNS": "200", **case.env}
    for variable in ("HIL_DEVICES", "HIL_LAB_DIR", "HIL_REPORTS", "HIL_NVR_PASSWORD"):
        environment.pop(variable, None)
    # The bound is the timeout: a hang fails the test, no elapsed time is asserted.
    return subprocess.run(argv, cwd=tmp_path, env=environment, capture_output=True,
                          text=True, timeout=BOUND_S, check=False, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_clear_line(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    result = _run(case, tmp_path)
    shown = result.stdout + result.stderr
    assert result.returncode == case.status, shown[-2000:]
    assert "Traceback" not in shown and "INTERNALERROR" not in shown, shown[-2000:]
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert 1 <= len(lines) <= 2, result.stderr
    for words in case.says:
        assert words in result.stderr, f"{words!r} not in {result.stderr!r}"
    assert not (tmp_path / "lab" / "lab.json").exists(), "a lab was started for nothing"


def test_both_spellings_of_a_defect_are_one_defect(tmp_path: Path) -> None:
    case = hil_case("devices", "list", "--devices", "{inv}", status=0,
                    inventory=device("defects: [code-reusable, lockout_never_engages]"))
    result = _run(case, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "code_reusable" in result.stdout and "code-reusable" not in result.stdout


HOLDER = """
import sys, time
from harness.lab.leases import FileLeaseBackend
lease = FileLeaseBackend(sys.argv[1]).try_acquire("nvr1", "test_dies")
print("held", flush=True)
time.sleep(60)
"""


def test_a_dead_holder_is_not_named(tmp_path: Path) -> None:
    """A worker killed while holding a device: the OS drops its lock, and holder_of must
    no longer name it (the lease file still holds its record)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], cwd=PROJECT,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        backend = FileLeaseBackend(tmp_path)
        assert backend.holder_of("nvr1") == f"test_dies (pid {proc.pid})"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=BOUND_S)
        if proc.stdout is not None:
            proc.stdout.close()
    assert "test_dies" in (tmp_path / "nvr1.lease").read_text(), "the record stays"
    assert backend.holder_of("nvr1") is None
    lease = backend.try_acquire("nvr1", "next test")
    assert lease is not None and backend.holder_of("nvr1") == f"next test (pid {os.getpid()})"
    lease.release()
