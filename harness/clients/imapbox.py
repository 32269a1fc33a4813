"""A real lab's reserved mailbox over IMAP (imapclient).

TLS from the first byte (`ssl`) or STARTTLS before login, verified against the lab's CA
or a pin of the server's key; login by password or by an OAuth 2 access token (XOAUTH2:
Exchange Online, Gmail). A wait listens with IDLE where the server offers it, else polls.
A mail counts for an address named in To, Cc, Delivered-To or X-Original-To (a Bcc'd or
aliased mail names its recipient only in what the MTA adds on delivery).

Every wait is bounded: imapclient's timeout bounds each read, and a `Watchdog` shuts the
connection down once the wait and one more read timeout have passed, so a server that
drips its answers cannot hold a test. Credentials come from the inventory
(`ImapConfig.secret()`) and never reach a log or a repr.
"""

from __future__ import annotations

import contextlib
import datetime
import email.policy
import imaplib
import socket
import ssl
import threading
import time
from email.message import EmailMessage
from typing import Any, Final, Literal

from imapclient import IMAPClient, imap4
from imapclient import tls as imapclient_tls
from imapclient.exceptions import LoginError

from harness.clients.received import (
    DEFAULT_WAIT,
    RACE_MARGIN_S,
    ReceivedMail,
    matches,
    not_received,
    received_mail,
)
from harness.clients.tls import PinMismatch, TlsTrust, tls_context
from harness.clients.watchdog import Watchdog
from harness.errors import InfrastructureError
from harness.evidence import Secret
from harness.inventory.model import ImapConfig
from harness.waits import waiting

Auth = Literal["password", "xoauth2"]
# RFC 2177: a client re-issues IDLE at least every 29 minutes, or the server may drop it.
MAX_IDLE_S: Final = 25 * 60.0
# Headers a recipient is searched in on the server (the match is then checked exactly).
_SEARCH_HEADERS: Final = ("Delivered-To", "X-Original-To")
_IMAP_ERRORS: Final = (OSError, imaplib.IMAP4.error)
# The folder's UIDNEXT at each mark, by mailbox and the time `mark` returned: `mark` answers
# a time (the Mailbox protocol) and the wait handed that time back looks its floor up
# here (a test marks and waits in one process). Kept an hour.
_UID_FLOORS: dict[tuple[str, int, str, str, float], int] = {}
_UID_FLOORS_LOCK: Final = threading.Lock()
_UID_FLOOR_KEEP_S: Final = 3600.0


