"""The lab mailbox over IMAP against a real Dovecot on loopback (tests/harness/dovecot.py):
TLS and STARTTLS with the lab's CA or a pin, IDLE and polling with mail delivered while a
wait runs, any recipient header, password and XOAUTH2 logins, and the deadline when the
server stalls."""

from __future__ import annotations

import datetime
import gc
import logging
import signal
import ssl
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import psutil
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from dovecot import NO_IDLE_CAPABILITY, Dovecot, Introspection, make_ca, running_dovecot
from imapclient import IMAPClient

from harness.clients.imapbox import ImapMailbox, imap_mailbox
from harness.clients.mail import Mailbox, MailNotReceived, ReceivedMail, free_port, mailbox_for
from harness.clients.tls import spki_pin
from harness.errors import InfrastructureError
from harness.inventory.fields import InventoryError
from harness.inventory.load import load_inventory, parse_inventory
from harness.inventory.model import ImapConfig
from harness.lab.session import LabSession

USER = "qa@hil.test"
PASSWORD = "Imap-test-pw-4711"
PASSWORD_ENV = "HIL_TEST_IMAP_PASSWORD"
TOKEN_ENV = "HIL_TEST_IMAP_TOKEN"
WAIT_S = 20.0  # a bound for waits that must succeed; none of them comes near it
HANG_LIMIT_S = 30.0  # a wait still running after this has hung
CAMERA = "{name: cam, kind: emulated, model: DS-2CD2143G2-I, firmware: V5.6.0}"
PIN = "5GaAG0eOIQofLP+rSd4hh8xk5ReYr7xwN2vvuI/I5lo="


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Dovecot, Introspection]]:
    with running_dovecot({USER: PASSWORD}) as running:
        yield running


@pytest.fixture
def dovecot(server: tuple[Dovecot, Introspection]) -> Dovecot:
    return server[0]


@pytest.fixture
def introspection(server: tuple[Dovecot, Introspection]) -> Introspection:
    return server[1]


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


def config(dovecot: Dovecot, **fields: object) -> ImapConfig:
    """The inventory entry of this Dovecot: implicit TLS with the lab's CA by default."""
    values: dict[str, object] = {
        "kind": "imap", "host": "127.0.0.1", "port": dovecot.imaps_port, "user": USER,
        "password_env": PASSWORD_ENV, "ca_file": dovecot.ca.ca_file,
    }
    values.update(fields)
    return ImapConfig.model_validate({k: v for k, v in values.items() if v is not None})


def mail(subject: str, body: str, **headers: str) -> bytes:
    """A mail as the lab's MTA delivers it: `to`, `cc`, `delivered_to` ... as headers."""
    message = EmailMessage()
    message["From"] = "noreply@cloud.hik-emulator.test"
    for name, value in headers.items():
        message[name.replace("_", "-").title()] = value
    message["Subject"] = subject
    message.set_content(body)
    return message.as_bytes()


def round_trip(
    dovecot: Dovecot, box: Mailbox, address: str, code: str, *, while_waiting: bool = False
) -> ReceivedMail:
    """A code mail to `address` delivered after the mark (`while_waiting`: 1 s into the
    wait), found by a wait on `box`."""
    since = box.mark(address)

    def deliver() -> None:
        dovecot.deliver(USER, mail("Device password reset code", f"Verification code: {code}",
                                   to=address))

    timer = later(1.0, deliver) if while_waiting else None
    if timer is None:
        deliver()
    try:
        found = box.wait_for(address.upper(), since, subject_contains="reset code",
                             timeout=WAIT_S)
    finally:
        if timer is not None:
            timer.join()
    assert code in found.body and address in found.to and found.received_at >= since
    return found


def refusal(box: ImapMailbox) -> str:
    """The one-line infrastructure error a wait on `box` ends with (not a missed mail)."""
    with pytest.raises(InfrastructureError) as info:
        box.wait_for("nobody@hil.test", time.time(), timeout=WAIT_S)
    assert not isinstance(info.value, MailNotReceived)
    message = str(info.value)
    assert "\n" not in message
    return message


