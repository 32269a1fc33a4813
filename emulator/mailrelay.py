"""The lab's mail relay: an SMTP server on loopback that hands every mail to Dovecot's
LMTP service, as a lab's MTA (Postfix with `mailbox_transport = lmtp:...`) does.

The vendor cloud sends its code mails here; Dovecot delivers them into the reserved
mailbox and adds its own `Delivered-To` and `Return-Path`, so the harness reads over IMAP
what a real lab's mailbox holds. A delivery Dovecot refuses is refused to the sender
with Dovecot's answer (a temporary failure when Dovecot cannot be reached), never
dropped; each delivery is one log line (recipients and Dovecot's answer, no content).
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger(__name__)

RELAY_DOMAIN = "relay.rehearsal.test"
LMTP_TIMEOUT_S = 10.0
MAX_MAIL_BYTES = 10 * 1024 * 1024


class LmtpRelay:
    """aiosmtpd handler: each mail received goes to Dovecot's LMTP at `host:port`."""

    def __init__(self, lmtp_host: str, lmtp_port: int) -> None:
        self.lmtp_host = lmtp_host
        self.lmtp_port = lmtp_port
        self.delivered = 0

    def _deliver(self, sender: str, recipients: list[str], content: bytes) -> dict[str, Any]:
        with smtplib.LMTP(self.lmtp_host, self.lmtp_port, timeout=LMTP_TIMEOUT_S) as lmtp:
            return lmtp.sendmail(sender, recipients, content)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """aiosmtpd hook: deliver through LMTP before answering, as an MTA that accepts
        nothing it cannot deliver."""
        recipients = list(envelope.rcpt_tos)
        where = f"LMTP {self.lmtp_host}:{self.lmtp_port}"
        try:
            refused = await asyncio.to_thread(
                self._deliver, envelope.mail_from or "", recipients,
                envelope.original_content or b"")
        except smtplib.SMTPRecipientsRefused as exc:
            answers = "; ".join(f"{r}: {code} {text.decode(errors='replace')}"
                                for r, (code, text) in exc.recipients.items())
            log.warning("relay: %s refused every recipient: %s", where, answers)
            return "550 5.1.1 refused by the mailbox server: " + answers
        except (smtplib.SMTPException, OSError) as exc:
            log.error("relay: %s failed for %s: %s", where, ", ".join(recipients), exc)
            return f"451 4.3.0 mailbox server {where} unavailable"
        delivered = [r for r in recipients if r not in refused]
        self.delivered += len(delivered)
        log.info("relay: mail from <%s> delivered by %s to %s%s", envelope.mail_from, where,
                 ", ".join(delivered), f" (refused: {', '.join(refused)})" if refused else "")
        return "250 OK: delivered"


async def start_relay(host: str, port: int, lmtp_host: str, lmtp_port: int
                      ) -> tuple[asyncio.Server, LmtpRelay]:
    """The relay listening on `host:port` (0: a free port, read from the server's socket)."""
    relay = LmtpRelay(lmtp_host, lmtp_port)
    loop = asyncio.get_running_loop()
    # aiosmtpd's bare protocol in this loop (its Controller cannot report a free port).
    server = await loop.create_server(
        lambda: SMTP(relay, hostname=RELAY_DOMAIN, ident="hil rehearsal relay",
                     data_size_limit=MAX_MAIL_BYTES, timeout=60),
        host, port)
    return server, relay
