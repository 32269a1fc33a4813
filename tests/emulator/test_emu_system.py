"""Spec §8 and the GUI serving contract: reboot, power, factory reset, SSH, static files."""

from __future__ import annotations

import socket
import time

import httpx
import pytest
from specclient import EMAIL, PASSWORD, SpecClient, activated_client, leaves

from harness.waits import wait_until


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


def _wait_up(url: str, timeout: float = 20.0) -> None:
    def answers() -> bool:
        try:
            httpx.get(url + "/SDK/activateStatus", timeout=2)
        except httpx.TransportError:
            return False
        return True

    if wait_until(answers, timeout, f"{url} to answer", interval=0.05):
        return
    raise AssertionError(f"{url} did not answer /SDK/activateStatus within {timeout}s")


@pytest.fixture
def lab(fleet_factory):  # type: ignore[no-untyped-def]
    return fleet_factory([
        # 3 s of boot: a window wide enough to see the refused connections on a busy machine.
        {"name": "cam", "model": "DS-2CD2143G2-I", "firmware": "V5.6.3", "boot_seconds": 3.0},
        {"name": "spa", "model": "DS-2CD2043G2-I", "firmware": "V5.7.10 build 240120"},
        {"name": "nvr", "model": "DS-7608NI-K2", "firmware": "V4.21.000"}],
        cloud=False, lab_controller=False)


def test_reboot_refuses_connections_then_uptime_goes_back(lab) -> None:  # type: ignore[no-untyped-def]
    c = activated_client(lab.url("cam"))
    device = lab.device("cam")
    # An hour of uptime is simulated by moving the boot instant back.
    lab.run(lambda: setattr(device, "_boot_monotonic", device._boot_monotonic - 3600))
    before = int(leaves(c.http.get("/ISAPI/System/status").text)["deviceUpTime"])
    assert before >= 3600
    assert c.http.put("/ISAPI/System/reboot").status_code == 200
    port = lab.entry("cam")["http_port"]
    device = lab.device("cam")

    def boots() -> int:
        return int(lab.run(lambda: device.counters()["boots"]))

    # Poll until a connection is refused; the verdict "never refused" needs the boot to have
    # finished (the boot counter), not a clock. The deadline only bounds a reboot that
    # never comes back.
    deadline = time.monotonic() + 60
    while not _refused(port):
        assert boots() < 2, "the device accepted connections throughout its reboot"
        assert time.monotonic() < deadline, "no refused connection and no new boot in 60 s"
        time.sleep(0.02)
    _wait_up(lab.url("cam"))
    c2 = SpecClient(lab.url("cam"))
    assert c2.session_login(PASSWORD).status_code == 200
    assert int(leaves(c2.http.get("/ISAPI/System/status").text)["deviceUpTime"]) < before
    counters = lab.device("cam").counters()
    assert counters["reboots"] == 1 and counters["boots"] == 2


def test_power_off_and_on(lab) -> None:  # type: ignore[no-untyped-def]
    device = lab.device("nvr")
    lab.call(device.power_off())
    assert _refused(lab.entry("nvr")["http_port"])
    assert str(device.power_state) == "off"
    lab.call(device.power_on())
    lab.call(device.wait_booted())
    _wait_up(lab.url("nvr"))


def _factory_reset(lab, mode: str) -> SpecClient:  # type: ignore[no-untyped-def]
    """Activate the NVR (e-mail reserved), reset it in `mode`, wait until it is back on: a
    fresh client of it."""
    c = activated_client(lab.url("nvr"), email=EMAIL)
    assert c.http.put("/ISAPI/System/factoryReset", params={"mode": mode}).status_code == 200
    device = lab.device("nvr")

    def done() -> bool:
        return bool(device.counters()[f"factory_resets_{mode}"] >= 1
                    and str(device.power_state) == "on")

    assert wait_until(done, 10, f"the {mode} factory reset", interval=0.05), \
        f"{mode} factory reset did not happen"
    return SpecClient(lab.url("nvr"))


def test_factory_reset_basic_keeps_password_and_email(lab) -> None:  # type: ignore[no-untyped-def]
    fresh = _factory_reset(lab, "basic")
    assert fresh.session_login(PASSWORD).status_code == 200
    assert fresh.http.get("/ISAPI/Security/email/parameter", params={"format": "json"}).json()[
        "SecurityEmail"]["SecurityInformation"] == [{"emailAddress": "o****@example.com"}]


def test_factory_reset_full_returns_to_inactive(lab) -> None:  # type: ignore[no-untyped-def]
    fresh = _factory_reset(lab, "full")
    assert not fresh.activated()
    assert fresh.activate(PASSWORD).status_code == 200
    assert fresh.session_login(PASSWORD).status_code == 200
    assert fresh.http.get("/ISAPI/Security/email/parameter", params={"format": "json"}).json()[
        "SecurityEmail"]["SecurityInformation"] == []