def port_of(dovecot: Dovecot, tls: str) -> int:
    return dovecot.imaps_port if tls == "ssl" else dovecot.imap_port


def later(seconds: float, action: Callable[[], None]) -> threading.Timer:
    timer = threading.Timer(seconds, action)
    timer.start()
    return timer


def test_implicit_tls_with_the_lab_ca(dovecot: Dovecot, credentials: None) -> None:
    found = round_trip(dovecot, imap_mailbox(config(dovecot)), "tls1@hil.test", "TLS12345")
    assert "TLS12345" not in repr(found)


def test_starttls_with_the_lab_ca(dovecot: Dovecot, credentials: None) -> None:
    box = imap_mailbox(config(dovecot, tls="starttls", port=dovecot.imap_port))
    round_trip(dovecot, box, "starttls1@hil.test", "START123")


@pytest.mark.parametrize("tls", ["ssl", "starttls"])
def test_a_server_signed_by_another_ca_is_refused_in_one_line(
    dovecot: Dovecot, credentials: None, tmp_path: Path, tls: str
) -> None:
    other = make_ca(tmp_path, "Some other CA")
    port = port_of(dovecot, tls)
    message = refusal(imap_mailbox(config(dovecot, tls=tls, port=port, ca_file=other.ca_file)))
    assert message.startswith(f"IMAP 127.0.0.1:{port}: TLS verification failed"), message
    assert "mailbox.ca_file" in message


def test_a_pinned_key_is_accepted_without_the_ca(dovecot: Dovecot, credentials: None) -> None:
    pin = spki_pin(_der(dovecot.ca.cert_file))
    round_trip(dovecot, imap_mailbox(config(dovecot, ca_file=None, spki_sha256=pin)),
               "pin1@hil.test", "PIN12345")


@pytest.mark.parametrize("tls", ["ssl", "starttls"])
def test_another_pin_is_refused_before_login(
    dovecot: Dovecot, credentials: None, tmp_path: Path, tls: str
) -> None:
    wrong = spki_pin(_der(make_ca(tmp_path).cert_file))
    port = port_of(dovecot, tls)
    logins_before = dovecot.log().count("Login: ")
    message = refusal(
        imap_mailbox(config(dovecot, tls=tls, port=port, ca_file=None, spki_sha256=[wrong]))
    )
    assert message.startswith(f"IMAP 127.0.0.1:{port}: certificate pin mismatch"), message
    assert wrong in message and "mailbox.spki_sha256" in message
    assert dovecot.log().count("Login: ") == logins_before  # no credentials were sent


def _refused_and_released(box: ImapMailbox) -> str:
    """`refusal(box)`, keeping no reference to the failure: what is left open afterwards
    (a socket, the watchdog's timer) was left by the mailbox."""
    return refusal(box)


@pytest.mark.parametrize("tls", ["ssl", "starttls"])
def test_a_refused_handshake_leaves_no_timer_nor_socket(
    dovecot: Dovecot, credentials: None, tmp_path: Path, tls: str
) -> None:
    wrong = spki_pin(_der(make_ca(tmp_path).cert_file))
    box = imap_mailbox(config(dovecot, tls=tls, port=port_of(dovecot, tls), ca_file=None,
                              spki_sha256=[wrong]))
    before = set(threading.enumerate())
    gc.collect()  # what earlier tests left unreferenced goes first: not this test's
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        assert "certificate pin mismatch" in _refused_and_released(box)
        gc.collect()  # an unclosed socket says so when collected
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)
                and f"{box.port})" in str(w.message)]
    assert unclosed == []
    started = [t for t in threading.enumerate() if t not in before]
    for thread in started:
        thread.join(5)  # a cancelled timer ends at once; a running one waits 50 s
    assert [t.name for t in started if t.is_alive()] == []


