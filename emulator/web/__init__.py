"""The emulated devices' web GUI: static pages per GUI generation and the shared scripts.

The device server serves `WEB_ROOT / <generation>` at `/doc/` and `WEB_ROOT / "common"` at
`/common/`, answers `/SDK/guiConfig.js` itself, and redirects `/` to `/doc/` + `ENTRY[...]`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

WEB_ROOT: Final[Path] = Path(__file__).resolve().parent

GENERATIONS: Final[tuple[str, ...]] = ("recorder", "camera-classic", "camera-spa")

# The first page a browser opens, relative to /doc/ (DEVICE-SPEC §2).
ENTRY: Final[dict[str, str]] = {
    "recorder": "index.html",
    "camera-classic": "page/login.html",
    "camera-spa": "index.html",
}


def generation_root(generation: str) -> Path:
    """The folder served at /doc/ for `generation`; KeyError names an unknown generation."""
    if generation not in ENTRY:
        raise KeyError(f"unknown GUI generation {generation!r}; known: {', '.join(GENERATIONS)}")
    return WEB_ROOT / generation
