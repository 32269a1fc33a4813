"""QA's expectations per product line: thresholds, models, GUI generations, password rules.

Written from DEVICE-SPEC.md, never from the emulator: a table shared with the emulator
would make the firmware agree with the suites by construction. Every [dec] of the spec
sits in one constant here, so a real device that proves it wrong changes one line.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final


class FirmwareFormatError(ValueError):
    """A firmware string that is not like `V5.6.3`, `V5.7.10 build 240120`."""


_FIRMWARE_RE: Final = re.compile(
    r"^\s*[Vv](?P<numbers>\d+(?:\.\d+){1,3})\s*(?:build\s*(?P<build>\d{6}))?\s*$"
)


@functools.total_ordering
@dataclass(frozen=True, eq=False)
class Firmware:
    """A parsed firmware version, compared as a numeric tuple.

    `V4.2.00` < `V4.22.005`, `V3.4.88` < `V3.4.89`. Missing trailing parts count as 0
    (`V5.6` == `V5.6.0`). The build date is kept but does not take part in comparisons:
    feature gates are by version, and builds of one version are the same firmware line.
    """

    numbers: tuple[int, ...]
    build: str | None = None
    raw: str = field(default="", compare=False)

    def _key(self) -> tuple[int, ...]:
        return self.numbers + (0,) * (4 - len(self.numbers))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Firmware):
            return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Firmware):
            return NotImplemented
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        return self.raw or self.version

    @property
    def version(self) -> str:
        """The version without build, e.g. `V5.7.10`."""
        if self.raw:
            match = _FIRMWARE_RE.match(self.raw)
            if match:
                return "V" + match["numbers"]
        return "V" + ".".join(str(n) for n in self.numbers)


def parse_firmware(text: str) -> Firmware:
    """Parse `V4.21.000`, `V5.7.10 build 240120` or `V5.6.10build 230721`.

    Raises `FirmwareFormatError` naming the text for anything else.
    """
    match = _FIRMWARE_RE.match(text) if isinstance(text, str) else None
    if match is None:
        raise FirmwareFormatError(
            f"expected a firmware version like V5.6.3 or 'V5.7.10 build 240120', got {text!r}"
        )
    numbers = tuple(int(part) for part in match["numbers"].split("."))
    return Firmware(numbers=numbers, build=match["build"], raw=text.strip())


class GuiGeneration(StrEnum):
    RECORDER = "recorder"
    CAMERA_CLASSIC = "camera-classic"
    CAMERA_SPA = "camera-spa"


class LineId(StrEnum):
    DVR_K = "dvr-k"
    DVR_HGHI_F = "dvr-hghi-f"
    NVR = "nvr"
    IPC = "ipc"


@dataclass(frozen=True)
class ProductLine:
    """One product line of spec §1."""

    id: LineId
    title: str
    device_type: str
    example_models: tuple[str, ...]
    reset_threshold: Firmware
    model_pattern: re.Pattern[str]
    is_recorder: bool

    def gui_generation(self, firmware: Firmware | str) -> GuiGeneration:
        """The GUI generation this line shows at `firmware` (spec §2)."""
        fw = firmware if isinstance(firmware, Firmware) else parse_firmware(firmware)
        if self.is_recorder:
            return GuiGeneration.RECORDER
        return GuiGeneration.CAMERA_SPA if fw >= CAMERA_SPA_FROM else GuiGeneration.CAMERA_CLASSIC

    def supports_reserved_email_reset(self, firmware: Firmware | str) -> bool:
        """True from this line's threshold on (spec §1)."""
        fw = firmware if isinstance(firmware, Firmware) else parse_firmware(firmware)
        return fw >= self.reset_threshold


# [dec] spec §2: the single-page camera GUI starts at V5.7.0.
CAMERA_SPA_FROM: Final = parse_firmware("V5.7.0")