def test_a_mail_the_server_dates_before_the_mark_is_found_by_its_uid(
    dovecot: Dovecot, credentials: None
) -> None:
    # A server whose clock is behind the harness's dates a mail delivered after the mark
    # before it: APPEND with such an INTERNALDATE. The mail before the mark is not taken.
    address = "behind1@hil.test"
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=30)
    context = ssl.create_default_context(cafile=str(dovecot.ca.ca_file))
    with IMAPClient("127.0.0.1", dovecot.imaps_port, ssl_context=context, timeout=WAIT_S) as imap:
        imap.login(USER, PASSWORD)
        imap.append("INBOX", mail("Device password reset code", "Verification code: OLD11111",
                                  to=address), msg_time=past)
        box = imap_mailbox(config(dovecot))
        since = box.mark(address)
        imap.append("INBOX", mail("Device password reset code", "Verification code: NEW22222",
                                  to=address), msg_time=past)
    found = box.wait_for(address, since, subject_contains="reset code", timeout=WAIT_S)
    assert "NEW22222" in found.body and found.received_at < since


def test_idle_finds_a_mail_delivered_while_waiting(dovecot: Dovecot, credentials: None) -> None:
    box = imap_mailbox(config(dovecot))
    box.poll = WAIT_S  # were it polling, it would not look again within the wait
    round_trip(dovecot, box, "idle1@hil.test", "IDLE1234", while_waiting=True)
    assert box.idles >= 1 and box.polls == 0


def test_a_server_without_idle_is_polled(credentials: None) -> None:
    with running_dovecot({USER: PASSWORD}, capability=NO_IDLE_CAPABILITY) as (plain, _):
        box = imap_mailbox(config(plain))
        box.poll = 0.2
        round_trip(plain, box, "poll1@hil.test", "POLL1234", while_waiting=True)
    assert box.polls >= 1 and box.idles == 0


def test_a_bcc_or_alias_mail_is_found_by_delivered_to(dovecot: Dovecot, credentials: None) -> None:
    box = imap_mailbox(config(dovecot))
    since = box.mark("hidden@hil.test")
    dovecot.deliver(USER, mail("code", "Verification code: BCC12345", to="list@hil.test",
                               delivered_to="Hidden@HIL.test"))
    dovecot.deliver(USER, mail("code", "Verification code: ALIAS123", to="list@hil.test",
                               x_original_to="alias@hil.test"))
    assert "BCC12345" in box.wait_for("hidden@hil.test", since, timeout=WAIT_S).body
    assert "ALIAS123" in box.wait_for("ALIAS@hil.test", since, timeout=WAIT_S).body


def test_a_cc_recipient_is_found_and_a_longer_address_is_not(
    dovecot: Dovecot, credentials: None
) -> None:
    box = imap_mailbox(config(dovecot))
    since = box.mark("cc1@hil.test")
    # The server's SEARCH matches substrings: xcc1@ holds cc1@, but is another address.
    dovecot.deliver(USER, mail("code", "Verification code: XCC12345", to="xcc1@hil.test"))
    dovecot.deliver(USER, mail("code", "Verification code: CC123456", to="list@hil.test",
                               cc="Someone <cc1@hil.test>"))
    assert "CC123456" in box.wait_for("cc1@hil.test", since, timeout=WAIT_S).body
    box.poll = 0.1
    with pytest.raises(MailNotReceived) as info:
        box.wait_for("cc1@hil.test", since, subject_contains="nothing like it", timeout=1)
    assert str(info.value).startswith(
        "no mail to cc1@hil.test with a subject containing 'nothing like it' arrived in "
        f"ImapMailbox({USER}@127.0.0.1:{dovecot.imaps_port}/INBOX) within 1 s"
    )


