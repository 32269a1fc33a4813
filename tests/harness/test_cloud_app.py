"""The phone-app role: reading QR pictures, the registry, the manual app, the cloud API."""

from __future__ import annotations

import contextlib
import io
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
import segno
from conftest_clients import EmulatedLab
from PIL import Image

from harness.clients import attended
from harness.clients.attended import AttendedPhoneApp, Terminal, qr_on_terminal
from harness.clients.cloud import (
    CloudRefused,
    NoPhoneApp,
    PhoneApp,
    PhoneAppSettings,
    PhoneStepUnavailable,
    export_channel,
    phone_app_for,
)
from harness.clients.isapi import IsapiClient, IsapiError, LoginRejected
from harness.clients.qr import QrUnreadable, decode_qr
from harness.errors import HarnessError, InfrastructureError

QR_TEXT = "HIKRESET1:eyJzbiI6IkRTLTJDRDIxNDNHMi1JIiwibm9uY2UiOiJhYmMifQ"


def _png(text: str, *, scale: int = 4, transparent: bool = False) -> bytes:
    out = io.BytesIO()
    segno.make(text, micro=False).save(
        out, kind="png", scale=scale, light=None if transparent else "white"
    )
    return out.getvalue()


def test_decode_a_qr_picture() -> None:
    assert decode_qr(_png(QR_TEXT)) == QR_TEXT


def test_decode_a_transparent_small_qr() -> None:
    assert decode_qr(_png(QR_TEXT, scale=2, transparent=True)) == QR_TEXT


def test_picture_without_qr_is_unreadable() -> None:
    blank = io.BytesIO()
    Image.new("RGB", (120, 120), "white").save(blank, format="PNG")
    with pytest.raises(QrUnreadable, match="no QR code"):
        decode_qr(blank.getvalue())
    with pytest.raises(QrUnreadable, match="not a readable image"):
        decode_qr(b"not a png")


def test_two_different_codes_are_refused() -> None:
    left, right = Image.open(io.BytesIO(_png("A" * 20))), Image.open(io.BytesIO(_png("B" * 20)))
    both = Image.new("RGB", (left.width + right.width, left.height), "white")
    both.paste(left.convert("RGB"), (0, 0))
    both.paste(right.convert("RGB"), (left.width, 0))
    out = io.BytesIO()
    both.save(out, format="PNG")
    with pytest.raises(QrUnreadable, match="2 different"):
        decode_qr(out.getvalue())


def test_registry_picks_by_cloud_kind(tmp_path: Path) -> None:
    emulated = phone_app_for("emulated", PhoneAppSettings(cloud_url="http://127.0.0.1:9"))
    assert isinstance(emulated, PhoneApp)
    for kind in ("attended", "manual"):  # manual: the deprecated name of attended
        assert isinstance(phone_app_for(kind, PhoneAppSettings(qr_dir=tmp_path)),
                          AttendedPhoneApp)
    assert isinstance(phone_app_for("none", PhoneAppSettings()), NoPhoneApp)
    with pytest.raises(HarnessError, match="known: attended, emulated, export, manual, none"):
        phone_app_for("carrier-pigeon", PhoneAppSettings())
    with pytest.raises(HarnessError, match="URL"):
        phone_app_for("emulated", PhoneAppSettings())
    with pytest.raises(HarnessError, match="submission server"):
        phone_app_for("export", PhoneAppSettings())


class _Screen(Terminal):
    """A terminal the test reads back."""

    def __init__(self) -> None:
        super().__init__()
        self.text = ""

    def has_tty(self) -> bool:
        return True

    def write_tty(self, text: str) -> bool:
        self.text += text
        return True


def test_attended_app_shows_the_qr_saves_it_and_counts_down(tmp_path: Path) -> None:
    """Without a picture (API level) the QR is drawn from the text: no harness error."""
    screen = _Screen()
    app = AttendedPhoneApp(tmp_path / "qr", timeout_s=3, terminal=screen)
    request = app.request_code(QR_TEXT)
    request.done()
    assert request.manual and request.wait_s == 3
    saved = list((tmp_path / "qr").glob("*.png"))
    assert len(saved) == 1 and decode_qr(saved[0].read_bytes()) == QR_TEXT
    assert str(saved[0]) in screen.text
    assert qr_on_terminal(QR_TEXT) in screen.text
    assert "waiting for the code mail: 0:03 left" in screen.text


