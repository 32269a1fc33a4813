"""Cheap health checks of a running lab: is each address answering what it should?"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from harness.clients.isapi import IsapiClient
from harness.errors import failure_kind
from harness.lab.endpoints import LabEndpoints

CHECK_TIMEOUT: Final = 3.0


@dataclass(frozen=True)
class Health:
    """One lab part: what it is, where it answers, and whether it does."""

    part: str
    address: str
    ok: bool
    detail: str


def banner(host: str, port: int, timeout: float = CHECK_TIMEOUT) -> str:
    """The first line a TCP service sends (SMTP 220, SSH-2.0); raises OSError if none."""
    with socket.create_connection((host, port), timeout=timeout) as conn:
        conn.settimeout(timeout)
        data = conn.recv(256)
    if not data:
        raise ConnectionError(f"{host}:{port} closed the connection without a greeting")
    return data.decode("latin-1").splitlines()[0].strip()


def _service(part: str, host: str | None, port: int | None, expect: str) -> Health:
    if host is None or port is None:
        return Health(part, "-", False, "not in lab.json")
    address = f"{host}:{port}"
    try:
        greeting = banner(host, port)
    except OSError as exc:
        return Health(part, address, False, f"no greeting within {CHECK_TIMEOUT:g} s ({exc})")
    ok = greeting.startswith(expect)
    return Health(part, address, ok, greeting[:60] if ok else f"unexpected greeting {greeting!r}")


def _http(part: str, url: str | None) -> Health:
    if url is None:
        return Health(part, "-", False, "not in lab.json")
    split = urlsplit(url)
    try:
        with socket.create_connection(
            (split.hostname or "127.0.0.1", split.port or 80), timeout=CHECK_TIMEOUT
        ):
            pass
    except OSError as exc:
        return Health(part, url, False, f"no connection within {CHECK_TIMEOUT:g} s ({exc})")
    return Health(part, url, True, "accepting connections")


def device_health(name: str, url: str) -> Health:
    """A device answers `/SDK/activateStatus` (no login, so no lockout risk)."""
    try:
        with IsapiClient(url, timeout=CHECK_TIMEOUT, verify=False) as client:
            active = client.activated()
    except Exception as exc:  # any failure is the answer, classified by kind
        return Health(name, url, False, f"{failure_kind(exc)}: {exc}")
    return Health(name, url, True, "active" if active else "not activated")


def lab_health(endpoints: LabEndpoints) -> list[Health]:
    """Health of the mail sink, cloud, lab controller and every emulated device."""
    parts = [
        _service("mail sink (SMTP)", endpoints.smtp_host, endpoints.smtp_port, "220"),
        _http("vendor cloud (HTTP)", endpoints.cloud_http),
        _service(
            "vendor cloud (recovery SMTP)",
            endpoints.cloud_smtp_host,
            endpoints.cloud_smtp_port,
            "220",
        ),
        _service(
            "lab controller (SSH)",
            endpoints.lab_controller_host,
            endpoints.lab_controller_ssh_port,
            "SSH-",
        ),
    ]
    parts += [device_health(d.name, d.http) for d in endpoints.devices]
    return parts
