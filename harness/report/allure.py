"""Allure reporting without per-test code: identity, evidence on failure, run files.

- `describe_device`: device, model and firmware as Allure parameters (so runs on different
  devices keep separate histories), and as labels with flow, product line and GUI
  generation (the report's tree groups by line, firmware and device).
- `attach_*`: evidence of a failed test (screenshot, masked Playwright trace, ISAPI
  exchange log, SSH transcript, mails with bodies masked).
- `write_run_files`: environment.properties, executor.json and categories.json (one
  category per failure kind) in the alluredir, at the end of a run.
- `prune_fixtures`: the fixture entries that say nothing (plumbing, pytest's finalizer
  lambdas) dropped from the alluredir's containers, the device bring-up kept.
- `find_secrets`: every file of an alluredir (and every member of a zip in it) searched for
  a run's secrets; the harness's own tests assert it finds none.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import socket
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import allure

from harness.attachments import attach_text
from harness.catalogue import CODE_ALPHABET, CODE_LENGTH
from harness.clients.mail import ReceivedMail
from harness.errors import FailureKind, classes_of_kind
from harness.evidence import MASK, Secrets, mask_header, mask_text

if TYPE_CHECKING:
    from harness.lab.dut import DeviceUnderTest

# Allure matches categories by status and by the message, which allure-pytest starts with
# the exception's qualified class name ("harness.clients.isapi.errors.IsapiError: ..."). The class
# names come from the failure table (harness.errors.FAILURE_TABLE), the one the gate reads.
# Allure 2 files a result under every category it matches, Allure 3 under the first: the
# regexes are anchored at the class name so that each failure lands in exactly one either
# way. They are written so that Java (Allure 2, full match), JavaScript (Allure 3, search)
# and Python read them alike: `[\s\S]` rather than a DOTALL flag JavaScript lacks.
_DESCRIPTIONS: Final[dict[FailureKind, tuple[str, str]]] = {
    "infrastructure": (
        "Infrastructure",
        "No verdict: the lab, the network or the mailbox was unreachable or broken, or an "
        "answer was not a device's (HTTP error without a ResponseStatus, proxy page, garbage).",
    ),
    "device": (
        "Device",
        "No verdict: a device was broken or could not be brought back (boot, bring-up).",
    ),
    "product-defect": (
        "Product defect (unexpected device answer)",
        "The device answered where the spec expects otherwise: an error ResponseStatus where "
        "success is due, the known password refused, the cloud refusing its QR.",
    ),
}
# Labels a product defect is grouped by in the Allure 3 report: where it was found.
_DEFECT_GROUPS: Final = ("product_line", "firmware")


def _name_regex(names: Iterable[str]) -> str:
    return "(?:" + "|".join(re.escape(name) for name in names) + ")"


def categories() -> list[dict[str, Any]]:
    """The Allure categories, one per failure kind, from the failure table, in the Allure 2
    form of categories.json (`allure3_categories` gives the same for an allurerc).

    Product defects that are AssertionErrors are the failed tests; every other failure is
    broken and filed by its class's kind; a broken test of no listed class is ours.
    """
    found: list[dict[str, Any]] = [{
        "name": "Product defect",
        "description": "The firmware did the wrong thing (an assertion of a suite).",
        "matchedStatuses": ["failed"],
    }]
    claimed: list[str] = []
    for kind, (name, description) in _DESCRIPTIONS.items():
        names = classes_of_kind(kind)
        claimed += names
        found.append({
            "name": name,
            "description": description,
            "matchedStatuses": ["broken"],
            "messageRegex": rf"^{_name_regex(names)}:[\s\S]*",
        })
    found.append({
        "name": "Harness",
        "description": "Our own bug or a misuse of the harness.",
        "matchedStatuses": ["broken"],
        "messageRegex": rf"^(?!{_name_regex(claimed)}:)[\s\S]*",
    })
    return found


def allure3_categories(allure2: Iterable[Mapping[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The categories in the form of Allure 3's `categories` setting (an allurerc):
    `matchers` of statuses and message, product defects grouped by line and firmware.

    `allure2`: categories.json as a run wrote it (its process had every exception class
    of the suites loaded); the categories of this process otherwise.
    """
    rules = []
    for category in categories() if allure2 is None else allure2:
        matcher: dict[str, Any] = {"statuses": list(category["matchedStatuses"])}
        if "messageRegex" in category:
            matcher["message"] = category["messageRegex"]
        rule: dict[str, Any] = {"id": _category_id(category["name"]),
                                "name": category["name"], "matchers": matcher}
        if category["name"].startswith("Product defect"):
            rule["groupBy"] = [{"label": label} for label in _DEFECT_GROUPS]
        rules.append(rule)
    return rules


