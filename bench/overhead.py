"""Harness overhead: the reset-by-reserved-email flow through the harness versus a bare
Playwright script doing the same clicks and reads, on one device of each GUI generation.

Arm "harness": the suite's own test, `pytest suites/test_reset_by_email.py::
test_reset_by_email_in_gui[<device>]` with --alluredir, as bin/run runs it (lease, state
probe, flows, evidence machinery: trace recorded and dropped on a pass, exchange logs,
secret masking, Allure steps, the checks that the old password is refused and the new one
works). Arm "bare": `bench/overhead.py --bare`, a plain script: Chromium, the same GUI
clicks, QR screenshot decoded with zxing-cpp, the cloud POST, the Maildir polled for the
code, the new password, a GUI login, and the same two Digest checks with httpx.

Every run gets a fresh device of the same kind, brought (untimed, by the harness's state
graph) to "e-mail reserved", the state the test asks for. Runs alternate harness/bare.
Measured per run, from outside: the process's wall and CPU time (the process tree: Python,
Playwright's driver, Chromium), and from inside: the test itself (this file loaded as a
pytest plugin, `-p overhead`: wall and process-tree CPU from before the test's setup, which
starts the driver and the browser, to after its teardown, which closes them) versus the
bare script's flow (from the driver's start to the browser's close). The "test" ratio is
the overhead a run of many tests pays per test; the "process" ratio adds the one-off start
of pytest and its plugins.

    bench/overhead                  # 3 rounds per generation
    bench/overhead --rounds 1       # smoke
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

if TYPE_CHECKING:
    from playwright.sync_api import Page

TARGET_RATIO: Final = 1.10
CPU_FILE_ENV: Final = "BENCH_OVERHEAD_TEST_FILE"
CODE_RE: Final = re.compile(r"Verification code:\s*([A-Za-z0-9]+)")
APP_VERSION: Final = "3.5.4"
STEP_MS: Final = 30_000

# The bare script's selectors: the page objects' own (their tables, {text:KEY} filled),
# resolved in the benchmark's process and handed to the script, so that the bare arm
# clicks the same elements without paying the harness's import.
_BARE_ELEMENTS: Final = {
    "login": {"login_form": "form", "login_username": "username",
              "login_password": "password", "login_submit": "submit",
              "logged_in": "logged_in", "forgot": "forgot"},
    "forgot_password": {"method_step": "method_step", "method_next": "method_next",
                        "privacy_step": "privacy_step", "privacy_accept": "privacy_accept",
                        "privacy_next": "privacy_next", "qr": "qr_loaded", "code": "code",
                        "code_next": "code_next", "password_step": "password_step",
                        "password": "password", "confirm": "confirm", "ok": "ok",
                        "done": "done"},
}


def bare_selectors(generation: str) -> dict[str, str]:
    """The selectors the bare script uses on `generation`'s GUI, from the page objects."""
    from harness.catalogue import GuiGeneration
    from harness.gui import GuiTarget, pages_for

    target = GuiTarget("bench", "http://127.0.0.1", GuiGeneration(generation))
    pages = pages_for(target)
    found: dict[str, str] = {}
    for role, names in _BARE_ELEMENTS.items():
        page = getattr(pages, role)(None, target)
        found.update({key: page.sel(name) for key, name in names.items() if page.has(name)})
    wizard = pages.forgot_password(cast("Page", None), target)  # only its table is read
    found["method"] = (wizard.sel("method_email") if wizard.has("method_email")
                       else wizard.sel("methods") + "[value='email']")
    return found


# --- CPU of a process tree, and the plugin that measures the harness's test ---------------


def tree_cpu() -> float:
    """CPU seconds of this process and every live descendant (Playwright's driver,
    Chromium and its renderers), each with its reaped children."""
    import psutil

    me = psutil.Process()
    total = 0.0
    for proc in [me, *me.children(recursive=True)]:
        try:
            t = proc.cpu_times()
        except psutil.Error:
            continue  # exited between the listing and the reading
        total += t.user + t.system + t.children_user + t.children_system
    return total


_TEST_START: dict[str, float] = {}


def pytest_runtest_logstart(nodeid: str, location: object) -> None:
    """Loaded as a plugin (`-p overhead`): the test's start (before its setup)."""
    if os.environ.get(CPU_FILE_ENV):
        _TEST_START[nodeid] = time.perf_counter()
        _TEST_START[nodeid + "#cpu"] = tree_cpu()


