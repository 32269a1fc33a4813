"""Screenshots of the run's reports, taken from a real run of the default lab.

    .venv/bin/python docs/screenshots/report.py

Runs `hil run` on devices.yaml with two changes, so that every verdict shows: the camera
at V5.6.3 plays the `risky_password_accepted` defect (a product defect) and a real NVR
entry at V4.22.005 points at a local server answering HTTP 500 (no verdict). Three
tests a device (-k), then `hil report --single-file`, all in a temporary folder. Then
headless Chromium opens the verdict matrix as a person would, follows the failing test's
link into the Allure report, and writes docs/screenshots/report-matrix.png and
report-tree.png (the report's tree: product line, firmware, device). About 30 s.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from playwright.sync_api import Page, sync_playwright

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[1]
sys.path.insert(0, str(PROJECT / "tests" / "harness"))

import misbehaving_servers as servers  # noqa: E402  (the helpers live with the CLI tests)

HIL = Path(sys.executable).parent / "hil"
CHROMIUM = os.environ.get("HIL_CHROMIUM", "/usr/lib/chromium/chromium")
TESTS = ("risky_password_refused_by_api or at_or_above_threshold_api_offers_reset "
         "or below_threshold_api_answers_not_support")
PASSWORD_ENV = "HIL_SCREENSHOT_PASSWORD"


def inventory(folder: Path, broken_url: str) -> Path:
    """devices.yaml with one defect and one device that is not a device."""
    data = yaml.safe_load((PROJECT / "devices.yaml").read_text())
    for device in data["devices"]:
        if device["name"] == "ipc-v5.6.3":
            device["defects"] = ["risky_password_accepted"]
    data["devices"].append({
        "name": "nvr-v4.22.005-b", "kind": "real", "model": "DS-7616NI-I2",
        "firmware": "V4.22.005", "base_url": broken_url, "password_env": PASSWORD_ENV,
    })
    data["leases"] = {"kind": "file", "directory": str(folder / "leases")}
    path = folder / "devices.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def hil(*args: str | Path, cwd: Path) -> None:
    env = {**os.environ, PASSWORD_ENV: "Screenshot-pass-2026x"}
    for variable in ("HIL_DEVICES", "HIL_LAB_DIR", "HIL_REPORTS"):
        env.pop(variable, None)
    subprocess.run([str(HIL), *map(str, args)], cwd=cwd, env=env, check=False,
                   stdout=subprocess.DEVNULL, timeout=900)


def shoot(page: Page, name: str, *, full_page: bool = False) -> None:
    path = HERE / name
    page.screenshot(path=str(path), full_page=full_page)
    print(f"wrote {path.relative_to(PROJECT)}")


def main() -> None:
    broken = servers.http_500()
    with tempfile.TemporaryDirectory(prefix="hil-report-shots-") as tmp:
        folder = Path(tmp)
        devices = inventory(folder, broken.url())
        reports = folder / "reports"
        hil("run", "--devices", devices, "--workdir", folder / "lab", "--output", reports,
            "-n", "2", "-k", TESTS, cwd=folder)
        hil("report", "--single-file", "--output", reports, cwd=folder)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto((reports / "matrix.html").as_uri())
            page.get_by_text("Verdict per product line and firmware").wait_for()
            shoot(page, "report-matrix.png", full_page=True)
            # The failing test's link, followed as a reader would.
            page.locator("td.DEFECT ul.failing a").first.click()
            page.get_by_text("Parameters").first.wait_for(timeout=30_000)
            page.set_viewport_size({"width": 1400, "height": 1500})
            page.goto((reports / "allure-report" / "index.html").as_uri())
            page.get_by_text('Environment: "dvr-k V4.1.70"').wait_for(timeout=30_000)
            for group in ("dvr-k", "V4.1.70", "dvr-k-v4.1.70"):
                page.get_by_text(group, exact=True).first.click()
            page.get_by_placeholder("Search tests").evaluate("field => field.scrollIntoView()")
            shoot(page, "report-tree.png")
            browser.close()
    broken.stop()


if __name__ == "__main__":
    main()
