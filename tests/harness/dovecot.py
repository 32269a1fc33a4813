"""A real Dovecot IMAP server on loopback for the tests of the lab mailbox (`ImapMailbox`).

Debian's dovecot-imapd (scripts/ensure.sh installs it) runs from a config of its own in a
private folder: its own base_dir, listeners on free 127.0.0.1 ports (imaps, and imap with
STARTTLS), a certificate signed by a test CA, users in a passwd-file, Maildirs in the
folder. A system Dovecot (ports 143/993) is neither used nor disturbed.

XOAUTH2 and OAUTHBEARER go to Dovecot's `oauth2` passdb, which asks a token
introspection endpoint (RFC 7662) whether a bearer token is active and whose it is: a
small real HTTP server in this process (`Introspection`) answers for the tokens a test
grants.
"""

from __future__ import annotations

import contextlib
import datetime
import grp
import http.server
import ipaddress
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness.mail import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
START_LIMIT_S = 15.0
# Dovecot's IMAP capabilities without IDLE: a server that makes the mailbox poll.
NO_IDLE_CAPABILITY = "IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE NAMESPACE UIDPLUS"


@dataclass(frozen=True)
class TestCa:
    """A CA and the server certificate it signed for 127.0.0.1, as PEM files."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def make_ca(folder: Path, label: str = "HIL test lab CA") -> TestCa:
    """A fresh CA in `folder` and a server certificate for 127.0.0.1/localhost it signed."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder().subject_name(_name(label)).issuer_name(_name(label))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                          content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(_name("imap.hil.test")).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost"),
        ]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    made = TestCa(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    made.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    made.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    made.key_file.write_bytes(_pem_key(key))
    return made


class Introspection:
    """A token introspection endpoint (RFC 7662) on 127.0.0.1: a granted token is active
    for its user, any other is not. Dovecot's oauth2 passdb POSTs `token=...` to it."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}
        self.asked = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                token = (form.get("token") or [""])[0]
                owner.asked += 1
                user = owner.tokens.get(token)
                answer = {"active": True, "username": user} if user else {"active": False}
                body = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # the request line holds no token (it is in the body); keep quiet

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/introspect"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def grant(self, token: str, user: str) -> None:
        self.tokens[token] = user

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Dovecot:
    """A running Dovecot: where to reach it, its users, and how to deliver mail."""

    folder: Path
    ca: TestCa
    imaps_port: int
    imap_port: int
    users: dict[str, str]
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def config(self) -> Path:
        return self.folder / "dovecot.conf"

    def log(self) -> str:
        """What Dovecot logged so far (tests read it when something failed)."""
        path = self.folder / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def deliver(self, user: str, raw: bytes) -> None:
        """Deliver one mail into `user`'s INBOX with Dovecot's own `doveadm save`, as the
        lab's MTA would hand it over (the mail's headers are what the MTA added)."""
        done = subprocess.run(
            ["doveadm", "-c", str(self.config), "save", "-u", user, "-m", "INBOX"],
            input=raw, capture_output=True, timeout=START_LIMIT_S, check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"doveadm save failed: {done.stderr.decode(errors='replace')}")

    def stop(self) -> None:
        if self.process is not None:
            process, self.process = self.process, None
            process.terminate()
            try:
                process.wait(timeout=START_LIMIT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=START_LIMIT_S)
        shutil.rmtree(self.folder, ignore_errors=True)


def _config(folder: Path, ca: TestCa, imaps: int, imap: int, capability: str | None) -> str:
    root = os.geteuid() == 0
    # As root Dovecot's own users (dovecot, dovenull) run auth and login, and the mail
    # processes run as `mail_user`; as anyone else, everything runs as that user.
    me = pwd.getpwuid(os.geteuid()).pw_name
    group = grp.getgrgid(os.getegid()).gr_name
    users = "" if root else (
        f"default_internal_user = {me}\ndefault_internal_group = {group}\n"
        f"default_login_user = {me}\n"
        "service imap-login {\n  chroot =\n}\nservice anvil {\n  chroot =\n}\n"
    )
    extra = f"imap_capability = {capability}\n" if capability else ""
    # The passwd-file lies in a folder only its owner may write: auth reads it as that user.
    auth_user = "root" if root else me
    return f"""# Written by tests/harness/dovecot.py: a private Dovecot for one test module.
