"""One TLS context per trust setting, shared by every HTTP client of the process.

Why: httpx builds a fresh `ssl.SSLContext` for each `httpx.Client` (or `httpx.post`),
loading the whole CA bundle each time: 55-60 ms of CPU per client, paid several times per
test (state probe, checks, the phone app). A context is safe to share between clients and
threads once built, so it is built once per `verify` value.
"""

from __future__ import annotations

import functools
import ssl
from pathlib import Path

import httpx


def tls_context(verify: bool | str | Path) -> ssl.SSLContext:
    """The shared context for `verify`: True (system CAs, honouring SSL_CERT_FILE/DIR as
    httpx does), False (no verification: a lab's self-signed devices) or a CA file path."""
    if isinstance(verify, Path):
        verify = str(verify)
    return _context(verify)


@functools.cache
def _context(verify: bool | str) -> ssl.SSLContext:
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return httpx.create_ssl_context(verify=verify)
