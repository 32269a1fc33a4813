"""Small real servers on 127.0.0.1 that misbehave as something between a lab and its
device can: a closed port, a peer that accepts and says nothing, one that drips its answer
a byte every 2 s, an HTTP 500 without a ResponseStatus, bytes that are not HTTP, a proxy's
HTML error page, and a TLS server whose certificate is not the one the inventory pins.

Each runs in a daemon thread of the test process until `stop()`; the tests point real
device entries of an inventory at them and run the real `hil`.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

DRIP_INTERVAL_S = 2.0
Handler = Callable[[socket.socket], None]


@dataclass
class Server:
    """A listening socket on 127.0.0.1 and the thread serving it."""

    handler: Handler | None
    tls: ssl.SSLContext | None = None
    listener: socket.socket = field(init=False)
    _stopping: threading.Event = field(default_factory=threading.Event, init=False)

    def __post_init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=16)
        if self.handler is not None:
            threading.Thread(target=self._serve, daemon=True).start()

    @property
    def port(self) -> int:
        port: int = self.listener.getsockname()[1]
        return port

    def url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        assert self.handler is not None
        with contextlib.suppress(OSError), conn:
            conn.settimeout(30)
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            self.handler(conn)

    def stop(self) -> None:
        self._stopping.set()
        self.listener.close()


def stop_afterwards() -> Iterator[list[Server]]:
    """Servers a test starts (appends here), stopped after it."""
    running: list[Server] = []
    yield running
    for server in running:
        server.stop()


def _read_request(conn: socket.socket) -> bytes:
    """The request's head (and whatever body came with it)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _serve_requests(answer: bytes) -> Handler:
    """Answer every request of a keep-alive connection with `answer`."""

    def handle(conn: socket.socket) -> None:
        while _read_request(conn):
            conn.sendall(answer)

    return handle


def _http(status: str, content_type: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _drip_bytes(conn: socket.socket, answer: bytes) -> None:
    """`answer`, one byte every DRIP_INTERVAL_S: within every per-read timeout."""
    for byte in answer:
        conn.sendall(bytes([byte]))
        time.sleep(DRIP_INTERVAL_S)


def _drip(conn: socket.socket) -> None:
    """A valid device answer, dripped."""
    _read_request(conn)
    _drip_bytes(conn, _http(
        "200 OK",
        "application/xml",
        b"<ActivateStatus><Activated>true</Activated></ActivateStatus>",
    ))


def _drip_greeting(conn: socket.socket) -> None:
    """A mail server's greeting, dripped before any request."""
    _drip_bytes(conn, b"* OK IMAP4rev1 server ready\r\n")


def _garbage(conn: socket.socket) -> None:
    _read_request(conn)
    conn.sendall(b"\x16\x03\x01\x02\x00\xff\xfe garbage \x00\x01\x02 not http at all\r\n\r\n")


HTTP_500 = _http("500 Internal Server Error", "text/plain", b"Internal Server Error")
PROXY_PAGE = _http(
    "502 Bad Gateway",
    "text/html",
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>"
    b"<h1>Bad Gateway</h1><p>The proxy server received an invalid response from an upstream "
    b"server.</p><hr><address>squid/5.7</address></body></html>",
)
CAPTIVE_PAGE = _http(
    "200 OK",
    "text/html",
    b"<html><body><h1>Network login required</h1><p>Accept the terms to continue.</p>"
    b"</body></html>",
)


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then closed)."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port: int = sock.getsockname()[1]
    return port


def silent() -> Server:
    """Accepts connections (the kernel's backlog does) and never answers."""
    return Server(None)


def dripping() -> Server:
    return Server(_drip)


def http_500() -> Server:
    return Server(_serve_requests(HTTP_500))


def dripping_greeting() -> Server:
    return Server(_drip_greeting)


def garbage() -> Server:
    return Server(_garbage)


def proxy_page() -> Server:
    return Server(_serve_requests(PROXY_PAGE))


def captive_page() -> Server:
    return Server(_serve_requests(CAPTIVE_PAGE))


def self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files in `folder`."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / f"{name}.crt", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def wrong_certificate(folder: Path) -> tuple[Server, Path]:
    """An HTTPS server with one self-signed certificate, and another CA file to pin: the
    device's TLS cannot be verified against what the inventory trusts."""
    served_cert, served_key = self_signed(folder, "served")
    pinned, _ = self_signed(folder, "pinned")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(served_cert, served_key)
    return Server(_serve_requests(HTTP_500), tls=context), pinned
