"""Reading a reset QR from a picture, as the phone app does (zxing-cpp through Pillow).

The harness reads the QR from what the user sees (a screenshot of the GUI, or the PNG the
*Export* button saves), never from the device's API, so a GUI that draws a wrong or
unreadable QR is caught.
"""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image, UnidentifiedImageError

from harness.errors import ProductDefect


class QrUnreadable(ProductDefect):
    """The picture holds no readable QR code, or more than one."""


def decode_qr(png: bytes) -> str:
    """The text of the single QR code in a PNG (or any image Pillow reads).

    Raises `QrUnreadable` when the picture is not an image, holds no QR code, or several.
    """
    try:
        opened = Image.open(io.BytesIO(png))
        opened.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise QrUnreadable(f"the QR picture is not a readable image ({len(png)} bytes)") from exc
    # Transparent PNGs decode badly: flatten onto white as a screen would show them.
    image: Image.Image = opened
    if image.mode in ("RGBA", "LA", "P"):
        rgba = image.convert("RGBA")
        image = Image.new("RGB", image.size, "white")
        image.paste(rgba, mask=rgba.getchannel("A"))
    # QR only (with every format on, zxing also reads spurious 1D codes in the modules).
    # Made per call: a module-level BarcodeFormats outlived a worker's interpreter
    # teardown in a CI run, and nanobind printed a "leaked instance" report at its exit.
    formats = zxingcpp.barcode_formats_from_str("QRCode")
    found = [b for b in zxingcpp.read_barcodes(image, formats=formats) if b.valid]
    if not found:
        raise QrUnreadable(f"no QR code found in the {image.width}x{image.height} picture")
    texts = {b.text for b in found}
    if len(texts) > 1:
        raise QrUnreadable(f"{len(texts)} different QR codes in one picture")
    return texts.pop()
