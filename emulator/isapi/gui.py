"""The GUI serving contract: `/doc/` = web/<generation>/, `/common/` = web/common/,
`/` redirects to the generation's entry page, `/SDK/guiConfig.js` describes the build."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from ..device import Device
from .server import device_handler

DEFAULT_WEB_ROOT = Path(__file__).resolve().parent.parent / "web"
CONTENT_TYPES = {
    ".html": "text/html", ".htm": "text/html", ".asp": "text/html",
    ".js": "application/javascript", ".mjs": "application/javascript",
    ".css": "text/css", ".json": "application/json", ".svg": "image/svg+xml",
    ".png": "image/png", ".jpg": "image/jpeg", ".gif": "image/gif", ".ico": "image/x-icon",
    ".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf", ".txt": "text/plain",
    ".xml": "application/xml", ".map": "application/json",
}


def web_layout() -> tuple[Path, dict[str, str]]:
    """WEB_ROOT and ENTRY from `emulator.web` (the GUI helper's), with fallbacks."""
    try:
        from .. import web as gui_pkg
    except ImportError:
        return DEFAULT_WEB_ROOT, {}
    root = getattr(gui_pkg, "WEB_ROOT", DEFAULT_WEB_ROOT)
    entry = getattr(gui_pkg, "ENTRY", {})
    return Path(root), dict(entry) if isinstance(entry, dict) else {}


def _serve(root: Path, rel: str) -> web.StreamResponse:
    if not rel or rel.endswith("/"):
        rel += "index.html"
    base = root.resolve()
    path = (base / rel).resolve()
    if not path.is_relative_to(base) or not path.is_file():
        raise web.HTTPNotFound(text=f"no such page: {rel}")
    content_type = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
    if content_type.startswith("text/") or content_type.endswith(("javascript", "json")):
        content_type += "; charset=utf-8"
    return web.FileResponse(path, headers={"Content-Type": content_type,
                                           "Cache-Control": "no-cache"})


async def doc_files(request: web.Request, device: Device) -> web.StreamResponse:
    root, _entry = web_layout()
    return _serve(root / device.generation, request.match_info["path"])


async def common_files(request: web.Request, _device: Device) -> web.StreamResponse:
    root, _entry = web_layout()
    return _serve(root / "common", request.match_info["path"])


# What real firmware answers at `/` (DEVICE-SPEC §2): a page whose script moves the browser
# on, with a cache-busting `?_<ms>`, rather than an HTTP redirect.
_ROOT_PAGE = ('<!DOCTYPE html>\n<html><head><meta charset="utf-8"><script>'
              'window.location.href="/doc/{target}?_" + (new Date()).getTime();'
              '</script></head><body></body></html>\n')


async def root_redirect(request: web.Request, device: Device) -> web.StreamResponse:
    _root, entry = web_layout()
    target = entry.get(device.generation, "page/login.asp").lstrip("/")
    return web.Response(text=_ROOT_PAGE.replace("{target}", target), content_type="text/html",
                        headers={"Cache-Control": "no-cache"})


async def gui_config(request: web.Request, device: Device) -> web.Response:
    config = {
        "generation": device.generation, "deviceType": device.device_type,
        "model": device.model, "firmware": device.version.version,
        "gui": {"checkConfirm": device.policy.gui.check_confirm,
                "strengthOffset": device.policy.gui.strength_offset,
                "guardInactive": device.policy.gui.guard_inactive,
                "checkCookies": device.policy.gui.check_cookies},
    }
    return web.Response(text=f"window.HIK_DEVICE = {json.dumps(config)};\n",
                        content_type="application/javascript",
                        headers={"Cache-Control": "no-cache"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", device_handler(root_redirect))
    app.router.add_get("/doc/{path:.*}", device_handler(doc_files))
    app.router.add_get("/common/{path:.*}", device_handler(common_files))
    app.router.add_get("/SDK/guiConfig.js", device_handler(gui_config))
