"""ISAPI clients nobody here wrote, from PyPI and unchanged, against emulated devices.

`hikvisionapi` (Client and AsyncClient) and `pyhik` (Home Assistant's library: HikCamera
and its ISAPIClient) were written against real cameras and recorders. Each must connect
to an activated emulated camera, NVR and DVR and read what it reads from real firmware:
device info, status, users. Where they disagree with the emulator, the emulator is wrong
(DEVICE-SPEC §10). They try Basic first and fall back to Digest on a 401, so these tests
also hold the device to "one Digest challenge, and a Basic attempt is not a failed login".
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import hikvisionapi
import pytest
import requests
from pyhik.hikvision import HikCamera
from pyhik.isapi import HTTPMethod, ISAPIAuthError, ISAPIClient
from specclient import PASSWORD, activated_client, leaves

USER = "admin"


@dataclass(frozen=True)
class Target:
    url: str
    model: str
    serial: str
    device_type: str


# One device per product line; the NVR answers Digest with SHA-256 (a per-device setting),
# which requests' HTTPDigestAuth speaks as well as MD5.
DEVICES = [
    {"name": "ipc", "model": "DS-2CD2143G2-I", "firmware": "V5.6.3"},
    {"name": "nvr", "model": "DS-7608NI-K2", "firmware": "V4.21.000",
     "digest_algorithm": "SHA-256"},
    {"name": "dvr", "model": "DS-7204HQHI-K1", "firmware": "V4.2.00"},
]


@pytest.fixture(params=[d["name"] for d in DEVICES])
def target(request: pytest.FixtureRequest, fleet_factory: Callable[..., Any]) -> Target:
    """One activated device of a product line (a fleet of its own for each test)."""
    spec = next(d for d in DEVICES if d["name"] == request.param)
    lab = fleet_factory([spec], cloud=False, lab_controller=False)
    entry = lab.entry()
    activated_client(entry["http"], login=False).close()
    device_type = "IPCamera" if spec["name"] == "ipc" else spec["name"].upper()
    return Target(entry["http"], spec["model"], entry["serial"], device_type)


def _users(doc: dict[str, object]) -> list[dict[str, object]]:
    users = doc["UserList"]["User"]  # type: ignore[index]
    return users if isinstance(users, list) else [users]  # type: ignore[return-value]


def test_hikvisionapi_client_reads_info_status_and_users(target: Target) -> None:
    # The constructor itself calls GET /ISAPI/System/status (Basic, then Digest on 401)
    # and raises unless it gets a 200.
    client = hikvisionapi.Client(target.url, USER, PASSWORD, timeout=10)
    info = client.System.deviceInfo(method="get")["DeviceInfo"]
    assert (info["model"], info["serialNumber"], info["deviceType"]) == (
        target.model, target.serial, target.device_type)
    status = client.System.status(method="get")["DeviceStatus"]
    assert int(status["deviceUpTime"]) >= 0 and status["currentDeviceTime"]
    assert [u["userName"] for u in _users(client.Security.users(method="get"))] == ["admin"]


def test_hikvisionapi_client_refuses_a_wrong_password(target: Target) -> None:
    with pytest.raises(requests.HTTPError) as refused:
        hikvisionapi.Client(target.url, USER, "Wrong-Pass1", timeout=10)
    assert refused.value.response.status_code == 401


def test_hikvisionapi_async_client_reads_device_info(target: Target) -> None:
    async def read() -> dict[str, object]:
        client = hikvisionapi.AsyncClient(target.url, USER, PASSWORD, timeout=10)
        return dict(await client.System.deviceInfo(method="get"))

    # A thread of its own: a worker that ran Playwright's sync API before keeps an event
    # loop marked running in this thread, and asyncio.run would refuse.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        info = pool.submit(asyncio.run, read()).result(30)["DeviceInfo"]
    assert info["serialNumber"] == target.serial  # type: ignore[index]


def test_pyhik_camera_initialises(target: Target, caplog: pytest.LogCaptureFixture) -> None:
    # HikCamera reads deviceInfo (Basic, then Digest), then the event triggers, which are
    # out of scope here: the device answers notSupport and pyhik carries on without events.
    parsed = urlparse(target.url)
    with caplog.at_level(logging.DEBUG, logger="pyhik"):
        camera = HikCamera(f"http://{parsed.hostname}", parsed.port, USER, PASSWORD)
    assert camera.get_name in ("IP CAMERA", "Network Video Recorder", "Embedded Net DVR"), \
        caplog.text
    assert isinstance(camera.get_id, str) and len(camera.get_id) > 10, caplog.text


def test_pyhik_isapi_client_reads_info_capabilities_and_users(target: Target) -> None:
    parsed = urlparse(target.url)
    with ISAPIClient(str(parsed.hostname), int(parsed.port or 80), USER, PASSWORD) as client:
        assert client.get_device_serial() == target.serial
        assert client.get_device_model() == target.model
        assert client.get_firmware_version().startswith("V")
        assert client.get_capabilities() is not None
        users = client.request(HTTPMethod.GET, "/ISAPI/Security/users")
        assert [u["userName"] for u in _users(users)] == ["admin"]  # type: ignore[arg-type]
        with pytest.raises(ISAPIAuthError):  # streaming is out of scope: 403 notSupport
            client.request(HTTPMethod.GET, "/ISAPI/Streaming/channels")


def test_a_basic_attempt_is_not_a_failed_login(target: Target) -> None:
    # The clients above try Basic before Digest. A device that counted those attempts
    # would lock out a camera that Home Assistant merely polls with the right password.
    session = requests.Session()
    ok = session.get(f"{target.url}/ISAPI/Security/userCheck", timeout=10,
                     auth=requests.auth.HTTPDigestAuth(USER, PASSWORD))
    assert ok.status_code == 200 and leaves(ok.text)["statusValue"] == "200"
    basic = session.get(f"{target.url}/ISAPI/Security/userCheck", timeout=10,
                        auth=requests.auth.HTTPBasicAuth(USER, "Wrong-Pass1"))
    assert basic.status_code == 401
    assert len(basic.headers.get("WWW-Authenticate", "").split("Digest")) == 2  # one challenge
    refused = session.get(f"{target.url}/ISAPI/Security/userCheck", timeout=10,
                          auth=requests.auth.HTTPDigestAuth(USER, "Wrong-Pass1"))
    assert refused.status_code == 401
    # The default lock allows 7 wrong passwords (spec §5): only the Digest one counted.
    assert leaves(refused.text)["retryLoginTime"] == "6"
    again = session.get(f"{target.url}/ISAPI/Security/userCheck", timeout=10,
                        auth=requests.auth.HTTPDigestAuth(USER, PASSWORD))
    assert again.status_code == 200