base_dir = {folder}/run
state_dir = {folder}/state
instance_name = hil-{imaps}
log_path = {folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{ca.cert_file}
ssl_key = <{ca.key_file}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login xoauth2 oauthbearer
# A refused login answers at once (the default waits 2 s, to slow guessing down).
auth_failure_delay = 0 secs
first_valid_uid = 1
mail_location = maildir:{folder}/mail/%n
mailbox_idle_check_interval = 1 secs
# Each imap process shows its user and current command (IDLE) in its title.
verbose_proctitle = yes
{users}{extra}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps}
    ssl = yes
  }}
}}
# Nor is a refused login penalised with growing delays by client address (anvil's auth
# penalty; mode 0 is Dovecot's documented way off): refusal tests follow each other.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service auth {{
  user = {auth_user}
}}
service auth-worker {{
  user = {auth_user}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/passwd
  mechanisms = plain login
}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {folder}/oauth2.conf
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {folder}/passwd
}}
"""


def start_dovecot(
    users: dict[str, str], *, capability: str | None = None
) -> tuple[Dovecot, Introspection]:
    """Dovecot serving `users` (name: password) and its introspection endpoint, started
    and answering on both ports; `capability` replaces its IMAP capability list."""
    if not os.access(DOVECOT, os.X_OK):
        raise RuntimeError(
            f"no Dovecot at {DOVECOT}: scripts/ensure.sh installs Debian's dovecot-imapd"
        )
    folder = Path(tempfile.mkdtemp(prefix="hil-dovecot-"))
    # Dovecot's own users (auth, login, mail) must reach the files in this folder.
    folder.chmod(0o755)
    ca = make_ca(folder / "tls")
    mail_user = "nobody" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    entry = pwd.getpwnam(mail_user)
    (folder / "mail").mkdir()
    os.chown(folder / "mail", entry.pw_uid, entry.pw_gid)
    (folder / "passwd").write_text("".join(
        f"{name}:{{PLAIN}}{password}:{entry.pw_uid}:{entry.pw_gid}::{folder}/mail/{name}::\n"
        for name, password in users.items()
    ))
    introspection = Introspection()
    (folder / "oauth2.conf").write_text(
        f"introspection_mode = post\nintrospection_url = {introspection.url}\n"
        "force_introspection = yes\nusername_attribute = username\n"
        "active_attribute = active\nactive_value = true\n"
    )
    imaps, imap = free_port(), free_port()
    while imap == imaps:
        imap = free_port()
    server = Dovecot(folder, ca, imaps, imap, dict(users))
    server.config.write_text(_config(folder, ca, imaps, imap, capability))
    server.process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(server.config)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=(folder / "stderr.log").open("wb"),
    )
    try:
        _wait_listening(server)
    except BaseException:
        server.stop()
        introspection.stop()
        raise
    return server, introspection


def _wait_listening(server: Dovecot) -> None:
    deadline = time.monotonic() + START_LIMIT_S
    pending = {server.imaps_port, server.imap_port}
    while pending:
        assert server.process is not None
        if server.process.poll() is not None:
            stderr = (server.folder / "stderr.log").read_text(errors="replace")
            raise RuntimeError(f"dovecot exited: {stderr}{server.log()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"dovecot not listening within {START_LIMIT_S} s: {server.log()}")
        for port in list(pending):
            with contextlib.suppress(OSError), socket.create_connection(
                ("127.0.0.1", port), timeout=1
            ):
                pending.discard(port)
        if pending:
            time.sleep(0.05)


@contextlib.contextmanager
def running_dovecot(
    users: dict[str, str], *, capability: str | None = None
) -> Iterator[tuple[Dovecot, Introspection]]:
    """`start_dovecot`, stopped at the end."""
    server, introspection = start_dovecot(users, capability=capability)
    try:
        yield server, introspection
    finally:
        server.stop()
        introspection.stop()
