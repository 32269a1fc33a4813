"""One TLS context per trust setting, shared by every HTTP client of the process, and
certificate pinning by public key (SPKI) for devices with self-signed certificates.

Why shared: httpx builds a fresh `ssl.SSLContext` for each `httpx.Client` (or `httpx.post`),
loading the whole CA bundle each time: 55-60 ms of CPU per client, paid several times per
test (state probe, checks, the phone app). A context is safe to share between clients and
threads once built, so it is built once per trust setting.

Why pins: a device's factory certificate is self-signed, so chain verification can only
be switched off (`verify: false`: anyone in the middle gets the admin password) or
replaced by a lab CA. A pin names the one key the device holds: the base64 SHA-256 of the
certificate's DER SubjectPublicKeyInfo, the format Chromium's
`--ignore-certificate-errors-spki-list` takes, so one value serves httpx and the browser.
The pin is checked inside the TLS handshake of every connection, before the client can
write a byte: credentials never reach an unpinned peer. Both kinds of TLS connection a
context makes check it: a socket (`wrap_socket`: httpx, smtplib, imapclient) and a memory
BIO object (`wrap_bio`: asyncio's streams).

Which CAs: `verify: true` (devices, the vendor cloud's API, the lab's mailbox and submission
server) means the system trust store, `ssl.create_default_context()`, which honours
SSL_CERT_FILE and SSL_CERT_DIR; not certifi's bundle (httpx's default), so one rule holds
for every client and a lab adds its CA to the machine's store or names it in `ca_file`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Final

CHROMIUM_SPKI_FLAG: Final = "--ignore-certificate-errors-spki-list"


def spki_pin(cert_der: bytes) -> str:
    """The pin of a DER certificate: base64 of the SHA-256 of its SubjectPublicKeyInfo, as
    `openssl x509 -pubkey | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary
    | base64` prints it."""
    # Imported here: the inventory (harness.inventory.fields) checks pins' format with this module
    # and should not pay for cryptography and httpx when it loads.
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    spki = x509.load_der_x509_certificate(cert_der).public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


class PinMismatch(ssl.SSLCertVerificationError):
    """The peer's certificate holds another key than the pinned one: the connection was
    closed inside the handshake, before anything was sent."""

    def __str__(self) -> str:
        # ssl.SSLError prints its args as a tuple; this one line is the message.
        return str(self.args[0]) if self.args else "certificate pin mismatch"


@dataclass(frozen=True)
class TlsTrust:
    """How to trust one device's certificate: `spki_sha256` pins (the chain is then not
    verified unless `ca_file` is given too), a lab CA (`ca_file`), the system CAs
    (`verify`), or nothing (`verify=False`)."""

    device: str
    verify: bool = True
    ca_file: str | None = None
    spki_sha256: tuple[str, ...] = ()

    @property
    def setting(self) -> bool | str:
        """The plain setting without pins: a CA file, or verify on/off."""
        return self.ca_file if self.ca_file else self.verify


class _PinnedContext(ssl.SSLContext):
    """A client context that carries the pins its sockets check."""

    device: str
    pins: frozenset[str]


def _check_pin(context: ssl.SSLContext, cert_der: bytes | None, where: str) -> None:
    """PinMismatch unless the peer's leaf certificate holds a key `context` pins."""
    if not isinstance(context, _PinnedContext):
        return
    seen = spki_pin(cert_der or b"")
    if seen not in context.pins:
        raise PinMismatch(
            f"{context.device}: the certificate presented{where} has SPKI pin {seen}, "
            f"expected {' or '.join(sorted(context.pins))} (tls.spki_sha256); "
            "refused before anything was sent"
        )


class _PinnedSocket(ssl.SSLSocket):
    """An SSL socket that refuses a peer whose leaf certificate is not pinned, as part of
    the handshake: `wrap_socket` (httpcore's start_tls) raises and closes the socket."""

    def do_handshake(self, block: bool = False) -> None:
        super().do_handshake(block)
        try:
            host, port = self.getpeername()[:2]
            where = f" at {host}:{port}"
        except OSError:
            where = ""
        _check_pin(self.context, self.getpeercert(binary_form=True), where)


class _PinnedObject(ssl.SSLObject):
    """The same check for a memory-BIO connection (`wrap_bio`, asyncio's TLS): its
    handshake completes only when `do_handshake` returns without SSLWantReadError, and
    that is where the pin is checked; asyncio then aborts the connection."""

    def do_handshake(self) -> None:
        super().do_handshake()
        name = self.server_hostname
        _check_pin(self.context, self.getpeercert(binary_form=True),
                   f" at {name}" if name else "")


def tls_context(verify: bool | str | Path | TlsTrust) -> ssl.SSLContext:
    """The shared context for `verify`: True (the system trust store, honouring
    SSL_CERT_FILE/SSL_CERT_DIR), False (no verification: a lab's self-signed devices), a
    CA file path, or a device's `TlsTrust` (pins checked in every handshake)."""
    if isinstance(verify, Path):
        verify = str(verify)
    if isinstance(verify, TlsTrust):
        if not verify.spki_sha256:
            return _context(verify.setting)
        return _pinned(verify.device, frozenset(verify.spki_sha256), verify.ca_file)
    return _context(verify)


@functools.cache
def _context(verify: bool | str) -> ssl.SSLContext:
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    if verify:
        return ssl.create_default_context()  # the system store (see the module)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@functools.cache
def _pinned(device: str, pins: frozenset[str], ca_file: str | None) -> ssl.SSLContext:
    context = _PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca_file:
        # Pinned and CA-signed: both must hold.
        context.load_verify_locations(cafile=ca_file)
    else:
        # The pin replaces chain and name checks (a self-signed certificate has neither),
        # as Chromium's SPKI list does.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.device, context.pins = device, pins
    context.sslsocket_class = _PinnedSocket
    context.sslobject_class = _PinnedObject
    return context


def presented_pin(host: str, port: int, context: ssl.SSLContext, *, timeout: float) -> str:
    """The pin of the certificate `host:port` presents through `context` (which verifies
    it as configured); ssl.SSLError or OSError when the handshake fails."""
    with socket.create_connection((host, port), timeout=timeout) as raw, \
            context.wrap_socket(raw, server_hostname=host) as tls:
        return spki_pin(tls.getpeercert(binary_form=True) or b"")


def chromium_pin_args(pins: set[str] | frozenset[str]) -> list[str]:
    """Chromium's launch argument that accepts certificates holding one of `pins` (none
    when there are no pins: then every certificate error stays an error)."""
    return [f"{CHROMIUM_SPKI_FLAG}={','.join(sorted(pins))}"] if pins else []
