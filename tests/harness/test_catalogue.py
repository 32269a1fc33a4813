"""QA's expectations: firmware parsing and comparison, lines, GUI generations, passwords."""

from __future__ import annotations

import pytest

from harness.catalogue import (
    CODE_ALPHABET,
    CODE_LENGTH,
    LOCKOUT_MAX_ATTEMPTS,
    LOCKOUT_MINUTES,
    Firmware,
    FirmwareFormatError,
    GuiGeneration,
    LineId,
    UnknownModelError,
    find_verification_code,
    gui_generation,
    line_of_model,
    parse_firmware,
    password_problems,
    strength_level,
    strength_name,
    supports_reserved_email_reset,
)


@pytest.mark.parametrize(
    ("text", "numbers", "build"),
    [
        ("V4.21.000", (4, 21, 0), None),
        ("V5.6.3", (5, 6, 3), None),
        ("V5.7.10 build 240120", (5, 7, 10), "240120"),
        ("V5.6.10build 230721", (5, 6, 10), "230721"),
        ("  V3.4.89 ", (3, 4, 89), None),
    ],
)
def test_firmware_formats(text: str, numbers: tuple[int, ...], build: str | None) -> None:
    firmware = parse_firmware(text)
    assert firmware.numbers == numbers
    assert firmware.build == build


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("V4.2.00", "V4.22.005"),
        ("V3.4.88", "V3.4.89"),
        ("V5.6.10build 230721", "V5.7.0"),
        ("V5.6.3", "V5.6.10"),
        ("V4.9.99", "V4.10.0"),
    ],
)
def test_firmware_compares_as_numeric_tuples(lower: str, higher: str) -> None:
    assert parse_firmware(lower) < parse_firmware(higher)
    assert parse_firmware(higher) > parse_firmware(lower)


def test_builds_of_one_version_compare_equal() -> None:
    assert parse_firmware("V5.7.10 build 240120") == parse_firmware("V5.7.10")
    assert parse_firmware("V5.6") == parse_firmware("V5.6.0")
    assert isinstance(parse_firmware("V5.6"), Firmware)
    assert parse_firmware("V5.7.10 build 240120").version == "V5.7.10"


@pytest.mark.parametrize("text", ["five", "5.6.3", "V5", "V5.6.3 build", "V5.x.1", ""])
def test_malformed_firmware_is_a_clear_error(text: str) -> None:
    with pytest.raises(FirmwareFormatError, match=r"expected a firmware version like V5\.6\.3"):
        parse_firmware(text)


@pytest.mark.parametrize(
    ("model", "line"),
    [
        ("DS-7204HQHI-K1", LineId.DVR_K),
        ("DS-7216HUI-K2", LineId.DVR_K),
        ("DS-7104HGHI-K1", LineId.DVR_K),
        ("DS-7208HGHI-F1", LineId.DVR_HGHI_F),
        ("DS-7208HUHI-F2/N", LineId.DVR_HGHI_F),
        ("DS-7608NI-K2", LineId.NVR),
        ("DS-7616NI-I2", LineId.NVR),
        ("DS-7604NI-E1", LineId.NVR),
        ("DS-2CD2143G2-I", LineId.IPC),
        ("DS-2CD2043G2-I", LineId.IPC),
        ("DS-2CD3725G0-IZS", LineId.IPC),
    ],
)
def test_model_to_line(model: str, line: LineId) -> None:
    assert line_of_model(model).id is line
    assert model in line_of_model(model).example_models


def test_unknown_model() -> None:
    with pytest.raises(UnknownModelError, match="unknown model 'XYZ-1'"):
        line_of_model("XYZ-1")


@pytest.mark.parametrize(
    ("line", "below", "at"),
    [
        ("dvr-k", "V4.1.99", "V4.2.00"),
        ("dvr-hghi-f", "V3.4.88", "V3.4.89"),
        ("nvr", "V4.20.999", "V4.21.000"),
        ("ipc", "V5.5.82", "V5.6.0"),
    ],
)
def test_reset_thresholds(line: str, below: str, at: str) -> None:
    assert not supports_reserved_email_reset(line, below)
    assert supports_reserved_email_reset(line, at)
    assert supports_reserved_email_reset(line, at.replace("V", "V1"))


