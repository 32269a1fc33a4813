"""`hil gate`'s verdict for each failure kind (issue 13 item 5), through the real command:
a firmware regression on a product line at its threshold is a product defect (exit 1),
also beside a device that gives no verdict; answers that are not a device's (HTTP 500
without a ResponseStatus, garbage, a proxy's page, a dripping peer, a certificate the
inventory does not pin) and a closed port give no verdict (exit 2), never a defect.

Bounded by the subprocess timeout, not by timed assertions; one gate run per verdict."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import misbehaving_servers as servers
from cli_helpers import emulated, hil, write_inventory

NVR = ("DS-7608NI-K2", "V4.21.000")  # the NVR line's reset threshold (spec §1)
PASSWORD_ENV = "HIL_GATE_VERDICT_PASSWORD"
PASSWORD = "Qa-verdict-2026x"
# The drip device's bring-up is retried (infrastructure) three times, each cut at the
# 10 s request deadline: well within this, which a wait for ever is not.
GATE_LIMIT_S = 240
AT_THRESHOLD_TEST = "at_or_above_threshold_api_offers_reset"


def real_device(name: str, base_url: str, **extra: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "name": name, "kind": "real", "model": NVR[0], "firmware": NVR[1],
        "base_url": base_url, "password_env": PASSWORD_ENV,
    }
    return {**entry, **extra}


def gate(tmp_path: Path, devices: list[dict[str, object]]) -> subprocess.CompletedProcess[str]:
    inventory = write_inventory(tmp_path, "devices.yaml", devices)
    return hil(
        "gate", "--devices", inventory, "--workdir", tmp_path / "lab",
        "--output", tmp_path / "out", "--firmware", NVR[1], "-k", AT_THRESHOLD_TEST,
        cwd=tmp_path, env={PASSWORD_ENV: PASSWORD}, timeout=GATE_LIMIT_S,
    )


def device_verdicts(tmp_path: Path) -> dict[str, dict[str, object]]:
    data = json.loads((tmp_path / "out" / "gate-verdict.json").read_text())
    return {d["device"]: d for d in data["devices"]}


def assert_clean_exit(result: subprocess.CompletedProcess[str], code: int) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    assert len([ln for ln in result.stderr.splitlines() if ln.strip()]) <= 2, result.stderr
    assert "Traceback" not in output
    assert PASSWORD not in output


def test_threshold_regression_is_a_defect_beside_a_no_verdict_device(
    tmp_path: Path, started: list[servers.Server]
) -> None:
    broken = servers.http_500()
    started.append(broken)
    result = gate(tmp_path, [
        emulated("verdict-lost-nvr", *NVR, "feature_lost_at_threshold"),
        real_device("verdict-500", broken.url()),
    ])
    assert_clean_exit(result, 1)
    assert f"GATE DEFECT for {NVR[1]}: exit 1" in result.stdout
    found = device_verdicts(tmp_path)
    lost, answered_500 = found["verdict-lost-nvr"], found["verdict-500"]
    assert lost["verdict"] == "DEFECT", lost
    assert str(lost["defects"]).count("product-defect:") == 1, lost
    # The 500 is not the device's answer: no verdict, not a second defect.
    assert answered_500["verdict"] == "NO_VERDICT", answered_500
    blocked = answered_500["blocked"]
    assert isinstance(blocked, list) and len(blocked) == 1
    assert blocked[0].startswith("infrastructure: "), blocked
    assert "without a ResponseStatus" in blocked[0]


def test_answers_that_are_not_a_device_give_no_verdict(
    tmp_path: Path, started: list[servers.Server]
) -> None:
    tls, pinned = servers.wrong_certificate(tmp_path / "tls")
    started += [
        broken := servers.http_500(),
        noise := servers.garbage(),
        proxy := servers.proxy_page(),
        drip := servers.dripping(),
        tls,
    ]
    expected = {
        "verdict-500": ("infrastructure", "answered HTTP 500 without a ResponseStatus"),
        "verdict-garbage": ("infrastructure", "answered something that is not HTTP"),
        "verdict-proxy": ("infrastructure", "answered HTTP 502 without a ResponseStatus"),
        "verdict-drip": ("infrastructure", "no complete answer within the 10 s deadline"),
        "verdict-tls": ("infrastructure", "TLS verification failed"),
        "verdict-closed": ("device", "connection refused"),
    }
    result = gate(tmp_path, [
        real_device("verdict-500", broken.url()),
        real_device("verdict-garbage", noise.url()),
        real_device("verdict-proxy", proxy.url()),
        real_device("verdict-drip", drip.url()),
        real_device("verdict-tls", tls.url(), tls={"ca_file": str(pinned)}),
        real_device("verdict-closed", f"http://127.0.0.1:{servers.closed_port()}"),
    ])
    assert_clean_exit(result, 2)
    assert f"GATE NO_VERDICT for {NVR[1]}: exit 2" in result.stdout
    found = device_verdicts(tmp_path)
    for name, (kind, seen) in expected.items():
        device = found[name]
        assert device["verdict"] == "NO_VERDICT" and device["defects"] == [], device
        blocked = device["blocked"]
        assert isinstance(blocked, list) and len(blocked) == 1, device
        assert blocked[0].startswith(f"{kind}: "), (name, blocked)
        assert seen in blocked[0], (name, blocked)
        assert "\n" not in blocked[0]
