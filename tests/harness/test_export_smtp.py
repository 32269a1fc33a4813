"""The Export channel's SMTP submission (harness.clients.cloud.export_channel): implicit TLS (465)
with AUTH against a real aiosmtpd server, the inventory's ports per `tls`, and a total
deadline for a server that drips its answers (each read within its timeout)."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from dovecot import make_ca

from harness.clients.cloud import export_channel, qr_picture
from harness.errors import HarnessError, InfrastructureError
from harness.inventory.model import SmtpConfig

USER, PASSWORD = "hil-export", "Smtp-test-pw-0815"
QR_TEXT = "HIKRESET1:eyJzbiI6IkRTLTc2MDhOSS1LMiJ9"
HANG_LIMIT_S = 30.0  # an exchange still running after this has hung
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


class _Inbox:
    def __init__(self) -> None:
        self.mails: list[tuple[str, list[str], bytes]] = []
        self.logins: list[str] = []

    async def handle_DATA(self, server: object, session: Session, envelope: Envelope) -> str:
        self.mails.append((str(envelope.mail_from), list(envelope.rcpt_tos),
                           bytes(envelope.content or b"")))
        return "250 queued"

    def authenticate(self, server: object, session: Session, envelope: Envelope,
                     mechanism: str, data: object) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(), PASSWORD.encode())
        if isinstance(data, LoginPassword):
            self.logins.append(data.login.decode())
        return AuthResult(success=ok)


@pytest.fixture
def implicit_tls_server(tmp_path: Path) -> Iterator[tuple[int, Path, _Inbox]]:
    """aiosmtpd with TLS from the first byte (port 465's way) and AUTH required."""
    cert = make_ca(tmp_path / "ca")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert.cert_file, cert.key_file)
    inbox = _Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # aiosmtpd counts only STARTTLS as TLS for `auth_require_tls`: over its implicit TLS
    # the check must be off for AUTH to be offered (the whole session is TLS anyway).
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=context,
                            server_hostname="localhost", authenticator=inbox.authenticate,
                            auth_required=True, auth_require_tls=False, ready_timeout=10)
    controller.start()
    try:
        yield port, cert.ca_file, inbox
    finally:
        controller.stop()


def test_implicit_tls_carries_auth_and_the_picture(
        implicit_tls_server: tuple[int, Path, _Inbox]) -> None:
    port, ca_file, inbox = implicit_tls_server
    export_channel(qr_picture(QR_TEXT), "pw_recovery@vendor.test", "127.0.0.1", port,
                   "qa@hil.test", tls="ssl", user=USER, password=PASSWORD,
                   ca_file=str(ca_file), timeout=10)
    (sender, recipients, content), = inbox.mails
    assert sender == "qa@hil.test" and recipients == ["pw_recovery@vendor.test"]
    assert b"reset-qr.png" in content and inbox.logins == [USER]


def test_implicit_tls_refuses_a_server_the_ca_does_not_vouch_for(
        implicit_tls_server: tuple[int, Path, _Inbox], tmp_path: Path) -> None:
    port, _, inbox = implicit_tls_server
    other = make_ca(tmp_path / "other", "Some other CA")
    with pytest.raises(InfrastructureError) as refused:
        export_channel(qr_picture(QR_TEXT), "pw_recovery@vendor.test", "127.0.0.1", port,
                       "qa@hil.test", tls="ssl", user=USER, password=PASSWORD,
                       ca_file=str(other.ca_file), timeout=10)
    message = str(refused.value)
    assert f"via SMTP server 127.0.0.1:{port} (SSLCertVerificationError" in message, message
    assert PASSWORD not in message and inbox.logins == []


def test_auth_over_plain_smtp_is_refused_before_connecting() -> None:
    with pytest.raises(HarnessError, match="AUTH over plain SMTP"):
        export_channel(b"", "pw_recovery@vendor.test", "127.0.0.1", 9, "qa@hil.test",
                       tls="none", user=USER, password=PASSWORD)


def test_the_inventory_port_follows_tls_and_the_old_spelling_still_loads() -> None:
    def port(**fields: object) -> int:
        return SmtpConfig.model_validate({"host": "smtp.lab", **fields}).submission_port

    assert (port(), port(tls="ssl"), port(tls="none"), port(tls="ssl", port=2465)) == (
        587, 465, 25, 2465)
    assert SmtpConfig.model_validate({"host": "smtp.lab", "starttls": True}).tls == "starttls"
    assert SmtpConfig.model_validate({"host": "smtp.lab", "starttls": False}).tls == "none"


def test_a_server_that_drips_its_greeting_ends_at_the_deadline() -> None:
    # Each byte comes within the read timeout (1 s); only the total deadline ends it.
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def drip() -> None:
        conn, _ = listener.accept()
        with conn:
            while not stop.is_set():
                try:
                    conn.sendall(b"2")
                except OSError:
                    return
                time.sleep(0.3)

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    done: list[BaseException] = []

    def send() -> None:
        try:
            export_channel(qr_picture(QR_TEXT), "pw_recovery@vendor.test", "127.0.0.1", port,
                           "qa@hil.test", timeout=1, deadline=2)
        except BaseException as exc:  # the failure is the result
            done.append(exc)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    sender.join(HANG_LIMIT_S)
    stop.set()
    listener.close()
    assert done, "the SMTP exchange did not end"
    assert isinstance(done[0], InfrastructureError)
    assert f"via SMTP server 127.0.0.1:{port} (no complete answer within 2 s)" in str(done[0])
