"""Mailboxes the verification-code mails arrive in.

The emulated lab runs `SmtpSink`, an SMTP server on loopback that stores every mail in a
Maildir, so any process (an xdist worker) reads it with `MaildirMailbox`. A real lab reads
the reserved address's mailbox over IMAP (`ImapMailbox`). Bodies may hold verification
codes: nothing here logs a body, and `ReceivedMail`'s repr leaves it out.
"""

from __future__ import annotations

import email.policy
import logging
import mailbox
import math
import os
import socket
import time
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Final

from harness.clients.imapbox import ImapMailbox, imap_mailbox
from harness.clients.received import (
    DEFAULT_WAIT,
    ENVELOPE_TO,
    RACE_MARGIN_S,
    RECEIVED_AT,
    Mailbox,
    MailNotReceived,
    ReceivedMail,
    matches,
    not_received,
    received_mail,
)
from harness.errors import HarnessError, InfrastructureError
from harness.inventory.model import ImapConfig, SmtpSinkConfig
from harness.waits import wait_until

if TYPE_CHECKING:
    # aiosmtpd is only needed where the sink runs (the lab host): every pytest process
    # and xdist worker imports this module for the Maildir reader alone.
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger(__name__)

# Re-exported: callers import every mailbox name from here.
__all__ = [
    "DEFAULT_WAIT",
    "ENVELOPE_TO",
    "RACE_MARGIN_S",
    "RECEIVED_AT",
    "ImapMailbox",
    "MailNotReceived",
    "Mailbox",
    "MaildirMailbox",
    "ReceivedMail",
    "SmtpSink",
    "free_port",
    "mailbox_for",
]


# A mail file's time may trail its arrival stamp by the write; a margin for coarse file
# system clocks too.
_MTIME_SLACK_S: Final = 2.0


class MaildirMailbox:
    """Reads the Maildir an `SmtpSink` writes; safe to use from many processes at once."""

    def __init__(self, path: Path | str, poll: float = 0.2) -> None:
        self.path = Path(path)
        self.poll = poll

    def messages(self, since: float = 0.0) -> list[ReceivedMail]:
        """Every mail received at or after `since`, oldest first."""
        if not (self.path / "new").is_dir():
            raise InfrastructureError(
                f"mailbox {self.path} is not a Maildir (is the lab's SMTP sink running?)"
            )
        found: list[ReceivedMail] = []
        for file, written in self._files_since(since - _MTIME_SLACK_S):
            try:
                raw = file.read_bytes()
            except FileNotFoundError:
                continue  # moved or removed between listing and reading
            message = email.message_from_bytes(
                raw, _class=EmailMessage, policy=email.policy.default
            )
            stamp = message.get(RECEIVED_AT)
            received = float(stamp) if stamp else written
            if received >= since:
                found.append(received_mail(message, received))
        return sorted(found, key=lambda m: m.received_at)

    def _files_since(self, oldest: float) -> list[tuple[Path, float]]:
        """The Maildir's mail files written at or after `oldest`, with their write time.

        Why by the file's time: a lab's Maildir keeps every mail of the run (hundreds), and
        parsing each one at every poll made a wait cost grow with the run's length (0.1 s of
        CPU per poll at 100 mails). The sink writes a mail's file right after stamping its
        arrival, on this machine's clock, so a file older than `oldest` holds no newer mail.
        """
        files: list[tuple[Path, float]] = []
        for folder in ("new", "cur"):
            try:
                entries = list(os.scandir(self.path / folder))
            except FileNotFoundError:
                continue
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    written = entry.stat().st_mtime
                except FileNotFoundError:
                    continue
                if written >= oldest:
                    files.append((Path(entry.path), written))
        return files

    def mark(self, to: str) -> float:
        """See `Mailbox.mark`. Why not only "now minus the margin": tests of one device run
        back to back, and a code mailed to the previous test less than the margin ago would
        be read as this one's. The sink stamps arrival to the microsecond, so just after
        the newest mail already there is exact."""
        start = time.time() - RACE_MARGIN_S
        address = to.lower()
        newest = max((m.received_at for m in self.messages(start) if address in m.to),
                     default=None)
        return start if newest is None else max(start, math.nextafter(newest, math.inf))

    def wait_for(
        self,
        to: str,
        since: float,
        subject_contains: str | None = None,
        timeout: float = DEFAULT_WAIT,
    ) -> ReceivedMail:
        """The first mail to `to` since `since` (see `Mailbox.wait_for`)."""
        seen = [0]  # how many mails the last look found, for the error

        def first_match() -> ReceivedMail | None:
            mails = self.messages(since)
            seen[0] = len(mails)
            return next((m for m in mails if matches(m, to, since, subject_contains)), None)

        mail = wait_until(first_match, timeout, f"a mail to {to}", interval=self.poll)
        if mail is None:
            raise not_received(to, subject_contains, f"Maildir {self.path}", timeout, seen[0])
        return mail