class ImapMailbox:
    """A real lab's mailbox over IMAP with TLS (`ssl`) or STARTTLS (see the module)."""

    def __init__(
        self,
        host: str,
        port: int,
        user: str,
        secret: str,
        *,
        auth: Auth = "password",
        tls: str = "ssl",
        folder: str = "INBOX",
        ssl_context: ssl.SSLContext | None = None,
        poll: float = 5.0,
        io_timeout: float = 30.0,
    ) -> None:
        self.host, self.port, self.user, self.folder = host, port, user, folder
        self._secret = Secret(secret)  # the password, or the access token (xoauth2)
        self.auth: Auth = auth
        self.tls = tls
        self.context = ssl_context or tls_context(True)
        self.poll = poll
        self.io_timeout = io_timeout
        # How the last wait waited: IDLE rounds and poll rounds (the tests read it).
        self.idles = 0
        self.polls = 0

    def __repr__(self) -> str:
        return f"ImapMailbox({self.user}@{self.host}:{self.port}/{self.folder})"

    @property
    def where(self) -> str:
        return f"IMAP {self.host}:{self.port}"

    def mark(self, to: str) -> float:
        """See `Mailbox.mark`: "now minus the margin", and the folder's UIDNEXT now. An
        IMAP server dates a mail to the second (INTERNALDATE), too coarse to tell a mail
        already there from one of the same second: a device's code mails back to back (a
        new QR, then its code) would be read as each other's. The UID is exact: the wait
        from this mark takes only mails the server numbered from UIDNEXT on. A server
        that cannot tell now leaves the margin alone (the wait then says what fails)."""
        since = time.time() - RACE_MARGIN_S
        with contextlib.suppress(InfrastructureError, *_IMAP_ERRORS):
            floor = self._uid_next()
            with _UID_FLOORS_LOCK:
                for key in [k for k in _UID_FLOORS if k[-1] < since - _UID_FLOOR_KEEP_S]:
                    del _UID_FLOORS[key]
                _UID_FLOORS[self._mark_key(since)] = floor
        return since

    def _mark_key(self, since: float) -> tuple[str, int, str, str, float]:
        return (self.host, self.port, self.user, self.folder, since)

    def _uid_next(self) -> int:
        watchdog = Watchdog(self.io_timeout)
        try:
            client = self._connect(watchdog)
            try:
                status = client.folder_status(self.folder, [b"UIDNEXT"])
                return int(status[b"UIDNEXT"])
            finally:
                with contextlib.suppress(*_IMAP_ERRORS):
                    client.logout()
        finally:
            watchdog.cancel()

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
        self.idles = self.polls = 0
        with _UID_FLOORS_LOCK:
            floor = _UID_FLOORS.get(self._mark_key(since))
        # With the folder's UIDNEXT at the mark, the UID alone tells a new mail: the
        # server's INTERNALDATE (its clock, maybe behind ours) no longer decides.
        cutoff = since if floor is None else float("-inf")
        seen: set[int] = set()
        watchdog = Watchdog(timeout + self.io_timeout)
        client: IMAPClient | None = None
        try:
            client = self._connect(watchdog)
            # Not harness.waits.wait_until: between looks the wait is an IMAP IDLE (the
            # server wakes it), not a sleep.
            while True:
                for mail in self._new_mails(client, to, since, floor, seen):
                    if matches(mail, to, cutoff, subject_contains):
                        return mail
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise not_received(to, subject_contains, repr(self), timeout, len(seen))
                self._await_news(client, remaining)
        except _IMAP_ERRORS as exc:
            raise InfrastructureError(
                f"{self.where} failed while waiting for mail to {to}{watchdog.reason()}: "
                f"{_one_line(exc)}"
            ) from None
        finally:
            watchdog.cancel()
            if client is not None:
                with contextlib.suppress(*_IMAP_ERRORS):
                    client.logout()

    def _connect(self, watchdog: Watchdog) -> IMAPClient:
        """A logged-in client with the folder selected read-only; `InfrastructureError`
        naming the step that failed."""
        try:
            client = _WatchedClient(
                watchdog, self.host, self.port, ssl=self.tls == "ssl",
                ssl_context=self.context, timeout=self.io_timeout,
            )
            if self.tls == "starttls":
                try:
                    client.starttls(self.context)
                except BaseException:
                    _close(client)  # the plain connection, refused by the handshake
                    raise
                watchdog.watch(client.socket())  # the TLS socket replaced the plain one
        except ssl.SSLCertVerificationError as exc:
            raise InfrastructureError(f"{self.where}: {_tls_refusal(exc)}") from None
        except _IMAP_ERRORS as exc:
            raise InfrastructureError(
                f"{self.where} unreachable or not speaking IMAP over "
                f"{'TLS' if self.tls == 'ssl' else 'STARTTLS'}{watchdog.reason()}: "
                f"{_one_line(exc)}"
            ) from None
        try:
            self._login(client)
            client.normalise_times = False  # INTERNALDATE with its zone: an exact instant
            client.select_folder(self.folder, readonly=True)
            return client
        except LoginError as exc:
            _close(client)
            how = "password" if self.auth == "password" else "XOAUTH2 access token"
            raise InfrastructureError(
                f"{self.where} refused the login of {self.user} by {how}: {_one_line(exc)}"
            ) from None
        except _IMAP_ERRORS as exc:
            _close(client)
            raise InfrastructureError(
                f"{self.where}: cannot open folder {self.folder!r} as {self.user}"
                f"{watchdog.reason()}: {_one_line(exc)}"
            ) from None

    def _login(self, client: IMAPClient) -> None:
        if self.auth == "xoauth2":
            client.oauth2_login(self.user, self._secret.reveal())
        else:
            client.login(self.user, self._secret.reveal())

    def _new_mails(
        self, client: IMAPClient, to: str, since: float, floor: int | None, seen: set[int]
    ) -> list[ReceivedMail]:
        """Mails naming `to` as a recipient that this wait has not looked at yet, oldest
        first: numbered from `floor` on (the folder's UIDNEXT at the mark), else dated
        from `since`. The server's SEARCH narrows (by UID or day, and by substring);
        `matches` decides."""
        if floor is not None:
            # "n:*" also names the highest UID below n when none is above: filtered below.
            window: list[Any] = ["UID", f"{floor}:*"]
        else:
            window = ["SINCE", datetime.datetime.fromtimestamp(since - 86400, datetime.UTC).date()]
        criteria: list[Any] = [*window, "OR", "OR", "TO", to, "CC", to,
                               "OR", "HEADER", _SEARCH_HEADERS[0], to,
                               "HEADER", _SEARCH_HEADERS[1], to]
        uids = [uid for uid in client.search(criteria)
                if uid not in seen and uid >= (floor or 0)]
        if not uids:
            return []
        seen.update(uids)
        fetched = client.fetch(uids, ["INTERNALDATE", "BODY.PEEK[]"])
        # In UID order: the server's delivery order, exact where INTERNALDATE has whole
        # seconds only (and the server's clock may be behind ours).
        found = [_parsed(fetched[uid]) for uid in sorted(fetched)]
        return [m for m in found if floor is not None or m.received_at >= since]

    def _await_news(self, client: IMAPClient, remaining: float) -> None:
        """Until the server reports a change (IDLE) or one poll interval has passed."""
        # Asked on each round: a server may announce IDLE only once logged in.
        if client.has_capability("IDLE"):
            self.idles += 1
            client.idle()
            client.idle_check(timeout=min(remaining, MAX_IDLE_S))
            client.idle_done()
        else:
            self.polls += 1
            time.sleep(min(self.poll, remaining))
            client.noop()  # lets the server report new mail in a read-only selection


