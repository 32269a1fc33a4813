"""One aiohttp Application for a whole fleet; one listening socket per device."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import TextIO

from aiohttp import web

from ..device import Device
from ..errors import DeviceError, LoginRefused
from ..interfaces import PowerState
from . import documents
from .auth import Unauthorised

DEVICES: web.AppKey[dict[int, Device]] = web.AppKey("devices_by_port", dict)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
DeviceHandlerFn = Callable[[web.Request, Device], Awaitable[web.StreamResponse]]


def device_of(request: web.Request) -> Device:
    """The device whose socket the request arrived on."""
    transport = request.transport
    port = transport.get_extra_info("sockname")[1] if transport is not None else -1
    device = request.app[DEVICES].get(port)
    if device is None:
        raise web.HTTPServiceUnavailable(text="device is not listening")
    return device


def device_handler(handler: DeviceHandlerFn) -> Handler:
    """Wrap a route: find the device, add its latency, refuse while booting, render errors.

    A wrapper per route instead of an aiohttp middleware: the probe every client polls
    costs less this way.
    """

    async def wrapped(request: web.Request) -> web.StreamResponse:
        device = device_of(request)
        if device.latency_ms:
            await asyncio.sleep(device.latency_ms / 1000)
        if device.power_state != PowerState.ON:
            raise web.HTTPServiceUnavailable(text="device is booting")
        request[documents.NS_KEY] = device.xml_ns
        try:
            return await handler(request, device)
        except DeviceError as err:
            return documents.response_status(request, err.http_status, err.status_code,
                                             err.sub, err.retry_times)
        except LoginRefused as refused:
            # A password judged by the call itself (session login, the admin password of a
            # no-login call) is refused without a Digest challenge: the call is not one that
            # Digest opens, and a browser given a challenge would ask for a password of its
            # own, which no real GUI's user is ever shown (docs/device-api.md, rule 4).
            return documents.user_check(request, refused)
        except Unauthorised as unauthorised:
            return unauthorised.response

    return wrapped


SERVER_HEADER = "App-webs/"


async def server_header(_request: web.Request, response: web.StreamResponse) -> None:
    """Every answer (401s, 404s and GUI files included) names the real firmware's server."""
    response.headers["Server"] = SERVER_HEADER


# The fleet's access log, when $HIL_EMULATOR_ACCESS_LOG names a file: one JSON line per
# answer (when, device, client address, method, path, status). Tests of a lab shared by
# several runners judge double bookings from it: it is the devices' own account.
ACCESS_LOG_ENV = "HIL_EMULATOR_ACCESS_LOG"
ACCESS_LOG: web.AppKey[TextIO] = web.AppKey("access_log", TextIO)


def open_access_log(app: web.Application) -> None:
    """Log every answer of `app` to the file $HIL_EMULATOR_ACCESS_LOG names, if it does."""
    path = os.environ.get(ACCESS_LOG_ENV)
    if not path:
        return
    app[ACCESS_LOG] = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115
    app.on_response_prepare.append(_log_access)


async def _log_access(request: web.Request, response: web.StreamResponse) -> None:
    transport = request.transport
    port = transport.get_extra_info("sockname")[1] if transport is not None else -1
    device = request.app[DEVICES].get(port)
    line = {"t": time.time(), "device": device.name if device is not None else None,
            "client": request.remote, "method": request.method, "path": request.path,
            "status": response.status}
    request.app[ACCESS_LOG].write(json.dumps(line) + "\n")


def bind_socket(host: str, port: int, *, listen: bool) -> socket.socket:
    """A bound (and optionally listening) TCP socket; raises OSError when the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        if listen:
            sock.listen(256)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class HttpFront:
    """The shared HTTP server: open and close one device's port at a time."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.runner = web.AppRunner(app, handle_signals=False, access_log=None)
        self._sites: dict[int, web.SockSite] = {}

    async def setup(self) -> None:
        await self.runner.setup()

    async def open(self, device: Device, host: str, port: int,
                   ssl_context: ssl.SSLContext | None = None) -> int:
        """Listen for `device` on `port` (0 = any free port), over TLS with `ssl_context`;
        answer the port."""
        sock = bind_socket(host, port, listen=False)
        port = sock.getsockname()[1]
        site = web.SockSite(self.runner, sock, backlog=512, ssl_context=ssl_context)
        self.app[DEVICES][port] = device
        await site.start()
        self._sites[port] = site
        return int(port)

    async def close(self, port: int) -> None:
        """Stop listening on `port` and drop its open connections (connection refused)."""
        site = self._sites.pop(port, None)
        if site is not None:
            await site.stop()
        server = self.runner.server
        if server is not None:
            for handler in server.connections:
                transport = handler.transport
                if transport is not None and transport.get_extra_info("sockname")[1] == port:
                    transport.abort()
        self.app[DEVICES].pop(port, None)

    async def cleanup(self) -> None:
        for port in list(self._sites):
            await self.close(port)
        await self.runner.cleanup()
