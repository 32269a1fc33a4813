"""A real Dovecot on loopback, started from a folder of its own: the lab mailbox of the
rehearsal lab (emulator/rehearsal.py) and of the IMAP tests (tests/harness/test_mail_imap.py).

Debian's dovecot-imapd (scripts/ensure.sh installs it) runs from a config of its own in a
private folder: its own base_dir, listeners on free 127.0.0.1 ports (imaps, and imap with
STARTTLS; LMTP when asked, from Debian's dovecot-lmtpd, for an MTA to deliver into), a
certificate signed by a CA (made here, or the lab's), users in a passwd-file, Maildirs in
the folder. A system Dovecot (ports 143/993) is neither used nor disturbed.

XOAUTH2 and OAUTHBEARER go to Dovecot's `oauth2` passdb, which asks a token
introspection endpoint (RFC 7662) whether a bearer token is active and whose it is: a
small real HTTP server in this process (`Introspection`) answers for the tokens granted.
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
import re
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
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
# Debian's dovecot-lmtpd: the LMTP service an MTA delivers into.
LMTP_SERVICE = Path("/usr/lib/dovecot/lmtp")
START_LIMIT_S = 15.0
# Dovecot's IMAP capabilities without IDLE: a server that makes the mailbox poll.
NO_IDLE_CAPABILITY = "IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE NAMESPACE UIDPLUS"


@dataclass(frozen=True)
class ServerCert:
    """A server certificate for 127.0.0.1 and the CA that signed it, as PEM files."""

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


def make_ca(folder: Path, label: str = "HIL test lab CA") -> ServerCert:
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
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    made = ServerCert(folder / "ca.pem", folder / "server.pem", folder / "server.key")
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
    ca: ServerCert
    imaps_port: int
    imap_port: int
    users: dict[str, str]
    lmtp_port: int | None = None
    log_file: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def config(self) -> Path:
        return self.folder / "dovecot.conf"

    def log(self) -> str:
        """What Dovecot logged so far (tests read it when something failed)."""
        path = self.log_file or self.folder / "dovecot.log"
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


def _config(server: Dovecot, capability: str | None) -> str:
    folder, ca, imaps, imap = server.folder, server.ca, server.imaps_port, server.imap_port
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
    lmtp = "" if server.lmtp_port is None else (
        # The lab's MTA hands mail over here; Dovecot adds Delivered-To and Return-Path.
        "service lmtp {\n  inet_listener lmtp {\n    address = 127.0.0.1\n"
        f"    port = {server.lmtp_port}\n  }}\n}}\n"
        "lmtp_hdr_delivery_address = final\n"
    )
    return f"""# Written by emulator/mailserver.py: a private Dovecot.
base_dir = {folder}/run
state_dir = {folder}/state
instance_name = hil-{imaps}
log_path = {server.log_file or folder / "dovecot.log"}
protocols = imap{" lmtp" if server.lmtp_port is not None else ""}
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
{users}{extra}{lmtp}
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


class MailServerError(RuntimeError):
    """Dovecot cannot be started here; the message is one line saying what to do."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _free_ports(wanted: list[int]) -> list[int]:
    """`wanted` with each 0 replaced by a free port, all of them different."""
    chosen: list[int] = []
    for port in wanted:
        while not port or port in chosen:
            port = free_port()
        chosen.append(port)
    return chosen


def start_dovecot(
    users: dict[str, str], *, capability: str | None = None, cert: ServerCert | None = None,
    folder: Path | None = None, log_file: Path | None = None, imaps_port: int = 0,
    imap_port: int = 0, lmtp_port: int | None = None,
) -> tuple[Dovecot, Introspection]:
    """Dovecot serving `users` (name: password) and its introspection endpoint, started
    and answering on every port; `capability` replaces its IMAP capability list.

    `cert`: the server certificate (default: one signed by a CA made here); `folder`: an
    empty folder every Dovecot user can reach (default: a new one in the temporary
    folder); ports 0 are free ones; `lmtp_port` (0 for a free one) adds the LMTP service
    (Debian's dovecot-lmtpd) on 127.0.0.1 for an MTA to deliver into."""
    if not os.access(DOVECOT, os.X_OK):
        raise MailServerError(
            f"no Dovecot at {DOVECOT}: scripts/ensure.sh installs Debian's dovecot-imapd"
        )
    if lmtp_port is not None and not os.access(LMTP_SERVICE, os.X_OK):
        raise MailServerError(
            f"no Dovecot LMTP service at {LMTP_SERVICE}: scripts/ensure.sh installs Debian's "
            "dovecot-lmtpd"
        )
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="hil-dovecot-"))
    folder.mkdir(parents=True, exist_ok=True)
    # Dovecot's own users (auth, login, mail) must reach the files in this folder.
    folder.chmod(0o755)
    ca = cert if cert is not None else make_ca(folder / "tls")
    mail_user = "nobody" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    entry = pwd.getpwnam(mail_user)
    (folder / "mail").mkdir(exist_ok=True)
    os.chown(folder / "mail", entry.pw_uid, entry.pw_gid)
    (folder / "passwd").write_text("".join(
        f"{name}:{{PLAIN}}{password}:{entry.pw_uid}:{entry.pw_gid}::{folder}/mail/{name}::\n"
        for name, password in users.items()
    ))
    # The passwords are in it: Dovecot's auth process reads it as its owner.
    (folder / "passwd").chmod(0o600)
    introspection = Introspection()
    (folder / "oauth2.conf").write_text(
        f"introspection_mode = post\nintrospection_url = {introspection.url}\n"
        "force_introspection = yes\nusername_attribute = username\n"
        "active_attribute = active\nactive_value = true\n"
    )
    ports = _free_ports([imaps_port, imap_port] + ([lmtp_port or 0] if lmtp_port is not None
                                                    else []))
    server = Dovecot(folder, ca, ports[0], ports[1], dict(users),
                     lmtp_port=ports[2] if lmtp_port is not None else None, log_file=log_file)
    server.config.write_text(_config(server, capability))
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
    if server.lmtp_port is not None:
        pending.add(server.lmtp_port)
    while pending:
        assert server.process is not None
        if server.process.poll() is not None:
            said = (server.folder / "stderr.log").read_text(errors="replace") + server.log()
            raise MailServerError(f"dovecot exited at start: {_last_line(said)}")
        if time.monotonic() > deadline:
            raise MailServerError(f"dovecot not listening on 127.0.0.1:{sorted(pending)} "
                                  f"within {START_LIMIT_S} s: {_last_line(server.log())}")
        for port in list(pending):
            with contextlib.suppress(OSError), socket.create_connection(
                ("127.0.0.1", port), timeout=1
            ):
                pending.discard(port)
        if pending:
            time.sleep(0.05)


def _last_line(text: str) -> str:
    """What Dovecot said last, on one line: its last error and its fatal line (which alone
    is as vague as "Failed to start listeners"), without the log's date."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    said = [line for line in lines if ": Error: " in line or ": Fatal: " in line][-2:]
    said = said or lines[-1:]
    return "; ".join(re.sub(r"^\w{3} \d\d \d\d:\d\d:\d\d ", "", line)
                     for line in said) or "(nothing logged)"


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