def imap_mailbox(config: ImapConfig) -> ImapMailbox:
    """The reader of an inventory's `imap` mailbox, trusting what it says to trust."""
    trust = TlsTrust(
        device=f"mailbox {config.host}",
        ca_file=str(config.ca_file) if config.ca_file else None,
        spki_sha256=config.spki_sha256,
    )
    return ImapMailbox(
        config.host, config.port, config.user, config.secret(), auth=config.auth,
        tls=config.tls, folder=config.folder, ssl_context=tls_context(trust),
    )


class _WatchedClient(IMAPClient):  # type: ignore[misc]  # imapclient ships no types
    """An IMAPClient whose socket the watchdog may shut down from the moment it connects:
    imapclient reads the server's greeting inside its constructor."""

    def __init__(self, watchdog: Watchdog, *args: Any, **kwargs: Any) -> None:
        self._watchdog = watchdog
        super().__init__(*args, **kwargs)

    def _create_IMAP4(self) -> imaplib.IMAP4:  # imapclient's hook, its name
        watchdog, timeout = self._watchdog, self._timeout.connect
        if self.ssl:
            return _WatchedTls(watchdog, self.host, self.port, self.ssl_context, timeout)
        return _WatchedPlain(watchdog, self.host, self.port, timeout)


class _WatchedTls(imapclient_tls.IMAP4_TLS):  # type: ignore[misc]
    def __init__(self, watchdog: Watchdog, *args: Any) -> None:
        self._watchdog = watchdog
        super().__init__(*args)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        raw = socket.create_connection(
            (self.host, self.port), timeout if timeout is not None else self._timeout
        )
        self._watchdog.watch(raw)  # the handshake may drip too
        try:
            wrapped: socket.socket = imapclient_tls.wrap_socket(raw, self.ssl_context,
                                                                 self.host)
        except BaseException:
            raw.close()  # a refused certificate must not leave the connection open
            raise
        self._watchdog.watch(wrapped)
        return wrapped


class _WatchedPlain(imap4.IMAP4WithTimeout):  # type: ignore[misc]
    def __init__(self, watchdog: Watchdog, *args: Any) -> None:
        self._watchdog = watchdog
        super().__init__(*args)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        sock: socket.socket = super()._create_socket(timeout)
        self._watchdog.watch(sock)
        return sock


def _parsed(data: dict[bytes, Any]) -> ReceivedMail:
    message = email.message_from_bytes(
        data[b"BODY[]"], _class=EmailMessage, policy=email.policy.default
    )
    internal = data.get(b"INTERNALDATE")
    stamp = internal.timestamp() if isinstance(internal, datetime.datetime) else time.time()
    return received_mail(message, stamp)


def _tls_refusal(exc: ssl.SSLCertVerificationError) -> str:
    if isinstance(exc, PinMismatch):
        # tls.py words it for a device; say it for the mailbox's settings.
        detail = str(exc).split(": ", 1)[-1].replace("(tls.spki_sha256)", "(mailbox.spki_sha256)")
        return f"certificate pin mismatch: {detail}"
    return (
        f"TLS verification failed ({exc.verify_message or exc.reason}): is the lab's CA in "
        "mailbox.ca_file, or its key pinned in mailbox.spki_sha256?"
    )


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    # imapclient words a server's refusal as the repr of its bytes: b'[...] text'
    if text[:2] in ("b'", 'b"') and text[-1:] == text[1]:
        text = text[2:-1]
    return " ".join(text.split()) or type(exc).__name__


def _close(client: IMAPClient) -> None:
    with contextlib.suppress(*_IMAP_ERRORS):
        client.shutdown()
