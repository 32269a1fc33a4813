"""The SMTP sink and Maildir mailbox: a real SMTP client sends, another process reads."""

from __future__ import annotations

import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from harness.clients.mail import (
    RACE_MARGIN_S,
    ImapMailbox,
    MaildirMailbox,
    MailNotReceived,
    SmtpSink,
    mailbox_for,
)
from harness.errors import HarnessError, InfrastructureError
from harness.inventory.fields import MissingSecret
from harness.inventory.model import ImapConfig, SmtpSinkConfig

TIMEOUT = 30.0


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[SmtpSink]:
    with SmtpSink(tmp_path / "maildir") as running:
        yield running


def send(sink: SmtpSink, to: str, subject: str, body: str, rcpt: str | None = None) -> None:
    message = EmailMessage()
    message["From"] = "noreply@cloud.hik-emulator.test"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP(sink.host, sink.port, timeout=TIMEOUT) as client:
        client.send_message(message, to_addrs=[rcpt or to])


def test_a_sent_mail_is_found(sink: SmtpSink) -> None:
    since = time.time()
    send(
        sink,
        "qa1@hil.test",
        "Device password reset code for DS-2CD0001",
        "Verification code: AB3K9ZQ7",
    )
    mail = sink.mailbox().wait_for(
        "QA1@hil.test", since, subject_contains="reset code", timeout=TIMEOUT
    )
    assert mail.subject == "Device password reset code for DS-2CD0001"
    assert "AB3K9ZQ7" in mail.body
    assert "qa1@hil.test" in mail.to
    assert "AB3K9ZQ7" not in repr(mail)  # codes never reach a log through repr


def test_only_mails_since_and_to_the_address_match(sink: SmtpSink) -> None:
    send(sink, "qa2@hil.test", "old", "old mail")
    time.sleep(0.05)  # orders the two mails' arrival; no assertion on timing
    since = time.time()
    send(sink, "other@hil.test", "reset", "not for qa2")
    send(sink, "qa2@hil.test", "reset", "new mail")
    mail = sink.mailbox().wait_for("qa2@hil.test", since, timeout=TIMEOUT)
    assert mail.body.strip() == "new mail"


def test_envelope_recipient_counts_when_to_differs(sink: SmtpSink) -> None:
    since = time.time()
    send(sink, "list@hil.test", "reset", "bcc", rcpt="hidden@hil.test")
    assert sink.mailbox().wait_for("hidden@hil.test", since, timeout=TIMEOUT).body.strip() == "bcc"


def test_timeout_names_address_and_wait(sink: SmtpSink) -> None:
    since = time.time()
    send(sink, "someone@hil.test", "unrelated", "x")
    sink.mailbox().wait_for("someone@hil.test", since, timeout=TIMEOUT)
    with pytest.raises(MailNotReceived) as info:
        MaildirMailbox(sink.maildir, poll=0.05).wait_for(
            "nobody@hil.test", since, subject_contains="reset code", timeout=0.3
        )
    assert str(info.value) == (
        f"no mail to nobody@hil.test with a subject containing 'reset code' arrived in Maildir "
        f"{sink.maildir} within 0.3 s (1 other mail(s) arrived in that time)"
    )
    assert isinstance(info.value, InfrastructureError)


def test_another_process_reads_the_maildir(sink: SmtpSink) -> None:
    since = time.time()
    send(sink, "worker@hil.test", "Device password reset code for X", "Verification code: ZZ23ZZ45")
    reader = (
        "import sys; from harness.clients.mail import MaildirMailbox;"
        "m = MaildirMailbox(sys.argv[1]).wait_for("
        "'worker@hil.test', float(sys.argv[2]), timeout=30);"
        "print(m.subject)"
    )
    out = subprocess.run(
        [sys.executable, "-c", reader, str(sink.maildir), repr(since)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.stdout.strip() == "Device password reset code for X"


def test_attachments_are_kept(sink: SmtpSink) -> None:
    since = time.time()
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "qa@hil.test", "pw@hil.test", "QR"
    message.set_content("see attachment")
    message.add_attachment(b"\x89PNG fake", maintype="image", subtype="png", filename="qr.png")
    with smtplib.SMTP(sink.host, sink.port, timeout=TIMEOUT) as client:
        client.send_message(message)
    mail = sink.mailbox().wait_for("pw@hil.test", since, timeout=TIMEOUT)
    assert mail.attachments() == [("qr.png", b"\x89PNG fake")]


def test_not_a_maildir(tmp_path: Path) -> None:
    with pytest.raises(InfrastructureError, match="is not a Maildir"):
        MaildirMailbox(tmp_path).wait_for("a@b.c", 0, timeout=0)


def test_sink_on_a_taken_port_is_one_clear_error(sink: SmtpSink, tmp_path: Path) -> None:
    with pytest.raises(
        InfrastructureError, match=f"cannot start the SMTP sink on 127.0.0.1:{sink.port}"
    ):
        SmtpSink(tmp_path / "other", port=sink.port).start()


def test_mailbox_for_the_inventory_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sink_box = mailbox_for(SmtpSinkConfig(kind="smtp-sink"), tmp_path)
    assert isinstance(sink_box, MaildirMailbox)
    with pytest.raises(HarnessError, match="needs the running lab's Maildir"):
        mailbox_for(SmtpSinkConfig(kind="smtp-sink"))
    imap = ImapConfig(kind="imap", host="imap.lab.test", user="qa", password_env="HIL_IMAP_PW")
    monkeypatch.delenv("HIL_IMAP_PW", raising=False)
    with pytest.raises(MissingSecret, match="HIL_IMAP_PW is not set"):
        mailbox_for(imap)
    monkeypatch.setenv("HIL_IMAP_PW", "secret-value")
    imap_box = mailbox_for(imap)
    assert isinstance(imap_box, ImapMailbox)
    assert "secret-value" not in repr(imap_box)


def test_a_mark_sees_new_mail_but_not_the_mail_just_before(sink: SmtpSink) -> None:
    # Tests of one device run back to back: the previous test's code mail, received well
    # inside the race margin, must not be read as the next test's.
    box = sink.mailbox()
    send(sink, "qa5@hil.test", "code", "Verification code: PREV2345")
    previous = box.wait_for("qa5@hil.test", time.time() - 5, timeout=TIMEOUT)
    mark = box.mark("qa5@hil.test")
    assert mark > previous.received_at
    send(sink, "qa5@hil.test", "code", "Verification code: NEXT6789")
    assert "NEXT6789" in box.wait_for("qa5@hil.test", mark, timeout=TIMEOUT).body


def test_a_mark_keeps_the_race_margin_for_an_address_without_mail(sink: SmtpSink) -> None:
    before = time.time()
    mark = sink.mailbox().mark("nobody-yet@hil.test")
    assert before - RACE_MARGIN_S <= mark <= time.time() - RACE_MARGIN_S


def test_a_mail_without_the_sinks_stamp_is_dated_by_its_file(tmp_path: Path) -> None:
    """A mail put into the Maildir by other means (no arrival stamp) is dated by its file,
    and a wait since a later time neither returns it nor needs to read it."""
    import mailbox
    import os

    box = mailbox.Maildir(tmp_path / "box", create=True)
    key = box.add(b"To: qa@lab.example\r\nSubject: old\r\n\r\nbody\r\n")
    hour_ago = time.time() - 3600
    os.utime(tmp_path / "box" / "new" / key, (hour_ago, hour_ago))
    reader = MaildirMailbox(tmp_path / "box")
    (old,) = reader.messages(0.0)
    assert abs(old.received_at - hour_ago) < 1
    assert reader.messages(time.time() - 60) == []
