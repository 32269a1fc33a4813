"""Evidence of what the harness said to a device, with every secret masked before it is kept.

`ExchangeLog` keeps each HTTP request and answer; `ShellTranscript` each SSH command and
its output. Both mask at record time, not at render time, so nothing unmasked ever sits
in memory longer than one exchange, and a report attached after a crash is still clean.

Masking is two passes, both linear regex scans (it runs on every exchange):
1. by shape: values of known secret fields in XML and JSON bodies (`password`,
   `loginPassword`, `securityCode`, `resetPassword`, `sessionID`, `challenge`, `salt2`, ...;
   under `security=1` the flagged fields keep their names, so their cipher text is masked
   too),
   `Authorization`/`Cookie`/`Set-Cookie` header values, and the cookie in query strings;
2. by value: every value registered in a `Secrets` registry (lab-controller and device
   passwords, codes read from mail, tokens), wherever it appears, also in SSH transcripts.

Long (~410 lines) on purpose: the masking and the two logs that apply it stay together, so
no log can record without masking.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

MASK = "***"

# Secret fields of the device API (docs/device-api.md). `key` is not here on purpose: the
# challenge travels RSA-encrypted to a key that lives only in memory for one exchange.
SECRET_FIELDS: tuple[str, ...] = (
    "password",
    "loginPassword",
    "oldPassword",
    "newPassword",
    "verificationCode",
    "securityCode",
    "resetPassword",
    "sessionID",
    "challenge",
    "salt",
    "salt2",
)
SECRET_HEADERS: frozenset[str] = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie"}
)

_FIELDS = "|".join(SECRET_FIELDS)
_XML_FIELD = re.compile(rf"(<(?:[\w.-]+:)?(?:{_FIELDS})(?:\s[^>]*)?>)([^<]*)(</)", re.IGNORECASE)
_JSON_FIELD = re.compile(rf'("(?:{_FIELDS})"\s*:\s*")((?:[^"\\]|\\.)*)(")', re.IGNORECASE)
# The same field inside a JSON string (a body quoted in a trace or an exception message):
# `\"securityCode\":\"…\"`.
_QUOTED_JSON_FIELD = re.compile(
    rf'(\\"(?:{_FIELDS})\\"\s*:\s*\\")((?:(?!\\")[^"])*)(\\")', re.IGNORECASE
)
# A secret parameter in a query, after `?` or `&` (also after a second `?`).
_QUERY_FIELD = re.compile(rf"([?&](?:{_FIELDS})=)([^&#]*)", re.IGNORECASE)
_DATA_URL = re.compile(r"data:image/[\w.+-]+;base64,[A-Za-z0-9+/=]+")
_COOKIE_PAIR = re.compile(r"([^=;,\s]+=)([^;,\s]*)")
# Short values would mask half the log ("ok", "1"); no password or code is that short.
_MIN_SECRET_LENGTH = 4
_MAX_BODY_CHARS = 8192


class Secret(str):
    """A password or verification code: a `str` to every API that sends it, `'***'` to
    whatever prints it by `repr`.

    pytest prints a failing frame's arguments and locals (`--tb=long`, `-l`), assertion
    rewriting its operands, dataclasses their fields, and all of them go through `repr`:
    a `Secret` there is `'***'`. `str()` and `%s` must stay the value, because the clients
    hand it on to libraries that format it (requests' Digest builds `user:realm:%s`); the
    reports' masker (`mask_text`) covers any text built that way. `reveal()` is the value
    as a plain `str`, for a library that keeps it.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(MASK)

    def reveal(self) -> str:
        """The value as a plain `str` (no masked `repr` travels into a library)."""
        return str.__str__(self)


def secret(value: str | None) -> Secret | None:
    """`value` as a `Secret` (None stays None)."""
    return None if value is None else Secret(value)


class Secrets:
    """Known secret values, masked wherever they appear in evidence.

    Register passwords, codes and tokens as soon as the harness learns them. Thread-safe:
    xdist workers are processes, but one worker may record from several threads.
    """

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()
        for value in values:
            self.register(value)

    def register(self, value: str | None) -> None:
        """Mask `value` (and its JSON, XML and URL-encoded spellings) from now on."""
        if not value or len(value) < _MIN_SECRET_LENGTH:
            return
        variants = {
            value,
            json.dumps(value)[1:-1],
            html.escape(value, quote=True),
            html.escape(value, quote=False),
            urllib.parse.quote(value, safe=""),
            urllib.parse.quote_plus(value),
        }
        with self._lock:
            if variants <= self._values:
                return
            self._values |= variants
            self._pattern = None

    def __contains__(self, value: str) -> bool:
        return value in self._values

    def mask(self, text: str) -> str:
        """`text` with every registered value replaced by `***`."""
        pattern = self._compiled()
        if pattern is None or not text:
            return text
        return pattern.sub(MASK, text)

    def _compiled(self) -> re.Pattern[str] | None:
        # One alternation, longest first so a secret containing another is masked whole;
        # rebuilt only when the registry changes.
        with self._lock:
            if self._pattern is None and self._values:
                ordered = sorted(self._values, key=len, reverse=True)
                # Case-insensitive: codes are compared without case and may be typed
                # in lower case; masking a little more than needed is harmless.
                self._pattern = re.compile("|".join(re.escape(v) for v in ordered), re.IGNORECASE)
            return self._pattern


def mask_fields(text: str) -> str:
    """`text` with the values of secret fields (XML, JSON, JSON quoted in JSON) masked.

    The pass by shape alone: it hides what the harness never learnt (a session id, a
    reset token, a challenge the browser received), wherever the text came from.
    """
    if not text:
        return text
    masked = _XML_FIELD.sub(rf"\g<1>{MASK}\g<3>", text)
    masked = _JSON_FIELD.sub(rf"\g<1>{MASK}\g<3>", masked)
    return _QUOTED_JSON_FIELD.sub(rf"\g<1>{MASK}\g<3>", masked)


def mask_text(text: str, secrets: Secrets | None = None) -> str:
    """Free text (an exception message, a trace member) with secret fields and registered
    values masked; unlike `mask_body`, nothing is shortened and images stay."""
    masked = mask_fields(text)
    return secrets.mask(masked) if secrets is not None else masked


def mask_body(text: str, secrets: Secrets | None = None) -> str:
    """A request or answer body with secret fields, images and registered values masked."""
    if not text:
        return text
    masked = mask_fields(text)
    masked = _DATA_URL.sub(lambda m: f"<image, {len(m.group(0))} characters>", masked)
    if secrets is not None:
        masked = secrets.mask(masked)
    if len(masked) > _MAX_BODY_CHARS:
        masked = masked[:_MAX_BODY_CHARS] + f"\n… ({len(masked) - _MAX_BODY_CHARS} more)"
    return masked


def mask_header(name: str, value: str, secrets: Secrets | None = None) -> str:
    """A header value with credentials masked; the scheme and cookie names stay readable."""
    lowered = name.lower()
    if lowered in {"authorization", "proxy-authorization"}:
        scheme, _, params = value.partition(" ")
        algorithm = re.search(r"algorithm=\"?([\w-]+)", params)
        shown = f"{scheme} {MASK}"
        return f"{shown} (algorithm={algorithm.group(1)})" if algorithm else shown
    if lowered == "cookie":
        return _COOKIE_PAIR.sub(rf"\g<1>{MASK}", value)
    if lowered == "set-cookie":
        name_value, sep, attributes = value.partition(";")
        return _COOKIE_PAIR.sub(rf"\g<1>{MASK}", name_value) + sep + attributes
    return secrets.mask(value) if secrets is not None else value


def mask_headers(
    headers: Iterable[tuple[str, str]], secrets: Secrets | None = None
) -> tuple[tuple[str, str], ...]:
    """Every header of a message, masked (`mask_header`)."""
    return tuple((name, mask_header(name, value, secrets)) for name, value in headers)


def mask_url(url: str, secrets: Secrets | None = None) -> str:
    """A URL with secret query parameters and registered values masked.

    The rest stays as sent: the real GUI's `…?format=json?security=1&iv=…` keeps its
    second `?` (re-encoding the query would show a request no one made).
    """
    base, sep, query = url.partition("?")
    if sep:
        url = base + sep + _QUERY_FIELD.sub(rf"\g<1>{MASK}", "&" + query)[1:]
    return secrets.mask(url) if secrets is not None else url


@dataclass(frozen=True)
class Exchange:
    """One HTTP request and its answer (or the error that replaced the answer), masked."""

    method: str
    url: str
    request_headers: tuple[tuple[str, str], ...]
    request_body: str
    status: int | None
    response_headers: tuple[tuple[str, str], ...]
    response_body: str
    elapsed_s: float
    started: float
    error: str | None = None

    def render(self) -> str:
        """This exchange as text: request line, headers, body, then the answer."""
        stamp = time.strftime("%H:%M:%S", time.gmtime(self.started))
        lines = [f"--- {stamp}Z {self.method} {self.url} ({self.elapsed_s * 1000:.0f} ms)"]
        lines += [f"> {k}: {v}" for k, v in self.request_headers]
        if self.request_body:
            lines += ["", self.request_body]
        if self.error is not None:
            lines.append(f"< no answer: {self.error}")
            return "\n".join(lines)
        lines.append(f"< {self.status}")
        lines += [f"< {k}: {v}" for k, v in self.response_headers]
        if self.response_body:
            lines += ["", self.response_body]
        return "\n".join(lines)


def _body_text(content: bytes, content_type: str) -> str:
    if not content:
        return ""
    if content_type.startswith("image/") or b"\0" in content[:512]:
        return f"<{content_type or 'binary'}, {len(content)} bytes>"
    return content.decode("utf-8", errors="replace")


@dataclass
class ExchangeLog:
    """Every ISAPI and cloud exchange of a client, masked when recorded.

    `render()` gives the text to attach to an Allure report. Bounded: past `limit`
    exchanges the oldest are dropped (a soak test must not grow without end).
    """

    secrets: Secrets = field(default_factory=Secrets)
    limit: int = 2000
    _exchanges: list[Exchange] = field(default_factory=list)
    _dropped: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(
        self,
        *,
        method: str,
        url: str,
        request_headers: Iterable[tuple[str, str]],
        request_body: bytes,
        status: int | None,
        response_headers: Iterable[tuple[str, str]] = (),
        response_body: bytes = b"",
        elapsed_s: float,
        started: float,
        error: str | None = None,
    ) -> Exchange:
        """Mask and keep one exchange; returns what was kept."""
        request_headers = tuple(request_headers)
        response_headers = tuple(response_headers)
        exchange = Exchange(
            method=method,
            url=mask_url(url, self.secrets),
            request_headers=mask_headers(request_headers, self.secrets),
            request_body=mask_body(
                _body_text(request_body, _content_type(request_headers)), self.secrets
            ),
            status=status,
            response_headers=mask_headers(response_headers, self.secrets),
            response_body=mask_body(
                _body_text(response_body, _content_type(response_headers)), self.secrets
            ),
            elapsed_s=elapsed_s,
            started=started,
            error=self.secrets.mask(error) if error is not None else None,
        )
        with self._lock:
            self._exchanges.append(exchange)
            if len(self._exchanges) > self.limit:
                del self._exchanges[0]
                self._dropped += 1
        return exchange

    def __iter__(self) -> Iterator[Exchange]:
        with self._lock:
            return iter(list(self._exchanges))

    def __len__(self) -> int:
        return len(self._exchanges)

    def clear(self) -> None:
        """Forget every exchange (between tests that share a client)."""
        with self._lock:
            self._exchanges.clear()
            self._dropped = 0

    def render(self) -> str:
        """All exchanges as text, oldest first, for an Allure attachment."""
        with self._lock:
            parts = [e.render() for e in self._exchanges]
            if self._dropped:
                parts.insert(0, f"({self._dropped} older exchanges dropped)")
        return "\n\n".join(parts)


def _content_type(headers: Iterable[tuple[str, str]]) -> str:
    for name, value in headers:
        if name.lower() == "content-type":
            return value.lower()
    return ""


@dataclass(frozen=True)
class ShellCommand:
    """One command sent over SSH and what came back, masked."""

    target: str
    command: str
    output: str
    exit_status: int | None
    elapsed_s: float
    started: float

    def render(self) -> str:
        """This command as a shell transcript."""
        stamp = time.strftime("%H:%M:%S", time.gmtime(self.started))
        status = "" if self.exit_status in (None, 0) else f" [exit {self.exit_status}]"
        header = f"--- {stamp}Z {self.target} ({self.elapsed_s * 1000:.0f} ms){status}"
        return f"{header}\n# {self.command}\n{self.output}".rstrip("\n")


@dataclass
class ShellTranscript:
    """Every SSH command and its output, with registered secrets masked."""

    secrets: Secrets = field(default_factory=Secrets)
    limit: int = 2000
    _commands: list[ShellCommand] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(
        self,
        *,
        target: str,
        command: str,
        output: str,
        exit_status: int | None,
        elapsed_s: float,
        started: float,
    ) -> ShellCommand:
        """Mask and keep one command; returns what was kept."""
        entry = ShellCommand(
            target=target,
            command=self.secrets.mask(command),
            output=self.secrets.mask(output),
            exit_status=exit_status,
            elapsed_s=elapsed_s,
            started=started,
        )
        with self._lock:
            self._commands.append(entry)
            if len(self._commands) > self.limit:
                del self._commands[0]
        return entry

    def note(self, target: str, text: str) -> None:
        """Keep a line that is not a command (a connection, a banner, a retry)."""
        self.record(
            target=target,
            command=f"({text})",
            output="",
            exit_status=None,
            elapsed_s=0.0,
            started=time.time(),
        )

    def __iter__(self) -> Iterator[ShellCommand]:
        with self._lock:
            return iter(list(self._commands))

    def __len__(self) -> int:
        return len(self._commands)

    def render(self) -> str:
        """The transcript as text for an Allure attachment."""
        with self._lock:
            return "\n\n".join(c.render() for c in self._commands)
