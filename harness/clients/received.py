"""What every mailbox reader shares: the received mail, the `Mailbox` protocol, and how a
mail is matched to the address a test waits on.

Readers: `MaildirMailbox` (harness/clients/mail.py, the emulated lab's SMTP sink) and
`ImapMailbox` (harness/clients/imapbox.py, a real lab's mailbox). Bodies may hold verification
codes: `ReceivedMail`'s repr leaves the body out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Protocol

from harness.errors import InfrastructureError

RECEIVED_AT = "X-HIL-Received-At"
ENVELOPE_TO = "X-HIL-Envelope-To"
DEFAULT_WAIT = 120.0  # the cloud promises "within 5 minutes"; the emulated one is quick
# How far before "now" a mail wait starts, so a mail racing the request that causes it is
# still seen (clocks of sink and reader, a fast cloud).
RACE_MARGIN_S = 1.0


class MailNotReceived(InfrastructureError):
    """No matching mail arrived within the wait."""


@dataclass(frozen=True)
class ReceivedMail:
    """One received mail. The body is kept out of repr: it may hold a verification code."""

    to: tuple[str, ...]
    sender: str
    subject: str
    received_at: float
    body: str = field(repr=False)
    message: EmailMessage = field(repr=False, compare=False)

    def attachments(self) -> list[tuple[str, bytes]]:
        """(filename, content) of each attachment."""
        found: list[tuple[str, bytes]] = []
        for part in self.message.iter_attachments():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                found.append((part.get_filename() or "", payload))
        return found


class Mailbox(Protocol):
    """Where the mails for the lab's reserved addresses can be read."""

    def wait_for(
        self,
        to: str,
        since: float,
        subject_contains: str | None = None,
        timeout: float = DEFAULT_WAIT,
    ) -> ReceivedMail:
        """The first mail to `to` received at or after `since` (epoch seconds) whose subject
        contains `subject_contains`; `MailNotReceived` after `timeout` seconds."""
        ...

    def mark(self, to: str) -> float:
        """A `since` for a mail to `to` that is about to be caused: it sees a mail arriving
        from now on (with `RACE_MARGIN_S` of slack) but none `to` has already received."""
        ...


def text_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    return content if isinstance(content, str) else ""


# Where a recipient may be named: the sink's envelope, the headers, and what the lab's MTA
# adds on delivery (a Bcc'd or aliased mail names its recipient only there).
RECIPIENT_HEADERS = (ENVELOPE_TO, "To", "Cc", "Delivered-To", "X-Original-To")


def recipients(message: EmailMessage) -> tuple[str, ...]:
    headers = [str(v) for name in RECIPIENT_HEADERS for v in message.get_all(name, [])]
    return tuple(dict.fromkeys(addr.lower() for _, addr in getaddresses(headers) if addr))


def received_mail(message: EmailMessage, received_at: float) -> ReceivedMail:
    return ReceivedMail(
        to=recipients(message),
        sender=str(message.get("From", "")),
        subject=str(message.get("Subject", "")),
        received_at=received_at,
        body=text_body(message),
        message=message,
    )


def matches(mail: ReceivedMail, to: str, since: float, subject_contains: str | None) -> bool:
    return (
        mail.received_at >= since
        and to.lower() in mail.to
        and (subject_contains is None or subject_contains.lower() in mail.subject.lower())
    )


def not_received(
    to: str, subject_contains: str | None, where: str, timeout: float, seen: int
) -> MailNotReceived:
    subject = f" with a subject containing {subject_contains!r}" if subject_contains else ""
    return MailNotReceived(
        f"no mail to {to}{subject} arrived in {where} within {timeout:g} s "
        f"({seen} other mail(s) arrived in that time)"
    )