def test_threshold_by_model_name() -> None:
    assert supports_reserved_email_reset("DS-7608NI-K2", "V4.22.005")
    assert not supports_reserved_email_reset("DS-7608NI-K2", "V4.2.00")


@pytest.mark.parametrize(
    ("line", "firmware", "generation"),
    [
        ("dvr-k", "V4.30.005", GuiGeneration.RECORDER),
        ("nvr", "V4.21.000", GuiGeneration.RECORDER),
        ("dvr-hghi-f", "V3.4.88", GuiGeneration.RECORDER),
        ("ipc", "V5.6.3", GuiGeneration.CAMERA_CLASSIC),
        ("ipc", "V5.6.10build 230721", GuiGeneration.CAMERA_CLASSIC),
        ("ipc", "V5.7.0", GuiGeneration.CAMERA_SPA),
        ("ipc", "V5.7.10 build 240120", GuiGeneration.CAMERA_SPA),
    ],
)
def test_gui_generations(line: str, firmware: str, generation: GuiGeneration) -> None:
    assert gui_generation(line, firmware) is generation


# Levels computed by hand from spec §4's formula.
@pytest.mark.parametrize(
    ("password", "level"),
    [
        ("abcdefgh", 0),  # lower: n = 1 → 0
        ("abcdefg1", 1),  # lower 1 + digit 1 = 2 → 1
        ("ABCDEFG!", 2),  # upper 1 (n was 0) + special 2 = 3 → 2
        ("Abcdefg1", 3),  # lower 1 + upper 2 + digit 1 = 4 → 3
        ("Ab1!Ab1!", 3),  # 1 + 2 + 1 + 2 = 6 → capped at 3
        ("Abc1!", 0),  # shorter than 8
    ],
)
def test_strength_formula(password: str, level: int) -> None:
    assert strength_level(password) == level


def test_strength_names() -> None:
    assert strength_name("abcdefgh") == "Risky"
    assert strength_name("abcdefg1") == "Weak"
    assert strength_name("ABCDEFG!") == "Medium"
    assert strength_name("Abcdefg1") == "Strong"


def test_password_rules_all_lines() -> None:
    assert password_problems("Qx7!mZ2p", "ipc", "V5.6.0") == []
    assert "length 7 is outside 8-16" in password_problems("Qx7!mZ2", "ipc", "V5.6.0")
    assert "length 17 is outside 8-16" in password_problems("Qx7!mZ2pQx7!mZ2pQ", "ipc", "V5.6.0")
    assert "fewer than two character classes" in password_problems("abcdefgh", "nvr", "V4.21.000")
    assert "contains characters other than printable ASCII" in password_problems(
        "Qx7!mZ2pé", "ipc", "V5.6.0"
    )


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Xadmin77!", "contains the user name"),
        ("Qx123!mZp", "contains '123'"),
        ("Qx!9876mZ", "contains four consecutive digits"),
        ("Qx!4567mZ", "contains four consecutive digits"),
        ("Qx!aaaamZ7", "contains four identical characters in a row"),
    ],
)
def test_recorder_extra_rules_from_v4_30(password: str, problem: str) -> None:
    assert problem in password_problems(password, "nvr", "V4.30.005")
    assert problem not in password_problems(password, "nvr", "V4.22.005")
    assert problem not in password_problems(password, "ipc", "V5.7.10")


def test_lockout_and_code_constants() -> None:
    assert (LOCKOUT_MAX_ATTEMPTS, LOCKOUT_MINUTES) == (7, 30)
    assert CODE_LENGTH == 8
    assert not set("IO01") & set(CODE_ALPHABET)


def test_find_verification_code() -> None:
    body = "Your device DS-2CD...\nVerification code: ab3k9zq7\nValid for 48 hours."
    assert find_verification_code(body) == "AB3K9ZQ7"
    assert find_verification_code("no code here") is None