def pytest_runtest_logfinish(nodeid: str, location: object) -> None:
    """After the test's teardown: its wall and process-tree CPU, one JSON line."""
    path = os.environ.get(CPU_FILE_ENV)
    if path and nodeid in _TEST_START:
        line = {"nodeid": nodeid, "wall_s": time.perf_counter() - _TEST_START[nodeid],
                "cpu_s": tree_cpu() - _TEST_START[nodeid + "#cpu"]}
        with open(path, "a") as handle:
            handle.write(json.dumps(line) + "\n")


# --- the bare arm ---------------------------------------------------------------------------


def _wait_code(maildir: Path, to: str, since: float, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in (maildir / "new").iterdir():
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if float(message.get("X-HIL-Received-At", "0")) < since:
                continue
            if to.lower() not in str(message.get("X-HIL-Envelope-To", "")).lower():
                continue
            body = message.get_body(preferencelist=("plain",))
            found = CODE_RE.search(body.get_content() if body is not None else "")
            if found:
                return found.group(1)
        time.sleep(0.2)
    raise SystemExit(f"bare: no code mail to {to} in {maildir} within {timeout:g} s")


def bare_flow(job: dict[str, Any]) -> tuple[float, float]:
    """The reset flow as a plain Playwright script; wall and process-tree CPU seconds from
    the driver's start to the browser's close."""
    import io

    import httpx
    import zxingcpp
    from PIL import Image
    from playwright.sync_api import sync_playwright

    s: dict[str, str] = job["selectors"]
    base, old, new = job["base_url"].rstrip("/"), job["old"], job["new"]
    t0, cpu0 = time.perf_counter(), tree_cpu()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=job["chromium"])
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(STEP_MS)
        page.goto(base + "/")
        page.locator(s["login_form"]).first.wait_for(state="visible")
        page.locator(s["forgot"]).first.click()
        page.locator(s["method_step"]).first.wait_for(state="visible")
        page.locator(s["method"]).first.click()
        page.locator(s["method_next"]).first.click()
        page.locator(s["privacy_step"]).first.wait_for(state="visible")
        page.locator(s["privacy_accept"]).first.check()
        page.locator(s["privacy_next"]).first.click()
        qr = page.locator(s["qr"]).first
        page.wait_for_function("i => i.complete && i.naturalWidth > 0",
                               arg=qr.element_handle())
        png = qr.screenshot()
        image = Image.open(io.BytesIO(png)).convert("RGB")
        qr_text = zxingcpp.read_barcodes(image)[0].text
        since = time.time() - 1.0
        answer = httpx.post(job["cloud"] + "/api/v1/device-password-reset", json={"qr": qr_text},
                            headers={"X-App-Version": APP_VERSION}, timeout=10)
        if answer.status_code != 202:
            raise SystemExit(f"bare: cloud answered {answer.status_code}")
        code = _wait_code(Path(job["maildir"]), job["email"], since, 60)
        page.locator(s["code"]).first.fill(code)
        page.locator(s["code_next"]).first.click()
        page.locator(s["password_step"]).first.wait_for(state="visible")
        page.locator(s["password"]).filter(visible=True).first.fill(new)
        page.locator(s["confirm"]).filter(visible=True).first.fill(new)
        page.locator(s["ok"]).filter(visible=True).first.click()
        page.locator(s["done"]).first.wait_for(state="visible")
        page.locator(s["login_form"]).first.wait_for(state="visible")
        if "login_username" in s:
            page.locator(s["login_username"]).filter(visible=True).first.fill("admin")
        page.locator(s["login_password"]).filter(visible=True).first.fill(new)
        page.locator(s["login_submit"]).filter(visible=True).first.click()
        page.locator(s["logged_in"]).first.wait_for(state="visible")
        info = base + "/ISAPI/System/deviceInfo"
        if httpx.get(info, auth=httpx.DigestAuth("admin", old), timeout=10).status_code != 401:
            raise SystemExit("bare: the old password still logs in")
        if httpx.get(info, auth=httpx.DigestAuth("admin", new), timeout=10).status_code != 200:
            raise SystemExit("bare: the new password does not log in")
        context.close()
        browser.close()
        return time.perf_counter() - t0, tree_cpu() - cpu0


# --- the benchmark --------------------------------------------------------------------------


