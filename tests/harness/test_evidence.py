"""Masking: no secret value survives into the rendered exchange log or SSH transcript."""

from __future__ import annotations

import json
import pickle
import time
from dataclasses import dataclass

from _pytest._io.saferepr import saferepr

from harness.evidence import (
    MASK,
    ExchangeLog,
    Secret,
    Secrets,
    ShellTranscript,
    mask_body,
    mask_header,
    mask_url,
)

PASSWORD = 'Sup3r&Secret"1'
CODE = "ABCD2345"
TOKEN = "0123456789abcdef0123456789abcdef"
SESSION = "fedcba9876543210fedcba9876543210"


def _record(log: ExchangeLog, **overrides: object) -> None:
    fields: dict[str, object] = {
        "method": "PUT",
        "url": "http://127.0.0.1:1/ISAPI/x",
        "request_headers": (),
        "request_body": b"",
        "status": 200,
        "response_headers": (),
        "response_body": b"",
        "elapsed_s": 0.01,
        "started": time.time(),
    }
    fields.update(overrides)
    log.record(**fields)  # type: ignore[arg-type]


def test_secret_fields_are_masked_by_shape_without_registration() -> None:
    xml = (
        "<SessionLogin xmlns='http://www.isapi.org/ver20/XMLSchema'><userName>admin</userName>"
        f"<password>{'a' * 64}</password><sessionID>{SESSION}</sessionID></SessionLogin>"
    )
    masked = mask_body(xml)
    assert "a" * 64 not in masked and SESSION not in masked
    assert "<userName>admin</userName>" in masked
    body = json.dumps(
        {
            "SecurityEmail": {
                "password": PASSWORD,
                "SecurityInformation": [{"emailAddress": "b@x.test"}],
            }
        }
    )
    masked = mask_body(body)
    assert PASSWORD not in masked and json.dumps(PASSWORD)[1:-1] not in masked
    assert "b@x.test" in masked
    for field in ("verificationCode", "securityCode", "resetPassword", "loginPassword",
                  "challenge", "salt2"):
        assert "s3cr3tvalue" not in mask_body(json.dumps({field: "s3cr3tvalue"}))
        assert "s3cr3tvalue" not in mask_body(f"<{field}>s3cr3tvalue</{field}>")


def test_error_names_that_contain_password_are_not_masked() -> None:
    body = '{"statusCode": 4, "subStatusCode": "passwordError", "retryTimes": 3}'
    assert mask_body(body) == body


def test_headers_keep_scheme_and_cookie_names() -> None:
    auth = mask_header(
        "Authorization",
        f'Digest username="admin", realm="r", nonce="n", response="{TOKEN}", algorithm=SHA-256',
    )
    assert TOKEN not in auth and auth.startswith("Digest ") and "SHA-256" in auth
    cookie = mask_header("Cookie", f"WebSession_ab12={SESSION}; other=1")
    assert SESSION not in cookie and "WebSession_ab12=" in cookie
    set_cookie = mask_header("Set-Cookie", f"WebSession_ab12={SESSION}; Path=/; HttpOnly")
    assert SESSION not in set_cookie and "Path=/; HttpOnly" in set_cookie


def test_registered_secrets_are_masked_anywhere_in_every_spelling() -> None:
    secrets = Secrets([PASSWORD, CODE, TOKEN])
    log = ExchangeLog(secrets=secrets)
    _record(
        log,
        url=f"http://127.0.0.1:1/x?code={CODE}",
        request_headers=(("X-Note", f"token {TOKEN}"), ("Cookie", f"a={SESSION}")),
        request_body=f"free text {PASSWORD} and {json.dumps(PASSWORD)}".encode(),
        response_body=f"<Msg>your code is {CODE.lower()} / {CODE} &amp; "
        f"{PASSWORD.replace('&', '&amp;').replace(chr(34), '&quot;')}</Msg>".encode(),
        response_headers=(("Set-Cookie", f"WebSession_1={SESSION}; Path=/"),),
    )
    _record(log, status=None, error=f"connection reset while sending {PASSWORD}")
    rendered = log.render()
    for value in (
        PASSWORD,
        json.dumps(PASSWORD)[1:-1],
        CODE,
        CODE.lower(),
        TOKEN,
        SESSION,
        PASSWORD.replace("&", "&amp;"),
    ):
        assert value not in rendered, value
    assert MASK in rendered and "no answer" in rendered


def test_secrets_registered_later_apply_to_later_records() -> None:
    secrets = Secrets()
    log = ExchangeLog(secrets=secrets)
    secrets.register("Later-Secret-9")
    _record(log, response_body=b"the Later-Secret-9 value")
    assert "Later-Secret-9" not in log.render()


def test_short_values_are_not_registered() -> None:
    secrets = Secrets(["ok", "", None])  # type: ignore[list-item]
    assert secrets.mask("ok 1") == "ok 1"


def test_images_and_long_bodies_are_shortened() -> None:
    body = json.dumps(
        {"QRCode": {"qrText": "HIKRESET1:x", "qrImage": "data:image/png;base64," + "A" * 50000}}
    )
    masked = mask_body(body)
    assert len(masked) < 1000 and "HIKRESET1:x" in masked


def test_log_is_bounded() -> None:
    log = ExchangeLog(limit=3)
    for _ in range(5):
        _record(log)
    assert len(log) == 3 and "2 older exchanges dropped" in log.render()


def test_shell_transcript_masks_registered_secrets() -> None:
    transcript = ShellTranscript(secrets=Secrets([PASSWORD]))
    transcript.record(
        target="127.0.0.1:22",
        command=f"echo {PASSWORD}",
        output=f"{PASSWORD}\n",
        exit_status=0,
        elapsed_s=0.0,
        started=time.time(),
    )
    assert PASSWORD not in transcript.render()
    assert "# echo ***" in transcript.render()


def test_urls_keep_their_shape_and_lose_their_secret_parameters() -> None:
    sent = "http://d/ISAPI/Security/email/parameter?format=json?security=1&iv=" + "0f" * 16
    assert mask_url(sent) == sent  # the GUI's second `?` stays as it was sent
    assert mask_url(f"http://d/x?format=json?sessionID={SESSION}&a=1") == (
        "http://d/x?format=json?sessionID=***&a=1")
    assert mask_url(f"http://d/x?challenge={SESSION}") == "http://d/x?challenge=***"


def test_a_secret_is_its_value_to_apis_and_masked_to_printers() -> None:
    @dataclass
    class Known:
        password: Secret

    value = Secret("Old-Pass9!x")
    # What pytest prints for an argument (--tb=long), a local (-l), an assertion operand.
    assert repr(value) == saferepr(value) == "'***'"
    assert "Old-Pass9" not in repr(Known(value)) and "Old-Pass9" not in f"{value!r}"
    # What a client sends: the value, as str, JSON and bytes.
    assert value == "Old-Pass9!x" and value.encode() == b"Old-Pass9!x"
    assert json.dumps(value) == '"Old-Pass9!x"' and type(value.reveal()) is str
    assert repr(pickle.loads(pickle.dumps(value))) == "'***'"  # across xdist workers
