"""docs/device-api.md "Authentication order": one Digest challenge of the device's own
algorithm, 401 before any 403, Basic neither checked nor counted (checked with httpx)."""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx
import pytest
from specclient import PASSWORD, DigestWith, activated_client, leaves

ALGORITHMS = ("MD5", "SHA-256")


@pytest.fixture
def lab(fleet_factory: Any) -> Any:
    lab = fleet_factory([
        {"name": "MD5", "model": "DS-7608NI-K2", "firmware": "V4.21.000"},
        {"name": "SHA-256", "model": "DS-2CD2143G2-I", "firmware": "V5.6.3",
         "digest_algorithm": "SHA-256"}], cloud=False, lab_controller=False)
    for name in ALGORITHMS:
        activated_client(lab.url(name), login=False).close()
    return lab


def _get(url: str, path: str = "/ISAPI/System/deviceInfo", **kw: Any) -> httpx.Response:
    return httpx.get(url + path, timeout=10, **kw)


def test_md5_device_sends_one_challenge_without_algorithm(lab: Any) -> None:
    r = _get(lab.url("MD5"))
    assert r.status_code == 401
    offers = r.headers.get_list("www-authenticate")
    assert len(offers) == 1, offers
    assert re.fullmatch(r'Digest qop="auth", realm="DVRNVRDVS\(\w{5}\)", nonce="\w+", '
                        r'stale="FALSE"', offers[0]), offers


def test_sha256_device_names_its_algorithm(lab: Any) -> None:
    offers = _get(lab.url("SHA-256")).headers.get_list("www-authenticate")
    assert len(offers) == 1, offers
    assert offers[0].startswith('Digest qop="auth", realm="IP Camera(')
    assert offers[0].endswith('stale="FALSE", algorithm="SHA-256"')


@pytest.mark.parametrize("name", ALGORITHMS)
def test_plain_httpx_digest_works_on_either_device(lab: Any, name: str) -> None:
    r = _get(lab.url(name), "/ISAPI/Security/users", auth=httpx.DigestAuth("admin", PASSWORD))
    assert r.status_code == 200, r.text
    assert leaves(r.text)["userName"] == "admin"
    algorithm = "SHA-256" if name == "SHA-256" else "MD5"
    assert f"algorithm={algorithm}" in r.request.headers["authorization"].replace('"', "")


@pytest.mark.parametrize(("name", "other"), [("MD5", "SHA-256"), ("SHA-256", "MD5")])
def test_the_other_algorithm_is_verified_as_named(lab: Any, name: str, other: str) -> None:
    """[dec] policy.digest_accept_other_algorithm: the device offers one algorithm but checks
    an answer with the one the client names; a wrong password that way still counts."""
    assert _get(lab.url(name), auth=DigestWith("admin", PASSWORD, other)).status_code == 200
    r = _get(lab.url(name), auth=DigestWith("admin", "Wrong-Pass1", other))
    assert r.status_code == 401 and leaves(r.text)["retryLoginTime"] == "6"


@pytest.mark.parametrize("name", ALGORITHMS)
def test_digest_wrong_password_counts_with_a_fresh_challenge(lab: Any, name: str) -> None:
    for left in (6, 5):
        r = _get(lab.url(name), auth=httpx.DigestAuth("admin", "Wrong-Pass1"))
        assert r.status_code == 401
        fields = leaves(r.text)
        assert (fields["lockStatus"], fields["retryLoginTime"]) == ("unlock", str(left))
        assert len(r.headers.get_list("www-authenticate")) == 1


def test_request_without_credentials_does_not_count(lab: Any) -> None:
    for _ in range(10):
        assert _get(lab.url("MD5")).status_code == 401
    r = _get(lab.url("MD5"), auth=httpx.DigestAuth("admin", "Wrong-Pass1"))
    assert leaves(r.text)["retryLoginTime"] == "6"


def test_basic_is_not_checked_nor_counted(lab: Any) -> None:
    for password in (PASSWORD, "Wrong-Pass1", "Wrong-Pass1"):
        token = base64.b64encode(f"admin:{password}".encode()).decode()
        r = _get(lab.url("MD5"), headers={"Authorization": f"Basic {token}"})
        assert r.status_code == 401
        assert "retryLoginTime" not in leaves(r.text)
        assert len(r.headers.get_list("www-authenticate")) == 1
    r = _get(lab.url("MD5"), auth=httpx.DigestAuth("admin", "Wrong-Pass1"))
    assert leaves(r.text)["retryLoginTime"] == "6"


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/ISAPI/Streaming/channels/101"), ("GET", "/ISAPI/Event/triggers"),
    ("GET", "/ISAPI/ContentMgmt/Storage"), ("PUT", "/ISAPI/PTZCtrl/channels/1/continuous"),
    ("POST", "/ISAPI/System/deviceInfo"), ("GET", "/ISAPI/No/Such/Path"),
])
def test_unknown_paths_authenticate_before_not_support(lab: Any, method: str,
                                                        path: str) -> None:
    url = lab.url("MD5") + path
    bare = httpx.request(method, url, timeout=10)
    assert bare.status_code == 401
    assert len(bare.headers.get_list("www-authenticate")) == 1
    authed = httpx.request(method, url, timeout=10, auth=httpx.DigestAuth("admin", PASSWORD))
    assert authed.status_code == 403
    assert leaves(authed.text)["subStatusCode"] == "notSupport"


def test_expired_nonce_is_stale(lab: Any) -> None:
    device = lab.device("MD5")
    nonce = lab.run(lambda: device.digest_nonces.issue())
    old = format(int(nonce[:-24], 16) - 301, "x")
    import hashlib
    import hmac

    mac = lab.run(lambda: hmac.new(device.digest_nonces._secret, old.encode(),
                                   hashlib.sha256).hexdigest()[:24])
    header = (f'Digest username="admin", realm="{device.realm}", nonce="{old}{mac}", '
              'uri="/ISAPI/System/deviceInfo", response="00", qop=auth, nc=00000001, '
              'cnonce="ab"')
    r = _get(lab.url("MD5"), headers={"Authorization": header})
    assert r.status_code == 401
    assert 'stale="TRUE"' in r.headers["www-authenticate"]