@dataclass
class Sample:
    """One run of one arm on one device."""

    arm: str
    generation: str
    device: str
    wall_s: float
    cpu_s: float
    inner_s: float
    inner_cpu_s: float
    ok: bool


def _timed(command: list[str], stdin: str | None, cwd: Path, env: dict[str, str] | None = None
           ) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    from _common import timed_run

    return timed_run(command, timeout=600, cwd=cwd, stdin=stdin, env=env)


def _ratio(a: float, b: float) -> float:
    return a / b if b and b == b else float("nan")


def _test_figures(path: Path) -> tuple[float, float]:
    """Wall and CPU of the one test the plugin measured (NaN when it measured none)."""
    if not path.is_file():
        return float("nan"), float("nan")
    line = json.loads(path.read_text().splitlines()[-1])
    return float(line["wall_s"]), float(line["cpu_s"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3,
                        help="harness/bare pairs per GUI generation (default 3)")
    parser.add_argument("--latency-ms", type=int, default=0,
                        help="device latency; 0 (default) shows the harness's own cost")
    parser.add_argument("--devices", nargs="*", default=None, metavar="NAME",
                        help="devices of devices.yaml to copy, one per GUI generation "
                             "(default nvr-v4.21.000 ipc-v5.6.0 ipc-v5.7.10)")
    parser.add_argument("--bare", action="store_true",
                        help="internal: run the bare flow for the job on stdin")
    args = parser.parse_args()
    if args.bare:
        wall, cpu = bare_flow(json.loads(sys.stdin.read()))
        print(json.dumps({"flow_s": wall, "flow_cpu_s": cpu}))
        return 0
    return _benchmark(args.rounds, args.latency_ms, args.devices)


def _benchmark(rounds: int, latency_ms: int, chosen: list[str] | None) -> int:
    from _common import (
        CHROMIUM,
        ONE_PER_GENERATION,
        REPO,
        derived_devices,
        lab_for,
        median,
        print_result,
        print_table,
        running_lab,
    )

    from harness.lab.dut import device_id
    from harness.lab.states import Quarantine, TransitionLog, bring

    bases = tuple(chosen) if chosen else ONE_PER_GENERATION
    here = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parent),
                                         os.environ.get("PYTHONPATH")]))
    samples: list[Sample] = []
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp:
        work = Path(tmp)
        devices = derived_devices(work / "devices.yaml", latency_ms=latency_ms,
                                  names=bases, copies=2 * rounds)
        workdir = work / "lab"
        with running_lab(devices, workdir) as (endpoints, _start):
            lab = lab_for(devices, workdir, endpoints)
            log, quarantine = TransitionLog(workdir, "bench-prep"), Quarantine(workdir)
            for k in range(2 * rounds):
                for g, base in enumerate(bases):
                    name = base if k == 0 else f"{base}-c{k}"
                    dut = lab.device(name)
                    bring(dut, "email_reserved", log=log, quarantine=quarantine)
                    # Alternate A/B per generation, and across generations within a round.
                    arm = "harness" if (k + g) % 2 == 0 else "bare"
                    if arm == "harness":
                        measured = work / f"test-{name}.jsonl"
                        node = (f"suites/test_reset_by_email.py::test_reset_by_email_in_gui"
                                f"[{device_id(dut.entry)}-chromium]")
                        wall, cpu, proc = _timed(
                            [sys.executable, "-m", "pytest", node, "--devices", str(devices),
                             "--lab-workdir", str(workdir), "-p", "no:cacheprovider", "-q",
                             "--alluredir", str(work / "allure"), "-p", "overhead"],
                            None, REPO, {CPU_FILE_ENV: str(measured), "PYTHONPATH": here})
                        ok = proc.returncode == 0 and "1 passed" in proc.stdout
                        inner, inner_cpu = _test_figures(measured)
                    else:
                        new = dut.new_password()
                        job = {"generation": dut.generation.value, "base_url": dut.base_url,
                               "cloud": endpoints.cloud_http, "maildir": endpoints.maildir,
                               "email": dut.email, "old": dut.password, "new": new,
                               "chromium": CHROMIUM,
                               "selectors": bare_selectors(dut.generation.value)}
                        wall, cpu, proc = _timed(
                            [sys.executable, str(Path(__file__).resolve()), "--bare"],
                            json.dumps(job), REPO)
                        ok = proc.returncode == 0
                        bare = (json.loads(proc.stdout.strip().splitlines()[-1])
                                if ok else {})
                        inner = float(bare.get("flow_s", "nan"))
                        inner_cpu = float(bare.get("flow_cpu_s", "nan"))
                        if ok:
                            dut.remember_password(new)
                    if not ok:
                        print(f"{arm} run on {name} failed:\n{proc.stdout[-1500:]}"
                              f"{proc.stderr[-1500:]}", file=sys.stderr)
                    samples.append(Sample(arm, dut.generation.value, name, wall, cpu, inner,
                                          inner_cpu, ok))

    rows: list[list[object]] = []
    figures: dict[str, dict[str, float]] = {}
    generations = sorted({s.generation for s in samples})
    for gen in [*generations, "all"]:
        runs = [s for s in samples if s.ok and (gen == "all" or s.generation == gen)]
        h = [s for s in runs if s.arm == "harness"]
        b = [s for s in runs if s.arm == "bare"]
        f = {
            "harness_wall_s": median([s.wall_s for s in h]), "bare_wall_s": median(
                [s.wall_s for s in b]),
            "harness_cpu_s": median([s.cpu_s for s in h]), "bare_cpu_s": median(
                [s.cpu_s for s in b]),
            "harness_test_s": median([s.inner_s for s in h]), "bare_flow_s": median(
                [s.inner_s for s in b]),
            "harness_test_cpu_s": median([s.inner_cpu_s for s in h]),
            "bare_flow_cpu_s": median([s.inner_cpu_s for s in b]),
        }
        f["ratio_process_wall"] = _ratio(f["harness_wall_s"], f["bare_wall_s"])
        f["ratio_process_cpu"] = _ratio(f["harness_cpu_s"], f["bare_cpu_s"])
        f["ratio_test_wall"] = _ratio(f["harness_test_s"], f["bare_flow_s"])
        f["ratio_test_cpu"] = _ratio(f["harness_test_cpu_s"], f["bare_flow_cpu_s"])
        figures[gen] = {k: round(v, 3) for k, v in f.items()}
        rows.append([gen, f"{len(h)}/{len(b)}", f"{f['harness_wall_s']:.2f}",
                     f"{f['bare_wall_s']:.2f}", f"{f['ratio_process_wall']:.2f}",
                     f"{f['harness_cpu_s']:.2f}", f"{f['bare_cpu_s']:.2f}",
                     f"{f['ratio_process_cpu']:.2f}", f"{f['harness_test_s']:.2f}",
                     f"{f['bare_flow_s']:.2f}", f"{f['ratio_test_wall']:.2f}",
                     f"{f['harness_test_cpu_s']:.2f}", f"{f['bare_flow_cpu_s']:.2f}",
                     f"{f['ratio_test_cpu']:.2f}"])
    print(f"reset by reserved e-mail in the GUI, latency {latency_ms} ms, {rounds} round(s) "
          "per generation, medians; process = the whole pytest / script process, test = "
          "the test (setup to teardown) / the bare flow (driver start to browser close)")
    print_table(["generation", "runs h/b", "h wall s", "b wall s", "wall ratio", "h CPU s",
                 "b CPU s", "CPU ratio", "h test s", "b flow s", "test ratio",
                 "h test CPU", "b flow CPU", "test CPU ratio"], rows)
    overall = figures["all"]
    print_result({
        "benchmark": "overhead", "rounds": rounds, "latency_ms": latency_ms,
        "failed_runs": sum(not s.ok for s in samples), "figures": figures,
        "ratio_process_wall": overall["ratio_process_wall"],
        "ratio_process_cpu": overall["ratio_process_cpu"],
        "ratio_test_wall": overall["ratio_test_wall"],
        "ratio_test_cpu": overall["ratio_test_cpu"],
        "samples": [{"arm": s.arm, "device": s.device, "wall_s": round(s.wall_s, 3),
                     "test_s": round(s.inner_s, 3), "test_cpu_s": round(s.inner_cpu_s, 3),
                     "ok": s.ok} for s in samples],
        "target": {"ratio_max": TARGET_RATIO},
        "met": {"process_wall": overall["ratio_process_wall"] <= TARGET_RATIO,
                "process_cpu": overall["ratio_process_cpu"] <= TARGET_RATIO,
                "test_wall": overall["ratio_test_wall"] <= TARGET_RATIO,
                "test_cpu": overall["ratio_test_cpu"] <= TARGET_RATIO},
    })
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(main())
