"""The private Dovecot of the IMAP tests: emulator/mailserver.py (the rehearsal lab's
mailbox uses the same starter), under the names test_mail_imap.py imports."""

from __future__ import annotations

from emulator.mailserver import (
    NO_IDLE_CAPABILITY,
    Dovecot,
    Introspection,
    MailServerError,
    ServerCert,
    make_ca,
    running_dovecot,
    start_dovecot,
)

TestCa = ServerCert  # the name it had here

__all__ = ["NO_IDLE_CAPABILITY", "Dovecot", "Introspection", "MailServerError", "ServerCert",
           "TestCa", "make_ca", "running_dovecot", "start_dovecot"]
