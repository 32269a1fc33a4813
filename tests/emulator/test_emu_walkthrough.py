"""One walkthrough per product line, through `specclient` only (what a client written from
docs/device-api.md does): activate, log in (sessionIDVersion 2 and 2.1), heartbeat, reserve
an address encrypted and plain, get a QR, check the code, reset by code with the challenge
form, log in with the new password."""

from __future__ import annotations

from typing import Any

import pytest
from specclient import PASSWORD, SpecClient, code_for, leaves

NEW_PASSWORD = "N3w-Secret!"
LINES = {
    "dvr-k": ("DS-7204HQHI-K1", "V4.2.00"),
    "dvr-hghi-f": ("DS-7208HGHI-F1", "V3.4.89"),
    "nvr": ("DS-7608NI-K2", "V4.21.000"),
    "ipc": ("DS-2CD2143G2-I", "V5.6.0"),
}


def _masked(c: SpecClient) -> list[dict[str, str]]:
    r = c.http.get("/ISAPI/Security/email/parameter", params={"format": "json"})
    assert r.status_code == 200, r.text
    return list(r.json()["SecurityEmail"]["SecurityInformation"])


def _walk(lab: Any, name: str, version: str) -> None:
    c = SpecClient(lab.url(name))
    assert not c.activated()
    assert c.activate(PASSWORD).status_code == 200
    r = c.session_login(PASSWORD)
    assert r.status_code == 200, r.text
    assert leaves(r.text)["sessionIDVersion"] == version
    assert c.heartbeat().status_code == 200

    assert c.set_email(PASSWORD, "first@example.com", key_password=PASSWORD).status_code == 200
    assert _masked(c) == [{"emailAddress": "f****@example.com"}]
    assert c.set_email(PASSWORD, "owner@example.com").status_code == 200
    assert _masked(c) == [{"emailAddress": "o****@example.com"}]

    stranger = SpecClient(lab.url(name))  # the user who forgot the password
    qr = stranger.qr()
    assert qr.status_code == 200, qr.text
    code = code_for(lab.device(name).cloud_key, qr.json()["QRCode"]["qrText"])
    checked = stranger.check_code(code)
    assert checked.status_code == 200 and checked.json()["statusCode"] == 1
    reset = stranger.reset_with_code(code, NEW_PASSWORD, form="challenge")
    assert reset.status_code == 200, reset.text

    assert c.heartbeat().status_code == 401  # the reset closed the sessions
    assert SpecClient(lab.url(name)).session_login(PASSWORD).status_code == 401
    fresh = SpecClient(lab.url(name))
    r = fresh.session_login(NEW_PASSWORD)
    assert r.status_code == 200 and leaves(r.text)["sessionIDVersion"] == version
    assert fresh.heartbeat().status_code == 200
    assert _masked(fresh) == [{"emailAddress": "o****@example.com"}]


@pytest.mark.parametrize("line", list(LINES))
def test_walkthrough(fleet_factory: Any, line: str) -> None:
    model, firmware = LINES[line]
    lab = fleet_factory([
        {"name": "v2", "model": model, "firmware": firmware},
        {"name": "v21", "model": model, "firmware": firmware, "session_id_version": "2.1",
         "digest_algorithm": "SHA-256"}], cloud=False, lab_controller=False)
    _walk(lab, "v2", "2")
    _walk(lab, "v21", "2.1")
