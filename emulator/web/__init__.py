"""The emulated devices' web GUI: static pages per GUI generation and the shared scripts.

The device server serves `WEB_ROOT / <generation>` at `/doc/` and `WEB_ROOT / "common"` at
`/common/`, answers `/SDK/guiConfig.js` itself, and redirects `/` to `/doc/` + `ENTRY[...]`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

WEB_ROOT: Final[Path] = Path(__file__).resolve().parent

GENERATIONS: Final[tuple[str, ...]] = ("recorder", "camera-classic", "camera-spa")

# The page `/` sends a browser to, relative to /doc/ (DEVICE-SPEC §2): every generation's
# `/` answers a script `window.location.href="/doc/page/login.asp?_<ms>"`; on the
# single-page generations that page itself only sends the browser on to
# `/doc/index.html#/portal/login`.
ENTRY: Final[dict[str, str]] = {
    "recorder": "page/login.asp",
    "camera-classic": "page/login.asp",
    "camera-spa": "page/login.asp",
}


def generation_root(generation: str) -> Path:
    """The folder served at /doc/ for `generation`; KeyError names an unknown generation."""
    if generation not in ENTRY:
        raise KeyError(f"unknown GUI generation {generation!r}; known: {', '.join(GENERATIONS)}")
    return WEB_ROOT / generation
