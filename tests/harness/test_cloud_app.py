"""The phone-app role: reading QR pictures, the registry, the manual app, the cloud API."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import segno
from PIL import Image

from harness.cloud import (
    ManualPhoneApp,
    PhoneApp,
    PhoneAppSettings,
    phone_app_for,
)
from harness.errors import HarnessError
from harness.qr import QrUnreadable, decode_qr

QR_TEXT = "HIKRESET1:eyJzbiI6IkRTLTJDRDIxNDNHMi1JIiwibm9uY2UiOiJhYmMifQ"


def _png(text: str, *, scale: int = 4, transparent: bool = False) -> bytes:
    out = io.BytesIO()
    segno.make(text, micro=False).save(
        out, kind="png", scale=scale, light=None if transparent else "white"
    )
    return out.getvalue()


def test_decode_a_qr_picture() -> None:
    assert decode_qr(_png(QR_TEXT)) == QR_TEXT


def test_decode_a_transparent_small_qr() -> None:
    assert decode_qr(_png(QR_TEXT, scale=2, transparent=True)) == QR_TEXT


def test_picture_without_qr_is_unreadable() -> None:
    blank = io.BytesIO()
    Image.new("RGB", (120, 120), "white").save(blank, format="PNG")
    with pytest.raises(QrUnreadable, match="no QR code"):
        decode_qr(blank.getvalue())
    with pytest.raises(QrUnreadable, match="not a readable image"):
        decode_qr(b"not a png")


def test_two_different_codes_are_refused() -> None:
    left, right = Image.open(io.BytesIO(_png("A" * 20))), Image.open(io.BytesIO(_png("B" * 20)))
    both = Image.new("RGB", (left.width + right.width, left.height), "white")
    both.paste(left.convert("RGB"), (0, 0))
    both.paste(right.convert("RGB"), (left.width, 0))
    out = io.BytesIO()
    both.save(out, format="PNG")
    with pytest.raises(QrUnreadable, match="2 different"):
        decode_qr(out.getvalue())


def test_registry_picks_by_cloud_kind(tmp_path: Path) -> None:
    emulated = phone_app_for("emulated", PhoneAppSettings(cloud_url="http://127.0.0.1:9"))
    assert isinstance(emulated, PhoneApp)
    assert isinstance(phone_app_for("manual", PhoneAppSettings(qr_dir=tmp_path)), ManualPhoneApp)
    with pytest.raises(HarnessError, match="known: emulated, manual"):
        phone_app_for("carrier-pigeon", PhoneAppSettings())
    with pytest.raises(HarnessError, match="URL"):
        phone_app_for("emulated", PhoneAppSettings())


def test_manual_app_saves_the_picture_and_says_where(tmp_path: Path) -> None:
    said: list[str] = []
    app = ManualPhoneApp(tmp_path / "qr", announce=said.append)
    text = app.scan(_png(QR_TEXT))
    request = app.request_code(text)
    assert request.manual
    saved = list((tmp_path / "qr").glob("*.png"))
    assert len(saved) == 1 and decode_qr(saved[0].read_bytes()) == QR_TEXT
    assert str(saved[0]) in said[0]
    with pytest.raises(HarnessError, match="scan"):
        app.request_code("HIKRESET1:never-scanned")