@pytest.fixture
def guard_threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The threads that suspended pytest's capture (the terminal guard) during a test."""
    entered: list[str] = []

    @contextlib.contextmanager
    def guard() -> Iterator[None]:
        entered.append(threading.current_thread().name)
        yield

    monkeypatch.setattr(attended, "_terminal_guard", guard)
    return entered


def test_the_countdown_thread_writes_to_the_terminal_only(
        tmp_path: Path, guard_threads: list[str]) -> None:
    tty = tmp_path / "tty"  # a file stands in for /dev/tty: writable, outside any capture
    tty.touch()
    app = AttendedPhoneApp(tmp_path / "qr", timeout_s=2, terminal=Terminal(str(tty)))
    request = app.request_code(QR_TEXT)
    assert [t.name for t in threading.enumerate()].count("attended-countdown") == 1
    request.done()
    shown = tty.read_text()
    assert qr_on_terminal(QR_TEXT) in shown and "waiting for the code mail: 0:02 left" in shown
    assert guard_threads == []  # pytest's capture was never touched


def test_without_a_terminal_the_deadline_is_said_once_on_the_tests_thread(
        tmp_path: Path, guard_threads: list[str], capfd: pytest.CaptureFixture[str]) -> None:
    app = AttendedPhoneApp(tmp_path / "qr", timeout_s=90,
                           terminal=Terminal(str(tmp_path / "no-such-dir" / "tty")))
    request = app.request_code(QR_TEXT)
    assert "attended-countdown" not in [t.name for t in threading.enumerate()]
    request.done()
    shown = capfd.readouterr().err
    assert qr_on_terminal(QR_TEXT) in shown
    assert re.search(r"waiting for the code mail until \d\d:\d\d:\d\d \(1:30 from now\)\n",
                     shown), shown[-300:]
    assert " left" not in shown
    assert guard_threads == [threading.current_thread().name]


def test_no_phone_step_says_so() -> None:
    with pytest.raises(PhoneStepUnavailable, match=r"not available in this lab \(cloud: none\)"):
        NoPhoneApp().request_code(QR_TEXT)


# ------------------------------------------------------------- against the emulated lab

PASSWORD = "Qw7!rT9#zPk"
NEW_PASSWORD = "Nw5$gH8@kLm"
EMAIL = "owner.reset@lab.example.com"
CODE = re.compile(r"Verification code:\s*([A-Za-z0-9]{8})")


def _device_with_email(lab: EmulatedLab, name: str) -> IsapiClient:
    client = IsapiClient(lab.http(name))
    if not client.wait_until_up(30):
        client.activate(PASSWORD, email=EMAIL)
    return client


def _code_mail(lab: EmulatedLab, serial: str, since: float) -> str:
    mail = lab.mailbox.wait_for(EMAIL, since, subject_contains=serial, timeout=30)
    found = CODE.search(mail.body)
    assert found, f"no code in the mail: {mail.subject}"
    return found.group(1)