class _MaildirHandler:
    """aiosmtpd handler: every accepted mail goes into the Maildir with its arrival time."""

    def __init__(self, path: Path) -> None:
        # Maildir(create=True) makes tmp/new/cur only when the folder itself is new.
        for sub in ("tmp", "new", "cur"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        self.box = mailbox.Maildir(path, create=False)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        # Envelope recipients first: a Bcc'd or relayed mail may not name them in To.
        header = (
            f"{RECEIVED_AT}: {time.time():.6f}\r\n{ENVELOPE_TO}: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        # Maildir.add writes into tmp/ and renames into new/: readers never see half a mail.
        self.box.add(header + content)
        log.info("mail accepted for %s", ", ".join(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free right now on `host` (aiosmtpd's Controller cannot bind port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _check_bindable(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio's server does
        sock.bind((host, port))


class SmtpSink:
    """An SMTP server on loopback storing every mail in a Maildir. Start, use, stop."""

    def __init__(
        self, maildir: Path | str, host: str = "127.0.0.1", port: int | None = None
    ) -> None:
        self.maildir = Path(maildir)
        self.host = host
        self.requested_port = port
        self.port = 0
        self._controller: Controller | None = None

    def start(self) -> SmtpSink:
        """Bind and serve; a few free ports are tried since another process may take one."""
        handler = _MaildirHandler(self.maildir)
        attempts = 1 if self.requested_port else 5
        from aiosmtpd.controller import Controller

        last: BaseException | None = None
        for _ in range(attempts):
            port = self.requested_port or free_port(self.host)
            try:
                _check_bindable(self.host, port)
            except OSError as exc:
                # aiosmtpd would only notice after its ready_timeout.
                last = exc
                continue
            controller = Controller(
                handler,
                hostname=self.host,
                port=port,
                ready_timeout=10.0,
                data_size_limit=10 * 1024 * 1024,
            )
            try:
                controller.start()
            except Exception as exc:
                last = exc
                continue
            self._controller, self.port = controller, port
            return self
        raise InfrastructureError(
            f"cannot start the SMTP sink on {self.host}:"
            f"{self.requested_port or 'a free port'}: {last}"
        )

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        if self._controller is not None:
            controller, self._controller = self._controller, None
            controller.stop()

    def mailbox(self) -> MaildirMailbox:
        """A reader of this sink's Maildir."""
        return MaildirMailbox(self.maildir)

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def mailbox_for(config: SmtpSinkConfig | ImapConfig, maildir: Path | str | None = None) -> Mailbox:
    """The reader for an inventory's `mailbox:` entry.

    An `smtp-sink` is read through the Maildir the running lab writes (`maildir`, from
    lab.json); `imap` logs in with the password or token its `*_env` variable holds.
    """
    if isinstance(config, SmtpSinkConfig):
        if maildir is None:
            raise HarnessError("an smtp-sink mailbox needs the running lab's Maildir path")
        return MaildirMailbox(maildir)
    return imap_mailbox(config)
