"""Mailboxes the verification-code mails arrive in.

The emulated lab runs `SmtpSink`, an SMTP server on loopback that stores every mail in a
Maildir, so any process (an xdist worker) reads it with `MaildirMailbox`. A real lab reads
the reserved address's mailbox over IMAP (`ImapMailbox`). Bodies may hold verification
codes: nothing here logs a body, and `ReceivedMail`'s repr leaves it out.
"""

from __future__ import annotations

import contextlib
import email.policy
import imaplib
import logging
import mailbox
import math
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from harness.errors import HarnessError, InfrastructureError
from harness.lab import ImapConfig, SmtpSinkConfig
from harness.waits import waiting

if TYPE_CHECKING:
    # aiosmtpd is only needed where the sink runs (the lab host): every pytest process
    # and xdist worker imports this module for the Maildir reader alone.
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger(__name__)

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


def _text_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    return content if isinstance(content, str) else ""


def _recipients(message: EmailMessage) -> tuple[str, ...]:
    headers = [str(v) for name in (ENVELOPE_TO, "To", "Cc") for v in message.get_all(name, [])]
    return tuple(dict.fromkeys(addr.lower() for _, addr in getaddresses(headers) if addr))


def _received_mail(message: EmailMessage, received_at: float) -> ReceivedMail:
    return ReceivedMail(
        to=_recipients(message),
        sender=str(message.get("From", "")),
        subject=str(message.get("Subject", "")),
        received_at=received_at,
        body=_text_body(message),
        message=message,
    )


def _matches(mail: ReceivedMail, to: str, since: float, subject_contains: str | None) -> bool:
    return (
        mail.received_at >= since
        and to.lower() in mail.to
        and (subject_contains is None or subject_contains.lower() in mail.subject.lower())
    )


def _not_received(
    to: str, subject_contains: str | None, where: str, timeout: float, seen: int
) -> MailNotReceived:
    subject = f" with a subject containing {subject_contains!r}" if subject_contains else ""
    return MailNotReceived(
        f"no mail to {to}{subject} arrived in {where} within {timeout:g} s "
        f"({seen} other mail(s) arrived in that time)"
    )


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
        box = mailbox.Maildir(self.path, factory=None, create=False)
        found: list[ReceivedMail] = []
        for key in box.iterkeys():
            try:
                with box.get_file(key) as handle:
                    raw = handle.read()
            except FileNotFoundError:
                continue  # moved or removed between listing and reading
            message = email.message_from_bytes(
                raw, _class=EmailMessage, policy=email.policy.default
            )
            stamp = message.get(RECEIVED_AT)
            received = float(stamp) if stamp else box.get_message(key).get_date()
            if received >= since:
                found.append(_received_mail(message, received))
        return sorted(found, key=lambda m: m.received_at)

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
        deadline = time.monotonic() + timeout
        with waiting(f"a mail to {to}", timeout):
            while True:
                mails = self.messages(since)
                for mail in mails:
                    if _matches(mail, to, since, subject_contains):
                        return mail
                if time.monotonic() >= deadline:
                    raise _not_received(
                        to, subject_contains, f"Maildir {self.path}", timeout, len(mails)
                    )
                time.sleep(self.poll)


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