def test_reset_by_phone_app_end_to_end(emulated_lab: EmulatedLab) -> None:
    client = _device_with_email(emulated_lab, "nvr")
    serial = emulated_lab.device("nvr")["serial"]
    qr = client.qr_code()
    assert qr.image_png is not None
    app = PhoneApp(emulated_lab.cloud_url, log=client.log)
    since = time.time()
    request = app.request_code(app.scan(qr.image_png))
    assert request.serial == serial
    code = _code_mail(emulated_lab, serial, since)
    client.secrets.register(code)

    with pytest.raises(IsapiError) as wrong:
        client.check_verification_code("WRONG234" if code != "WRONG234" else "WRONG235")
    assert wrong.value.sub_status_code == "verificationCodeError"
    assert wrong.value.retry_times is not None
    with pytest.raises(IsapiError) as again:  # a wrong entry counts: one attempt fewer
        client.check_verification_code("WRONG234" if code != "WRONG234" else "WRONG235",
                                       form="plain")
    assert again.value.retry_times == wrong.value.retry_times - 1

    # A check does not use the code up: twice, and compared without case.
    client.check_verification_code(code.lower())
    client.check_verification_code(code, form="plain")

    client.reset_password_by_code(code, NEW_PASSWORD)  # as the GUI: security=1 here
    put = [e for e in client.log if e.method == "PUT"][-1]
    assert "/emailCertification?format=json?security=1&iv=" in put.url
    with IsapiClient(emulated_lab.http("nvr")) as fresh:
        assert fresh.login_digest(NEW_PASSWORD).serial_number == serial
    with IsapiClient(emulated_lab.http("nvr")) as old, pytest.raises(LoginRejected):
        old.login_digest(PASSWORD)
    for used in (lambda: client.check_verification_code(code),
                 lambda: client.reset_password_by_code(code, PASSWORD)):
        with pytest.raises(IsapiError) as refused:
            used()
        assert refused.value.sub_status_code == "verificationCodeExpired"

    rendered = client.log.render()
    for secret in (code, code.lower(), NEW_PASSWORD, PASSWORD):
        assert secret not in rendered
    assert "/api/v1/device-password-reset" in rendered


@pytest.mark.parametrize("form", ["plain", "challenge"])
def test_reset_by_code_in_the_other_forms(
    emulated_lab: EmulatedLab, form: Literal["plain", "challenge"]
) -> None:
    client = _device_with_email(emulated_lab, "ipc")
    before = client.login_digest(PASSWORD).serial_number
    client.logout()
    app = PhoneApp(emulated_lab.cloud_url, log=client.log)
    since = time.time()
    app.request_code(client.qr_code().text)
    code = _code_mail(emulated_lab, before, since)
    client.secrets.register(code)
    with pytest.raises(IsapiError) as risky:  # a refused password leaves the code unused
        client.reset_password_by_code(code, "aaaaaaaa", form=form)
    assert risky.value.sub_status_code in ("riskPassword", "badParameters")
    client.reset_password_by_code(code, NEW_PASSWORD, form=form)
    with IsapiClient(emulated_lab.http("ipc")) as fresh:
        assert fresh.login_digest(NEW_PASSWORD).serial_number == before
    # Back to PASSWORD for the next test, with a fresh code.
    since = time.time()
    app.request_code(client.qr_code().text)
    code = _code_mail(emulated_lab, before, since)
    client.secrets.register(code)
    client.reset_password_by_code(code, PASSWORD, form="plain" if form == "challenge"
                                  else "challenge")
    with IsapiClient(emulated_lab.http("ipc")) as back:
        assert back.login_digest(PASSWORD).serial_number == before


def test_cloud_refusals_are_clear(emulated_lab: EmulatedLab) -> None:
    client = _device_with_email(emulated_lab, "ipc")
    qr_text = PhoneApp(emulated_lab.cloud_url).scan(client.qr_code().image_png or b"")
    with pytest.raises(CloudRefused, match=r"needs 3\.5\.4 or later") as old:
        PhoneApp(emulated_lab.cloud_url, app_version="3.5.3").request_code(qr_text)
    assert (old.value.status, old.value.error) == (426, "appVersionTooOld")
    with pytest.raises(CloudRefused) as bad:
        PhoneApp(emulated_lab.cloud_url).request_code("HIKRESET1:not-base64-json")
    assert bad.value.error == "badQr"


def test_unreachable_cloud_is_infrastructure() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(InfrastructureError, match=f"127.0.0.1:{port} unreachable"):
        PhoneApp(f"http://127.0.0.1:{port}", timeout=2).request_code("HIKRESET1:x")


def test_export_channel_mails_the_picture_and_the_code_comes_back(
    emulated_lab: EmulatedLab,
) -> None:
    client = _device_with_email(emulated_lab, "ipc")
    serial = emulated_lab.device("ipc")["serial"]
    qr = client.qr_code()
    assert qr.image_png is not None
    cloud = emulated_lab.ready["cloud"]
    since = time.time()
    export_channel(
        qr.image_png,
        cloud["recovery_address"],
        cloud["smtp_host"],
        int(cloud["smtp_port"]),
        "qa@lab.example.com",
    )
    code = _code_mail(emulated_lab, serial, since)
    client.check_verification_code(code)
