"""Spec §5: ISAPI accepts HTTP Digest with MD5 and SHA-256 (checked with httpx.DigestAuth)."""

from __future__ import annotations

import httpx
import pytest
from specclient import PASSWORD, DigestWith, activated_client, leaves


@pytest.fixture
def nvr_url(fleet_factory) -> str:
    lab = fleet_factory([{"model": "DS-7608NI-K2", "firmware": "V4.21.000"}], cloud=False,
                        lab_controller=False)
    activated_client(lab.url(), login=False).close()
    return str(lab.url())


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
def test_digest_right_password(nvr_url: str, algorithm: str) -> None:
    auth = DigestWith("admin", PASSWORD, algorithm)
    r = httpx.get(nvr_url + "/ISAPI/System/deviceInfo", auth=auth, timeout=10)
    assert r.status_code == 200, r.text
    assert leaves(r.text)["deviceType"] == "NVR"
    assert f"algorithm={algorithm}" in r.request.headers["authorization"].replace('"', "")


def test_server_offers_both_algorithms(nvr_url: str) -> None:
    r = httpx.get(nvr_url + "/ISAPI/System/deviceInfo", timeout=10)
    assert r.status_code == 401
    offers = " ".join(r.headers.get_list("www-authenticate"))
    assert "algorithm=MD5" in offers and "algorithm=SHA-256" in offers


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
def test_digest_wrong_password_counts(nvr_url: str, algorithm: str) -> None:
    for left in (6, 5):
        r = httpx.get(nvr_url + "/ISAPI/System/deviceInfo",
                      auth=DigestWith("admin", "Wrong-Pass1", algorithm), timeout=10)
        assert r.status_code == 401
        assert leaves(r.text)["retryLoginTime"] == str(left)


def test_default_httpx_digest_works(nvr_url: str) -> None:
    r = httpx.get(nvr_url + "/ISAPI/Security/users", auth=httpx.DigestAuth("admin", PASSWORD),
                  timeout=10)
    assert r.status_code == 200
    assert leaves(r.text)["userName"] == "admin"


def test_request_without_credentials_does_not_count(nvr_url: str) -> None:
    for _ in range(10):
        assert httpx.get(nvr_url + "/ISAPI/System/deviceInfo", timeout=10).status_code == 401
    r = httpx.get(nvr_url + "/ISAPI/System/deviceInfo",
                  auth=DigestWith("admin", PASSWORD, "MD5"), timeout=10)
    assert r.status_code == 200
