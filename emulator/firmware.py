"""Product lines, firmware version strings and the reserved-e-mail gate (DEVICE-SPEC §1)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

_FIRMWARE_RE = re.compile(r"^\s*V(?P<nums>\d+(?:\.\d+)*)\s*(?:build\s*(?P<build>\d{6}))?\s*$",
                          re.IGNORECASE)


class FirmwareFormatError(ValueError):
    """The text is not a firmware version such as `V5.7.10 build 240120`."""


@total_ordering
@dataclass(frozen=True)
class FirmwareVersion:
    """A parsed firmware string; compares as a numeric tuple, the build is not compared."""

    numbers: tuple[int, ...]
    build: str | None = None
    text: str = ""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FirmwareVersion):
            return NotImplemented
        return _padded(self.numbers, other.numbers) == _padded(other.numbers, self.numbers)

    def __lt__(self, other: FirmwareVersion) -> bool:
        return _padded(self.numbers, other.numbers) < _padded(other.numbers, self.numbers)

    def __hash__(self) -> int:
        nums = list(self.numbers)
        while nums and nums[-1] == 0:
            nums.pop()
        return hash(tuple(nums))

    @property
    def version(self) -> str:
        """`V5.7.10` without the build: what the device shows as firmwareVersion."""
        return self.text.split("build")[0].strip() if self.text else "V" + ".".join(
            str(n) for n in self.numbers)

    def __str__(self) -> str:
        return self.text or self.version


def _padded(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    # V5.6 and V5.6.0 are the same release.
    return a + (0,) * max(0, len(b) - len(a))


def parse_firmware(text: str) -> FirmwareVersion:
    """Parse `V4.21.000`, `V5.6.3`, `V5.7.10 build 240120` or `V5.6.10build 230721`."""
    match = _FIRMWARE_RE.match(text)
    if not match:
        raise FirmwareFormatError(
            f"firmware {text!r} is not like 'V5.6.3' or 'V5.7.10 build 240120'")
    numbers = tuple(int(n) for n in match.group("nums").split("."))
    version_text = "V" + match.group("nums")
    build = match.group("build")
    return FirmwareVersion(numbers, build, version_text)


@dataclass(frozen=True)
class ProductLine:
    """One row of the product-line table of DEVICE-SPEC §1."""

    key: str
    title: str
    device_type: str
    models: tuple[str, ...]
    email_reset_from: FirmwareVersion
    channels: int

    @property
    def is_recorder(self) -> bool:
        return self.device_type in ("DVR", "NVR")

    def generation(self, firmware: FirmwareVersion) -> str:
        """The GUI generation this line's firmware ships (camera split at V5.7.0 is [dec])."""
        if self.is_recorder:
            return "recorder"
        return "camera-spa" if firmware >= CAMERA_SPA_FROM else "camera-classic"


CAMERA_SPA_FROM = parse_firmware("V5.7.0")
# [dec] recorders from 2020 firmware refuse more passwords; we apply it from V4.30.
RECORDER_EXTRA_RULES_FROM = parse_firmware("V4.30")

PRODUCT_LINES: tuple[ProductLine, ...] = (
    ProductLine("dvr-k", "DVR K series", "DVR",
                ("DS-7204HQHI-K1", "DS-7216HUI-K2", "DS-7104HGHI-K1"),
                parse_firmware("V4.2.00"), 4),
    ProductLine("dvr-hghi-f", "DVR HGHI-F", "DVR",
                ("DS-7208HGHI-F1", "DS-7208HUHI-F2/N"), parse_firmware("V3.4.89"), 8),
    ProductLine("nvr", "NVR", "NVR", ("DS-7608NI-K2", "DS-7616NI-I2", "DS-7604NI-E1"),
                parse_firmware("V4.21.000"), 8),
    ProductLine("ipc", "IP camera", "IPCamera",
                ("DS-2CD2143G2-I", "DS-2CD2043G2-I", "DS-2CD3725G0-IZS"),
                parse_firmware("V5.6.0"), 1),
)


class UnknownModelError(ValueError):
    """The model belongs to no known product line."""


def all_models() -> list[str]:
    return [m for line in PRODUCT_LINES for m in line.models]


def line_for_model(model: str) -> ProductLine:
    """The product line of a model name (exact match, case-insensitive)."""
    for line in PRODUCT_LINES:
        for known in line.models:
            if known.lower() == model.strip().lower():
                return line
    raise UnknownModelError(
        f"unknown model {model!r}; known models: {', '.join(all_models())}")


def canonical_model(model: str) -> str:
    line = line_for_model(model)
    return next(m for m in line.models if m.lower() == model.strip().lower())


def email_reset_supported(line: ProductLine, firmware: FirmwareVersion) -> bool:
    """Spec §1: reserved-e-mail reset from the line's threshold on."""
    return firmware >= line.email_reset_from


def one_minor_below(threshold: FirmwareVersion) -> FirmwareVersion:
    """The start of the minor series before `threshold` (V4.21.000 -> V4.20): the gate a
    firmware with an off-by-one in its version check applies."""
    nums = [*list(threshold.numbers), 0, 0]
    major, minor = nums[0], nums[1]
    if minor > 0:
        return FirmwareVersion((major, minor - 1))
    return FirmwareVersion((max(major - 1, 0), 999))