def test_reset_button_full_reset(lab) -> None:  # type: ignore[no-untyped-def]
    activated_client(lab.url("nvr")).close()
    device = lab.device("nvr")
    lab.call(device.press_reset_button())
    lab.call(device.wait_booted())
    assert not SpecClient(lab.url("nvr")).activated()
    assert device.counters()["factory_resets_full"] == 1


def test_ssh_port_listens_only_while_enabled(lab) -> None:  # type: ignore[no-untyped-def]
    port = lab.entry("nvr")["ssh_port"]
    assert _refused(port)
    c = activated_client(lab.url("nvr"))
    assert leaves(c.http.get("/ISAPI/System/Network/ssh").text)["enabled"] == "false"
    r = c.http.put("/ISAPI/System/Network/ssh", content="<SSH><enabled>true</enabled></SSH>")
    assert r.status_code == 200
    assert leaves(c.http.get("/ISAPI/System/Network/ssh").text)["enabled"] == "true"
    if lab.fleet.psh is not None:
        assert not _refused(port)
    c.http.put("/ISAPI/System/Network/ssh", content="<SSH><enabled>false</enabled></SSH>")
    assert _refused(port)


def test_gui_config_and_root_redirect(lab) -> None:  # type: ignore[no-untyped-def]
    for name, generation in (("cam", "camera-classic"), ("spa", "camera-spa"),
                             ("nvr", "recorder")):
        r = httpx.get(lab.url(name) + "/SDK/guiConfig.js", timeout=10)
        assert r.headers["content-type"].startswith("application/javascript")
        assert f'"generation": "{generation}"' in r.text
        assert '"checkConfirm": true' in r.text and '"strengthOffset": 0' in r.text
        # Real firmware answers `/` with a script that moves the browser on (spec §2).
        root = httpx.get(lab.url(name) + "/", timeout=10)
        assert root.status_code == 200 and root.headers["content-type"].startswith("text/html")
        assert 'window.location.href="/doc/page/login.asp?_"' in root.text


def test_static_files_with_content_types(lab) -> None:  # type: ignore[no-untyped-def]
    from emulator.isapi.gui import web_layout

    root, entry = web_layout()
    for name, generation in (("cam", "camera-classic"), ("nvr", "recorder")):
        page = entry.get(generation, "index.html")
        if not (root / generation / page).is_file():
            pytest.fail(f"GUI entry page {generation}/{page} missing under {root}")
        r = httpx.get(f"{lab.url(name)}/doc/{page}", timeout=10)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/html")
    common = sorted(p for p in (root / "common").rglob("*.js"))
    if common:
        rel = common[0].relative_to(root / "common").as_posix()
        r = httpx.get(f"{lab.url('nvr')}/common/{rel}", timeout=10)
        assert r.headers["content-type"].startswith("application/javascript")
    assert httpx.get(lab.url("nvr") + "/doc/../../device.py", timeout=10).status_code == 404
    assert httpx.get(lab.url("nvr") + "/doc/%2e%2e/%2e%2e/device.py",
                     timeout=10).status_code == 404


def test_unknown_isapi_is_not_supported(lab) -> None:  # type: ignore[no-untyped-def]
    c = activated_client(lab.url("nvr"))
    r = c.http.get("/ISAPI/System/Video/inputs")
    assert r.status_code == 403 and leaves(r.text)["subStatusCode"] == "notSupport"


def test_password_change_in_user_management(lab) -> None:  # type: ignore[no-untyped-def]
    c = activated_client(lab.url("nvr"))
    body = ("<User><id>1</id><userName>admin</userName><password>Other-Pass9</password>"
            "<loginPassword>Wrong-Pass1</loginPassword></User>")
    assert c.http.put("/ISAPI/Security/users/1", content=body).status_code == 401
    body = body.replace("Wrong-Pass1", PASSWORD)
    assert c.http.put("/ISAPI/Security/users/1", content=body).status_code == 200
    assert SpecClient(lab.url("nvr")).session_login("Other-Pass9").status_code == 200


def test_newer_camera_device_info_namespace(lab) -> None:  # type: ignore[no-untyped-def]
    c = activated_client(lab.url("spa"))
    text = c.http.get("/ISAPI/System/deviceInfo").text
    assert "http://www.isapi.org/ver20/XMLSchema" in text
    fields = leaves(text)
    assert fields["firmwareVersion"] == "V5.7.10"
    assert fields["firmwareReleasedDate"] == "build 240120"