def _category_id(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def __getattr__(name: str) -> Any:
    # CATEGORIES is computed when read: classes loaded after this module count too.
    if name == "CATEGORIES":
        return tuple(categories())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_CODE_RE: Final = re.compile(rf"\b[{CODE_ALPHABET}]{{{CODE_LENGTH}}}\b", re.IGNORECASE)
_CODE_LINE_RE: Final = re.compile(r"(verification code\W*)([A-Za-z0-9]{8})", re.IGNORECASE)
# Playwright trace members that are text (trace events, network log, DOM snapshots).
_TEXT_SUFFIXES: Final = (".trace", ".network", ".stacks", ".json", ".html", ".txt", ".css")
# The trace's network log is HAR: headers as {"name": "Set-Cookie", "value": "..."} and
# parsed cookies as "cookies": [{"name": "WebSession_...", "value": "...", ...}]. The
# browser's session cookie never passes through the harness, so only its shape can hide it.
_JSON_STRING: Final = r'"((?:[^"\\]|\\.)*)"'
_TRACE_HEADER_RE: Final = re.compile(
    r'(\{\s*"name"\s*:\s*"((?:proxy-)?authorization|cookie|set-cookie)"\s*,\s*"value"\s*:\s*)'
    + _JSON_STRING,
    re.IGNORECASE,
)
_TRACE_COOKIES_RE: Final = re.compile(r'"cookies"\s*:\s*\[[^\[\]]*\]')
_COOKIE_VALUE_RE: Final = re.compile(r'("value"\s*:\s*)' + _JSON_STRING)


def describe_device(dut: DeviceUnderTest, *, flow: str) -> None:
    """Allure identity of the running test: parameters and labels of its device.

    Device, model and firmware are parameters, so that runs on different devices keep
    separate histories; product line, firmware, device, model and GUI generation are also
    labels, which the report's tree groups by (allurerc.mjs: line, firmware, device) and
    its filters and categories read.
    """
    allure.dynamic.parameter("device", dut.name)
    allure.dynamic.parameter("model", dut.model)
    allure.dynamic.parameter("firmware", dut.firmware)
    labels = {
        "flow": flow,
        "product_line": dut.line.id.value,
        "firmware": dut.firmware,
        "device": dut.name,
        "model": dut.model,
        "gui_generation": dut.generation.value,
        # Which runner of a shared lab ran it (merged reports: hil report --merge).
        "runner": os.environ.get("HIL_RUNNER") or socket.gethostname(),
    }
    # allure's label functions are untyped; the calls are plain.
    for name, value in labels.items():
        allure.dynamic.label(name, value)  # type: ignore[no-untyped-call]
    allure.dynamic.feature(flow)  # type: ignore[no-untyped-call]


# --- masking -------------------------------------------------------------------------------


def mask_codes(text: str) -> str:
    """Mask anything shaped like a verification code after its label (mail bodies)."""
    return _CODE_LINE_RE.sub(lambda m: m.group(1) + MASK, text)


def render_mails(mails: Iterable[ReceivedMail], secrets: Secrets) -> str:
    """Mails as text for a report: headers kept, bodies with secrets and codes masked."""
    parts = []
    for mail in mails:
        body = mask_codes(secrets.mask(mail.body))
        parts.append(
            f"To: {', '.join(mail.to)}\nFrom: {mail.sender}\nSubject: {mail.subject}\n\n{body}"
        )
    return "\n\n-----\n\n".join(parts)


def _mask_trace_header(match: re.Match[str]) -> str:
    name, value = match.group(2), match.group(3)
    try:
        decoded = json.loads(f'"{value}"')
    except ValueError:
        return match.group(1) + json.dumps(MASK)
    # Set-Cookie lines may be joined with newlines in one value: mask each cookie.
    masked = "\n".join(mask_header(name, line) for line in decoded.split("\n"))
    return match.group(1) + json.dumps(masked)


def _mask_trace_cookies(match: re.Match[str]) -> str:
    return _COOKIE_VALUE_RE.sub(lambda m: m.group(1) + json.dumps(MASK), match.group(0))


def mask_trace_text(text: str, secrets: Secrets) -> str:
    """One text member of a Playwright trace, masked: secret fields of the bodies
    (`securityCode`, `resetPassword`, `sessionID`, `challenge`, ...), cookie and
    authorization headers and parsed cookies of the network log, then every registered
    secret."""
    masked = _TRACE_HEADER_RE.sub(_mask_trace_header, text)
    masked = _TRACE_COOKIES_RE.sub(_mask_trace_cookies, masked)
    return mask_text(masked, secrets)


def mask_trace_zip(data: bytes, secrets: Secrets) -> bytes:
    """A Playwright trace zip with its text members masked (`mask_trace_text`).

    Playwright records typed text (`fill` of a password) in the trace events, input
    values in DOM snapshots, headers and cookies in the network log and every body in
    `resources/`; all are text members. Pictures are kept as they are.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename.endswith(_TEXT_SUFFIXES) or _looks_textual(content):
                text = content.decode("utf-8", errors="surrogateescape")
                content = mask_trace_text(text, secrets).encode(
                    "utf-8", errors="surrogateescape")
            target.writestr(info.filename, content)
    return out.getvalue()


def mask_trace_file(path: Path, secrets: Secrets) -> None:
    """Mask a trace zip on disk in place (`mask_trace_zip`); the file is replaced whole,
    so no reader ever sees half a trace. A zip that cannot be read is an error."""
    masked = mask_trace_zip(path.read_bytes(), secrets)
    partial = path.with_name(path.name + ".masking")
    partial.write_bytes(masked)
    partial.replace(path)


def _looks_textual(content: bytes) -> bool:
    head = content[:512]
    return bool(head) and b"\x00" not in head and not head.startswith((b"\x89PNG", b"\xff\xd8"))


# --- attachments ---------------------------------------------------------------------------


def attach_device_evidence(dut: DeviceUnderTest, since: float) -> None:
    """The ISAPI/cloud exchange log, the SSH transcript and the mails of a failed test."""
    attach_text(f"ISAPI exchanges {dut.name}", dut.log.render())
    attach_text(f"SSH transcript {dut.name}", dut.transcript.render())
    try:
        mails = dut.mails_since(since)
    except Exception as exc:  # evidence must never hide the test's own failure
        attach_text("mails", f"(could not read the mailbox: {type(exc).__name__}: {exc})")
        return
    attach_text(f"mails to {dut.email}", render_mails(mails, dut.secrets))


# --- run files -----------------------------------------------------------------------------


def write_run_files(
    alluredir: Path,
    *,
    environment: Mapping[str, str],
    executor: Mapping[str, Any],
) -> None:
    """Write environment.properties, executor.json and categories.json into `alluredir`."""
    alluredir.mkdir(parents=True, exist_ok=True)
    lines = [f"{_prop(k)}={_prop(v)}" for k, v in environment.items()]
    (alluredir / "environment.properties").write_text("\n".join(lines) + "\n")
    (alluredir / "executor.json").write_text(json.dumps(dict(executor), indent=2) + "\n")
    (alluredir / "categories.json").write_text(json.dumps(categories(), indent=2) + "\n")


# A fixture entry worth a reader's eye: it did something observable (steps such as the
# device bring-up, attachments) or it did not pass. The rest is plumbing: pytest-playwright's
# and our own helper fixtures, and the finalizers pytest >= 9.1 registers as lambdas, which
# allure-pytest reports without a status ("unknown").
_TELLING_STATUSES: Final = frozenset({"failed", "broken", "skipped"})


def _telling(entry: Mapping[str, Any]) -> bool:
    return bool(entry.get("steps") or entry.get("attachments")
                or entry.get("status") in _TELLING_STATUSES)


def prune_fixtures(alluredir: Path) -> tuple[int, int]:
    """Drop the fixture entries of every `*-container.json` in `alluredir` that say nothing
    (no step, no attachment, passed or without a status), and containers left empty;
    (entries kept, entries dropped). Idempotent: a pruned folder is left as it is."""
    kept = dropped = 0
    for path in sorted(Path(alluredir).glob("*-container.json")):
        try:
            container = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # not ours to judge: Allure reports a malformed file itself
        changed = False
        for key in ("befores", "afters"):
            entries = container.get(key) or []
            telling = [entry for entry in entries if _telling(entry)]
            kept += len(telling)
            dropped += len(entries) - len(telling)
            if len(telling) != len(entries):
                container[key] = telling
                changed = True
        if not (container.get("befores") or container.get("afters")):
            path.unlink()
        elif changed:
            partial = path.with_name(path.name + ".pruning")
            partial.write_text(json.dumps(container), encoding="utf-8")
            partial.replace(path)
    return kept, dropped


def _prop(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace("\n", " ").replace("=", "\\=")


def find_secrets(directory: Path, secrets: Iterable[str]) -> list[str]:
    """`file: secret #n` for every secret found in any file (or zip member) under
    `directory`; empty when the directory is clean. The secrets themselves are not echoed.
    """
    values = [s for s in dict.fromkeys(secrets) if s and len(s) >= 4]
    findings: list[str] = []

    def scan(label: str, content: bytes) -> None:
        lowered = content.lower()
        for index, value in enumerate(values):
            if value.encode().lower() in lowered:
                findings.append(f"{label}: secret #{index}")

    for path in sorted(p for p in Path(directory).rglob("*") if p.is_file()):
        content = path.read_bytes()
        scan(str(path), content)
        if zipfile.is_zipfile(io.BytesIO(content)):
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                for member in archive.namelist():
                    scan(f"{path}!{member}", archive.read(member))
    return findings


def mask_exception(exc: BaseException | None, secrets: Secrets) -> None:
    """Mask registered secrets in an exception's message, in place, and in its causes.

    Messages reach every report (pytest's, JUnit's, Allure's) and some carry what was
    typed: Playwright's `fill` errors quote the value. Masking the exception before pytest
    builds its report cleans them all at once.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        with contextlib.suppress(Exception):
            exc.args = tuple(secrets.mask(a) if isinstance(a, str) else a for a in exc.args)
        for attr in ("_message", "_stack", "msg", "message"):
            value = getattr(exc, attr, None)
            if isinstance(value, str):
                with contextlib.suppress(Exception):
                    setattr(exc, attr, secrets.mask(value))
        exc = exc.__cause__ or exc.__context__