# Order matters: an NVR such as DS-7608NI-K2 also ends in -K2, so NVR is tried before DVR K.
PRODUCT_LINES: Final[tuple[ProductLine, ...]] = (
    ProductLine(
        id=LineId.NVR,
        title="NVR",
        device_type="NVR",
        example_models=("DS-7608NI-K2", "DS-7616NI-I2", "DS-7604NI-E1"),
        reset_threshold=parse_firmware("V4.21.000"),
        model_pattern=re.compile(r"^DS-\d{4}NI-[A-Z]\d"),
        is_recorder=True,
    ),
    ProductLine(
        id=LineId.IPC,
        title="IP camera",
        device_type="IPCamera",
        example_models=("DS-2CD2143G2-I", "DS-2CD2043G2-I", "DS-2CD3725G0-IZS"),
        reset_threshold=parse_firmware("V5.6.0"),
        model_pattern=re.compile(r"^DS-2CD\d"),
        is_recorder=False,
    ),
    ProductLine(
        id=LineId.DVR_HGHI_F,
        title="DVR HGHI-F",
        device_type="DVR",
        example_models=("DS-7208HGHI-F1", "DS-7208HUHI-F2/N"),
        reset_threshold=parse_firmware("V3.4.89"),
        model_pattern=re.compile(r"^DS-\d{4}H[A-Z]*-F\d"),
        is_recorder=True,
    ),
    ProductLine(
        id=LineId.DVR_K,
        title="DVR K series",
        device_type="DVR",
        example_models=("DS-7204HQHI-K1", "DS-7216HUI-K2", "DS-7104HGHI-K1"),
        reset_threshold=parse_firmware("V4.2.00"),
        model_pattern=re.compile(r"^DS-\d{4}H[A-Z]*-K\d"),
        is_recorder=True,
    ),
)

LINES_BY_ID: Final[dict[LineId, ProductLine]] = {line.id: line for line in PRODUCT_LINES}


class UnknownModelError(ValueError):
    """A model name that matches no product line."""


def line_of_model(model: str) -> ProductLine:
    """The product line of `model` by its name pattern (spec §1 table)."""
    for line in PRODUCT_LINES:
        if line.model_pattern.match(model):
            return line
    raise UnknownModelError(
        f"unknown model {model!r}: expected a model of a known product line "
        "(DS-2CD… camera, DS-xxxxNI-… NVR, DS-xxxxH…-K… DVR K, DS-xxxxH…-F… DVR HGHI-F)"
    )


def supports_reserved_email_reset(
    line: ProductLine | LineId | str, firmware: Firmware | str
) -> bool:
    """Whether `line` at `firmware` offers "Verify by Reserved Email" (spec §1).

    `line` may be a `ProductLine`, its id (`"nvr"`) or a model name (`"DS-7608NI-K2"`).
    """
    return _resolve_line(line).supports_reserved_email_reset(firmware)


def gui_generation(line: ProductLine | LineId | str, firmware: Firmware | str) -> GuiGeneration:
    """The GUI generation of `line` (line, id or model name) at `firmware`."""
    return _resolve_line(line).gui_generation(firmware)


def _resolve_line(line: ProductLine | LineId | str) -> ProductLine:
    if isinstance(line, ProductLine):
        return line
    try:
        return LINES_BY_ID[LineId(line)]
    except ValueError:
        return line_of_model(line)


# --- passwords (spec §4) ---------------------------------------------------------------

PASSWORD_MIN_LENGTH: Final = 8
PASSWORD_MAX_LENGTH: Final = 16
PASSWORD_MIN_CLASSES: Final = 2
ADMIN_USER: Final = "admin"
STRENGTH_NAMES: Final = ("Risky", "Weak", "Medium", "Strong")  # real firmware says Medium, not Fair
# [dec] spec §4: the recorders' extra rules apply from this firmware on.
RECORDER_STRICT_RULES_FROM: Final = parse_firmware("V4.30")


def _classes(password: str) -> dict[str, bool]:
    return {
        "lower": any(c.islower() and c.isascii() for c in password),
        "upper": any(c.isupper() and c.isascii() for c in password),
        "digit": any(c.isdigit() and c.isascii() for c in password),
        "special": any(c.isascii() and c.isprintable() and not c.isalnum() for c in password),
    }


def strength_level(password: str, user: str = ADMIN_USER) -> int:
    """The GUI's own strength formula (spec §4): 0 Risky, 1 Weak, 2 Medium, 3 Strong."""
    classes = _classes(password)
    n = 0
    if classes["lower"]:
        n += 1
    if classes["upper"]:
        n += 2 if n else 1
    if classes["digit"]:
        n += 1
    if classes["special"]:
        n += 2 if n else 1
    if len(password) < PASSWORD_MIN_LENGTH or password in (user, user[::-1]):
        return 0
    return max(0, min(n - 1, 3))


