"""Spec §1 and §4 as pure rules: firmware strings, product lines, gates, password levels."""

from __future__ import annotations

import pytest

from emulator.firmware import (
    FirmwareFormatError,
    UnknownModelError,
    email_reset_supported,
    line_for_model,
    parse_firmware,
)
from emulator.passwords import check_new_password, strength


@pytest.mark.parametrize(("text", "numbers", "build"), [
    ("V4.21.000", (4, 21, 0), None), ("V5.6.3", (5, 6, 3), None),
    ("V5.7.10 build 240120", (5, 7, 10), "240120"), ("V5.6.10build 230721", (5, 6, 10), "230721"),
])
def test_firmware_formats(text: str, numbers: tuple[int, ...], build: str | None) -> None:
    fw = parse_firmware(text)
    assert fw.numbers == numbers and fw.build == build


@pytest.mark.parametrize("text", ["5.6.3", "V5..6", "Vx", "", "V5.6 build 12"])
def test_bad_firmware(text: str) -> None:
    with pytest.raises(FirmwareFormatError):
        parse_firmware(text)


@pytest.mark.parametrize(("low", "high"), [("V4.2.00", "V4.22.005"), ("V3.4.88", "V3.4.89"),
                                           ("V5.6.10build 230721", "V5.7.0"),
                                           ("V4.9.0", "V4.10.0")])
def test_numeric_comparison(low: str, high: str) -> None:
    assert parse_firmware(low) < parse_firmware(high)


def test_trailing_zero_equal() -> None:
    assert parse_firmware("V5.6") == parse_firmware("V5.6.0")


@pytest.mark.parametrize(("model", "below", "at"), [
    ("DS-7204HQHI-K1", "V4.1.99", "V4.2.00"), ("DS-7208HGHI-F1", "V3.4.88", "V3.4.89"),
    ("DS-7608NI-K2", "V4.20.999", "V4.21.000"), ("DS-2CD2143G2-I", "V5.5.99", "V5.6.0"),
])
def test_email_gate_thresholds(model: str, below: str, at: str) -> None:
    line = line_for_model(model)
    assert not email_reset_supported(line, parse_firmware(below))
    assert email_reset_supported(line, parse_firmware(at))


def test_generations_and_types() -> None:
    ipc = line_for_model("DS-2CD3725G0-IZS")
    assert ipc.device_type == "IPCamera"
    assert ipc.generation(parse_firmware("V5.6.9")) == "camera-classic"
    assert ipc.generation(parse_firmware("V5.7.0")) == "camera-spa"
    assert line_for_model("DS-7616NI-I2").generation(parse_firmware("V4.1")) == "recorder"
    assert line_for_model("DS-7208HUHI-F2/N").device_type == "DVR"
    with pytest.raises(UnknownModelError):
        line_for_model("DS-0000")


@pytest.mark.parametrize(("password", "level"), [
    ("abcdefgh", 0), ("abcdefg1", 1), ("Abcdefgh", 2), ("Abcdefg1", 3), ("ABCDEFG1", 1),
    ("Abcdef1!", 3), ("ABCDEFGH", 0),
    ("Abc1!", 0), ("nimda", 0), ("admin", 0), ("aB!aB!aB", 3), ("12345678", 0),
])
def test_strength_formula(password: str, level: int) -> None:
    assert strength(password) == level


def test_recorder_2020_rules() -> None:
    for bad in ("Xadmin-99z", "Pass123word", "Ab-45678xy", "Ab-98765xy", "Abbbb-9xyz"):
        assert check_new_password(bad, refuse_risky=True, recorder_2020_rules=True) == \
            "riskPassword", bad
        assert check_new_password(bad, refuse_risky=True, recorder_2020_rules=False) is None
    assert check_new_password("Tr1cky-Pass", refuse_risky=True, recorder_2020_rules=True) is None
