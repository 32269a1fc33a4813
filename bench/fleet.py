"""Fleet benchmark: N devices in one emulator process, start time, memory, request latency.

Starts `python -m emulator fleet` as a subprocess with N devices (default 200), then sends
`GET /SDK/activateStatus` from C concurrent clients (default 200) spread over the devices,
a bounded number of requests in all; each client pauses --pace-ms between its requests
(default 100 ms, as a GUI or probe polls; 0 measures saturation, where closed-loop queueing
makes latency = clients / throughput). Prints a table and, as its LAST line, one JSON object
with the figures and the targets (p99 <= 50 ms, <= 1.5 MB RSS per device).

    bench/fleet                      # 200 devices, 200 clients, 4000 requests
    bench/fleet --pace-ms 0          # clients back-to-back: saturation throughput
    bench/fleet --devices 5 --requests 50 --clients 10     # smoke mode
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil

REPO = Path(__file__).resolve().parent.parent
TARGET_P99_MS = 50.0
TARGET_RSS_MB_PER_DEVICE = 1.5
MODELS = [("DS-2CD2143G2-I", "V5.6.3"), ("DS-2CD2043G2-I", "V5.7.10 build 240120"),
          ("DS-7608NI-K2", "V4.21.000"), ("DS-7204HQHI-K1", "V4.2.00"),
          ("DS-7208HGHI-F1", "V3.4.89")]
READY_TIMEOUT_S = 120.0


def _config(n: int, state_dir: Path) -> dict[str, Any]:
    return {"host": "127.0.0.1", "state_dir": str(state_dir),
            "cloud": {"http_port": 0, "smtp_port": 0},
            "lab_controller": {"ssh_port": 0, "password_env": "BENCH_LABCTL_PASSWORD"},
            "devices": [{"name": f"bench-{i:03d}", "model": MODELS[i % len(MODELS)][0],
                         "firmware": MODELS[i % len(MODELS)][1]} for i in range(n)]}


def _start_fleet(config_path: Path) -> tuple[subprocess.Popen[str], dict[str, Any], float,
                                             str]:
    env = {**os.environ, "BENCH_LABCTL_PASSWORD": secrets.token_hex(8)}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "emulator", "fleet", str(config_path)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    box: dict[str, str] = {}

    def read() -> None:
        assert proc.stdout is not None and proc.stderr is not None
        box["ready"] = proc.stdout.readline()
        box["note"] = proc.stderr.readline()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(READY_TIMEOUT_S)
    elapsed = time.perf_counter() - started
    if not box.get("ready"):
        proc.kill()
        _out, err = proc.communicate(timeout=10)
        raise SystemExit(f"bench: fleet not ready within {READY_TIMEOUT_S:.0f}s: "
                         f"{err.strip()[-500:]}")
    reader.join(5)
    return proc, json.loads(box["ready"]), elapsed, box.get("note", "")


async def _load(urls: list[str], clients: int, requests: int,
                pace_ms: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(requests))
    timeout = aiohttp.ClientTimeout(total=10)
    connector = aiohttp.TCPConnector(limit=clients, limit_per_host=0)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def client(k: int) -> None:
            nonlocal errors
            if pace_ms:
                # Pollers are not synchronised: spread the first requests over one pause.
                await asyncio.sleep(pace_ms / 1000 * k / clients)
            for i in counter:
                url = urls[(i + k) % len(urls)] + "/SDK/activateStatus"
                t0 = time.perf_counter()
                try:
                    async with session.get(url) as r:
                        await r.read()
                        if r.status != 200:
                            errors += 1
                            continue
                except (aiohttp.ClientError, TimeoutError):
                    errors += 1
                    continue
                latencies.append((time.perf_counter() - t0) * 1000)
                if pace_ms:
                    await asyncio.sleep(pace_ms / 1000)

        async def warm(url: str) -> None:
            async with session.get(url + "/SDK/activateStatus") as r:
                await r.read()

        # Warm the connections so the figures are per request, not per TCP handshake.
        await asyncio.gather(*(warm(u) for u in urls[:clients]), return_exceptions=True)
        await asyncio.gather(*(client(k) for k in range(clients)))
    return latencies, errors


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--pace-ms", type=float, default=100.0,
                        help="think time of each client between requests, like a GUI or "
                             "probe polling (default 100; 0 = back-to-back saturation)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        config_path = Path(tmp) / "fleet.json"
        config_path.write_text(json.dumps(_config(args.devices, Path(tmp) / "state")))
        proc, info, start_s, note = _start_fleet(config_path)
        try:
            urls = [d["http"] for d in info["devices"]]
            time.sleep(0.5)  # let the process settle before reading its memory
            server = psutil.Process(proc.pid)
            rss = server.memory_info().rss
            cpu0, own0 = sum(server.cpu_times()[:2]), time.process_time()
            t0 = time.perf_counter()
            latencies, errors = asyncio.run(_load(urls, args.clients, args.requests, args.pace_ms))
            wall = time.perf_counter() - t0
            server_cpu = sum(server.cpu_times()[:2]) - cpu0
            client_cpu = time.process_time() - own0
            rss_after = psutil.Process(proc.pid).memory_info().rss
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
    match = re.search(r"devices up in ([0-9.]+) s", note)
    inner = float(match.group(1)) if match else None
    rss_mb = max(rss, rss_after) / 2**20
    per_device = rss_mb / args.devices
    p50, p99 = _percentile(latencies, 0.50), _percentile(latencies, 0.99)
    rows = [
        ("devices", f"{args.devices}", ""),
        ("start, spawn to ready line", f"{start_s:.2f} s", "includes Python imports"),
        ("start, devices up (in process)", f"{inner:.3f} s" if inner is not None else "?", ""),
        ("RSS of the fleet process", f"{rss_mb:.1f} MB", "cloud + lab controller included"),
        ("RSS per device", f"{per_device:.3f} MB", f"target <= {TARGET_RSS_MB_PER_DEVICE} MB"),
        ("requests / clients", f"{len(latencies)} ok, {errors} errors / {args.clients}",
         f"each client pauses {args.pace_ms:g} ms between requests"),
        ("throughput", f"{len(latencies) / wall:.0f} req/s", ""),
        ("CPU per request", f"server {server_cpu / max(len(latencies), 1) * 1e6:.0f} us, "
                            f"client {client_cpu / max(len(latencies), 1) * 1e6:.0f} us", ""),
        ("activateStatus p50", f"{p50:.1f} ms", ""),
        ("activateStatus p99", f"{p99:.1f} ms", f"target <= {TARGET_P99_MS:.0f} ms"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':<24}  note")
    for name, value, note_text in rows:
        print(f"{name:<{width}}  {value:<24}  {note_text}")
    result = {
        "devices": args.devices, "clients": args.clients, "requests": args.requests,
        "pace_ms": args.pace_ms,
        "ok": len(latencies), "errors": errors, "start_s": round(start_s, 3),
        "devices_up_s": inner, "rss_mb": round(rss_mb, 1),
        "rss_mb_per_device": round(per_device, 3), "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2), "throughput_rps": round(len(latencies) / wall, 1),
        "server_cpu_us_per_request": round(server_cpu / max(len(latencies), 1) * 1e6),
        "client_cpu_us_per_request": round(client_cpu / max(len(latencies), 1) * 1e6),
        "targets": {"p99_ms": TARGET_P99_MS, "rss_mb_per_device": TARGET_RSS_MB_PER_DEVICE},
        "met": {"p99": p99 <= TARGET_P99_MS,
                "rss_per_device": per_device <= TARGET_RSS_MB_PER_DEVICE},
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