def strength_name(password: str, user: str = ADMIN_USER) -> str:
    """`Risky`, `Weak`, `Medium` or `Strong`, as the GUI's strength bar shows it."""
    return STRENGTH_NAMES[strength_level(password, user)]


def _has_run(password: str, length: int, step: int) -> bool:
    for i in range(len(password) - length + 1):
        window = password[i : i + length]
        if all(c.isdigit() for c in window) and all(
            int(window[j + 1]) - int(window[j]) == step for j in range(length - 1)
        ):
            return True
    return False


def password_problems(
    password: str,
    line: ProductLine | LineId | str,
    firmware: Firmware | str,
    user: str = ADMIN_USER,
) -> list[str]:
    """Why the device should refuse `password` (empty when it should accept it).

    Spec §4: 8-16 printable ASCII characters, at least two character classes, strength
    above Risky; recorders from V4.30 also refuse the user name, `admin`, `123`, four
    consecutive ascending/descending digits and four identical characters in a row.
    """
    problems: list[str] = []
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        problems.append(
            f"length {len(password)} is outside {PASSWORD_MIN_LENGTH}-{PASSWORD_MAX_LENGTH}"
        )
    if not all(c.isascii() and c.isprintable() for c in password):
        problems.append("contains characters other than printable ASCII")
    if sum(_classes(password).values()) < PASSWORD_MIN_CLASSES:
        problems.append("fewer than two character classes")
    if strength_level(password, user) == 0:
        problems.append("strength is Risky")
    resolved = _resolve_line(line)
    fw = firmware if isinstance(firmware, Firmware) else parse_firmware(firmware)
    if resolved.is_recorder and fw >= RECORDER_STRICT_RULES_FROM:
        lowered = password.lower()
        if user.lower() in lowered or "admin" in lowered:
            problems.append("contains the user name")
        if "123" in password:
            problems.append("contains '123'")
        if _has_run(password, 4, 1) or _has_run(password, 4, -1):
            problems.append("contains four consecutive digits")
        if re.search(r"(.)\1{3}", password):
            problems.append("contains four identical characters in a row")
    return problems


def password_acceptable(
    password: str, line: ProductLine | LineId | str, firmware: Firmware | str
) -> bool:
    """True when the device should accept `password` for admin."""
    return not password_problems(password, line, firmware)


# --- lockout and verification codes (spec §5, §7) ------------------------------------

LOCKOUT_MAX_ATTEMPTS: Final = 7  # [dec] default maxIllegalLoginTimes
LOCKOUT_MINUTES: Final = 30  # [dec] default lock time
LOCKOUT_ATTEMPTS_RANGE: Final = (3, 20)
LOCKOUT_MINUTES_RANGE: Final = (1, 120)

CODE_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # [dec] no I, O, 0, 1
CODE_LENGTH: Final = 8
CODE_VALID_HOURS: Final = 48
CODE_MAX_WRONG_ENTRIES: Final = 5
RESET_TOKEN_VALID_SECONDS: Final = 300
MIN_APP_VERSION: Final = "3.5.4"
RESERVED_EMAIL_MAX_LENGTH: Final = 32

_CODE_RE: Final = re.compile(rf"\b([{CODE_ALPHABET}]{{{CODE_LENGTH}}})\b", re.IGNORECASE)


def is_verification_code(text: str) -> bool:
    """True for an 8-character code from the code alphabet (compared without case)."""
    return len(text) == CODE_LENGTH and all(c in CODE_ALPHABET for c in text.upper())


def find_verification_code(text: str) -> str | None:
    """The verification code in a mail body (`Verification code: XXXXXXXX`), upper-cased."""
    labelled = re.search(r"verification code\W*([A-Za-z0-9]{8})\b", text, re.IGNORECASE)
    if labelled and is_verification_code(labelled[1]):
        return labelled[1].upper()
    match = _CODE_RE.search(text)
    return match[1].upper() if match else None