def test_xoauth2_by_a_token_from_the_environment(
    dovecot: Dovecot, introspection: Introspection, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = "ya29.hil-test-token-0123456789"
    introspection.grant(token, USER)
    monkeypatch.setenv(TOKEN_ENV, token)
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    entry = config(dovecot, auth="xoauth2", token_env=TOKEN_ENV, password_env=None)
    caplog.set_level(logging.DEBUG)  # imapclient logs every command at DEBUG
    box = mailbox_for(entry)
    round_trip(dovecot, box, "oauth1@hil.test", "OAUTH123")
    assert "AUTHENTICATE" in caplog.text  # it was logged, and the token was not
    assert token not in caplog.text and token not in repr(box) and token not in repr(entry)
    assert "method=XOAUTH2" in dovecot.log()


def test_the_lab_reads_its_imap_mailbox_and_masks_the_token(
    dovecot: Dovecot, introspection: Introspection, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    token = "ya29.hil-lab-token-5555555555"
    introspection.grant(token, USER)
    monkeypatch.setenv(TOKEN_ENV, token)
    entry = config(dovecot, auth="xoauth2", token_env=TOKEN_ENV, password_env=None)
    inventory = parse_inventory(f"devices: [{CAMERA}]\n").model_copy(update={"mailbox": entry})
    lab = LabSession(inventory=inventory, workdir=tmp_path, endpoints=None)
    round_trip(dovecot, lab.mailbox(), "lab1@hil.test", "LAB12345")
    assert lab.secrets.mask(f"Authorization: Bearer {token}") == "Authorization: Bearer ***"


def test_a_wrong_token_is_refused_in_one_line(
    dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "ya29.not-granted-9876543210"
    monkeypatch.setenv(TOKEN_ENV, token)
    message = refusal(
        imap_mailbox(config(dovecot, auth="xoauth2", token_env=TOKEN_ENV, password_env=None))
    )
    assert message.startswith(
        f"IMAP 127.0.0.1:{dovecot.imaps_port} refused the login of {USER} by XOAUTH2 "
        "access token"
    ), message
    assert token not in message


def test_a_wrong_password_is_refused_in_one_line(
    dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "Not-the-password-1")
    message = refusal(imap_mailbox(config(dovecot)))
    assert message.startswith(
        f"IMAP 127.0.0.1:{dovecot.imaps_port} refused the login of {USER} by password: "
    ), message
    assert "Not-the-password-1" not in message
    assert message.endswith("by password: [AUTHENTICATIONFAILED] Authentication failed."), message


def test_a_closed_port_is_one_line(credentials: None) -> None:
    port = free_port()
    message = refusal(ImapMailbox("127.0.0.1", port, USER, PASSWORD, io_timeout=5))
    assert message.startswith(
        f"IMAP 127.0.0.1:{port} unreachable or not speaking IMAP over TLS: "
    ), message
    assert PASSWORD not in message


def test_a_stalled_server_ends_the_wait_at_its_deadline(credentials: None) -> None:
    # Dovecot's imap process stops (SIGSTOP) while the wait is in IDLE: the server's TLS
    # end still holds the connection open, it just never answers.
    with running_dovecot({USER: PASSWORD}) as (stalling, _):
        box = ImapMailbox(
            "127.0.0.1", stalling.imaps_port, USER, PASSWORD, io_timeout=1,
            ssl_context=ssl.create_default_context(cafile=str(stalling.ca.ca_file)),
        )
        done: list[BaseException] = []

        def wait() -> None:
            try:
                box.wait_for("stall@hil.test", time.time(), timeout=3)
            except BaseException as exc:  # the failure is the result
                done.append(exc)

        waiter = threading.Thread(target=wait, daemon=True)
        waiter.start()
        stopped = _stop_imap_processes(stalling)
        try:
            waiter.join(HANG_LIMIT_S)
        finally:
            for process in stopped:
                process.send_signal(signal.SIGCONT)
    assert stopped, "no imap process to stall"
    assert done, "the IMAP wait did not end"
    assert isinstance(done[0], InfrastructureError) and not isinstance(done[0], MailNotReceived)
    assert str(done[0]).startswith(
        f"IMAP 127.0.0.1:{stalling.imaps_port} failed while waiting for mail to stall@hil.test"
    ), done[0]


def _stop_imap_processes(server: Dovecot) -> list[psutil.Process]:
    """SIGSTOP the imap process of the (one) logged-in session, once it runs IDLE."""
    assert server.process is not None
    master = psutil.Process(server.process.pid)
    deadline = time.monotonic() + HANG_LIMIT_S
    while time.monotonic() < deadline:
        if "IDLE" in _imap_titles(master):
            break
        time.sleep(0.05)
    stopped = [p for p in master.children(recursive=True) if p.name() == "imap"]
    for process in stopped:
        process.send_signal(signal.SIGSTOP)
    return stopped


def _imap_titles(master: psutil.Process) -> str:
    """The process titles of the imap processes: Dovecot shows each one's current command
    there (`verbose_proctitle`)."""
    titles = []
    for process in master.children(recursive=True):
        try:
            if process.name() == "imap":
                titles.append(" ".join(process.cmdline()))
        except psutil.NoSuchProcess:
            continue
    return "\n".join(titles)


def _der(pem_file: Path) -> bytes:
    return x509.load_pem_x509_certificate(pem_file.read_bytes()).public_bytes(Encoding.DER)




@pytest.mark.parametrize(
    ("mailbox", "expected"),
    [
        ("{kind: imap, host: h, user: u, auth: xoauth2}",
         "mailbox: auth xoauth2 needs token_env (the variable holding it)"),
        ("{kind: imap, host: h, user: u}",
         "mailbox: auth password needs password_env (the variable holding it)"),
        ("{kind: imap, host: h, user: u, password_env: P, token_env: T}",
         "mailbox: auth password takes password_env, not token_env"),
        ("{kind: imap, host: h, user: u, password_env: P, auth: oauth}",
         "mailbox.auth: expected 'password' or 'xoauth2', got 'oauth'"),
        ("{kind: imap, host: h, user: u, auth: xoauth2, token_env: 'a token'}",
         "mailbox.token_env: expected the name of an environment variable"),
        ("{kind: imap, host: h, user: u, password_env: P, spki_sha256: [PIN, abc]}",
         "mailbox.spki_sha256[1]: expected the base64 SHA-256 of the certificate's public key"),
        ("{kind: imap, host: h, user: u, password_env: P, tls: starttsl}",
         "mailbox.tls: expected 'ssl' or 'starttls', got 'starttsl'"),
    ],
)
def test_inventory_mistakes_in_the_mailbox_are_one_line(mailbox: str, expected: str) -> None:
    with pytest.raises(InventoryError) as info:
        parse_inventory(f"devices: [{CAMERA}]\nmailbox: {mailbox.replace('PIN', PIN)}\n")
    message = str(info.value)
    assert message.startswith("devices.yaml: line 2: " + expected), message
    assert "\n" not in message


def test_an_xoauth2_entry_with_a_pin_and_a_ca(tmp_path: Path) -> None:
    ca = make_ca(tmp_path / "tls")
    path = tmp_path / "devices.yaml"
    path.write_text(
        f"devices: [{CAMERA}]\nmailbox: {{kind: imap, host: h, user: u, auth: xoauth2, "
        f"token_env: HIL_T, spki_sha256: {PIN}, ca_file: '{ca.ca_file}'}}\n"
    )
    entry = load_inventory(path).mailbox
    assert isinstance(entry, ImapConfig)
    assert entry.spki_sha256 == (PIN,) and entry.ca_file == ca.ca_file
    path.write_text(path.read_text().replace(str(ca.ca_file), str(ca.key_file)))
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    assert str(info.value).startswith(
        f"{path}: mailbox.ca_file: cannot load the CA file '{ca.key_file}': not a PEM CA bundle"
    ), info.value