class ImapMailbox:
    """A real lab's mailbox over IMAP with TLS (`ssl`) or STARTTLS.

    Credentials come from the inventory (`ImapConfig.secret()`), never from code.
    """

    def __init__(
        self,
        host: str,
        port: int,
        user: str,
        password: str,
        *,
        tls: str = "ssl",
        folder: str = "INBOX",
        ssl_context: ssl.SSLContext | None = None,
        poll: float = 5.0,
        io_timeout: float = 30.0,
    ) -> None:
        self.host, self.port, self.user, self.folder = host, port, user, folder
        self._password = password
        self.tls = tls
        self.context = ssl_context or ssl.create_default_context()
        self.poll = poll
        self.io_timeout = io_timeout

    def __repr__(self) -> str:
        return f"ImapMailbox({self.user}@{self.host}:{self.port}/{self.folder})"

    def _connect(self, watchdog: Watchdog) -> imaplib.IMAP4:
        try:
            client: imaplib.IMAP4
            if self.tls == "ssl":
                client = _watched(imaplib.IMAP4_SSL, watchdog)(
                    self.host, self.port, ssl_context=self.context, timeout=self.io_timeout
                )
            else:
                client = _watched(imaplib.IMAP4, watchdog)(
                    self.host, self.port, timeout=self.io_timeout
                )
                client.starttls(ssl_context=self.context)
            client.login(self.user, self._password)
            status, _ = client.select(self.folder, readonly=True)
            if status != "OK":
                raise InfrastructureError(f"IMAP {self!r}: cannot open folder {self.folder!r}")
            return client
        except (OSError, imaplib.IMAP4.error) as exc:
            raise InfrastructureError(
                f"IMAP {self.host}:{self.port} unreachable or refused login for {self.user}"
                f"{watchdog.reason()}: {exc}"
            ) from None

    def _fetch_since(self, client: imaplib.IMAP4, to: str, since: float) -> list[ReceivedMail]:
        day = time.strftime("%d-%b-%Y", time.gmtime(since - 86400))  # SINCE is by date only
        status, data = client.uid("SEARCH", "SINCE", day, "TO", _quote(to))
        if status != "OK" or not data or not data[0]:
            return []
        found: list[ReceivedMail] = []
        for uid in data[0].split():
            status, parts = client.uid("FETCH", uid.decode(), "(INTERNALDATE RFC822)")
            if status != "OK":
                continue
            found.extend(_parse_fetch(parts))
        return [m for m in found if m.received_at >= since]

    def mark(self, to: str) -> float:
        """See `Mailbox.mark`: "now minus the margin" only. An IMAP server dates a mail to
        the second (INTERNALDATE), too coarse to tell a mail already there from one of the
        same second; with a real cloud's delivery time of seconds the margin is safe."""
        return time.time() - RACE_MARGIN_S

    def wait_for(
        self,
        to: str,
        since: float,
        subject_contains: str | None = None,
        timeout: float = DEFAULT_WAIT,
    ) -> ReceivedMail:
        """The first mail to `to` since `since` (see `Mailbox.wait_for`)."""
        with waiting(f"a mail to {to}", timeout):
            return self._wait_for(to, since, subject_contains, timeout)

    def _wait_for(
        self, to: str, since: float, subject_contains: str | None, timeout: float
    ) -> ReceivedMail:
        deadline = time.monotonic() + timeout
        # imaplib's timeout bounds each read: a server dripping its answers would hold the
        # wait for ever. The watchdog ends the connection once the wait and one more read
        # timeout have passed.
        watchdog = Watchdog(timeout + self.io_timeout)
        client = self._connect(watchdog)
        try:
            while True:
                client.noop()  # lets the server report new mail in a read-only selection
                mails = sorted(self._fetch_since(client, to, since), key=lambda m: m.received_at)
                for mail in mails:
                    if _matches(mail, to, since, subject_contains):
                        return mail
                if time.monotonic() >= deadline:
                    raise _not_received(to, subject_contains, repr(self), timeout, len(mails))
                time.sleep(self.poll)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise InfrastructureError(
                f"IMAP {self!r} failed while waiting for mail to {to}{watchdog.reason()}: {exc}"
            ) from None
        finally:
            watchdog.cancel()
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                client.logout()


class Watchdog:
    """Shuts a connection's socket down once `seconds` have passed, so that a read blocked
    on a peer that drips its answer (within every per-read timeout) ends."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fired = False
        self._socket: socket.socket | None = None
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        """The socket to shut down (now, if the time is already up)."""
        self._socket = sock
        if self.fired:
            self._fire()

    def reason(self) -> str:
        """Why a read failed, when the watchdog ended it ("" otherwise)."""
        return f" (no complete answer within {self.seconds:g} s)" if self.fired else ""

    def cancel(self) -> None:
        self._timer.cancel()

    def _fire(self) -> None:
        self.fired = True
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)


_Imap = TypeVar("_Imap", bound=imaplib.IMAP4)


def _watched(base: type[_Imap], watchdog: Watchdog) -> type[_Imap]:
    """`base` whose socket the watchdog may shut down (imaplib opens it in __init__)."""

    class Watched(base):  # type: ignore[valid-type,misc]
        def _create_socket(self, timeout: float | None) -> socket.socket:
            sock: socket.socket = super()._create_socket(timeout)
            watchdog.watch(sock)
            return sock

    return Watched


def _quote(text: str) -> str:
    return '"' + re.sub(r'(["\\])', r"\\\1", text) + '"'


def _parse_fetch(parts: list[Any]) -> list[ReceivedMail]:
    found: list[ReceivedMail] = []
    for part in parts:
        if not isinstance(part, tuple) or len(part) < 2:
            continue
        meta, raw = part[0], part[1]
        internal = re.search(rb'INTERNALDATE "([^"]+)"', meta)
        message = email.message_from_bytes(raw, _class=EmailMessage, policy=email.policy.default)
        if internal:
            received = imaplib.Internaldate2tuple(b'INTERNALDATE "' + internal[1] + b'"')
            stamp = time.mktime(received) if received else time.time()
        else:
            date = message.get("Date")
            stamp = parsedate_to_datetime(str(date)).timestamp() if date else time.time()
        found.append(_received_mail(message, stamp))
    return found


def mailbox_for(config: SmtpSinkConfig | ImapConfig, maildir: Path | str | None = None) -> Mailbox:
    """The reader for an inventory's `mailbox:` entry.

    An `smtp-sink` is read through the Maildir the running lab writes (`maildir`, from
    lab.json); `imap` logs in with the password from its `password_env` variable.
    """
    if isinstance(config, SmtpSinkConfig):
        if maildir is None:
            raise HarnessError("an smtp-sink mailbox needs the running lab's Maildir path")
        return MaildirMailbox(maildir)
    return ImapMailbox(
        config.host,
        config.port,
        config.user,
        config.secret(),
        tls=config.tls,
        folder=config.folder,
    )
