"""The emulated vendor cloud against real servers on loopback.

A real aiosmtpd sink stands for the lab's mail relay and receives the code mails; the phone
app's call is a real HTTP request; the Export channel is a real SMTP delivery of a PNG made
with segno from a real QR text.
"""

from __future__ import annotations

import asyncio
import base64
import email.policy
import io
import logging
import queue
import re
import smtplib
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, TypeVar

import aiosmtplib
import httpx
import pytest
import segno
from aiosmtpd.smtp import SMTP, Envelope, Session
from async_scenario import run
from specclient import SpecClient

from emulator.cloud import RECOVERY_ADDRESS, CloudService, app_version_ok, start_cloud
from emulator.cloudcrypto import (
    QrPayload,
    derive_code,
    new_cloud_key,
    parse_qr_text,
    qr_text,
    seal_address,
)
from emulator.interfaces import DeviceHandle

T = TypeVar("T")
HOST = "127.0.0.1"
MIN_APP = "3.5.4"
WAIT_S = 15.0
SERIAL = "DS-7608NI-K20820210422CCWR593756043WCVU"
RESERVED = "owner@example.com"




# -- the world around the cloud ---------------------------------------------------------------

class MailSink:
    """aiosmtpd handler that keeps every mail the relay receives."""

    def __init__(self) -> None:
        self.mails: asyncio.Queue[tuple[Envelope, EmailMessage]] = asyncio.Queue()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = BytesParser(policy=email.policy.default).parsebytes(
            envelope.original_content or b"")
        assert isinstance(message, EmailMessage)
        await self.mails.put((envelope, message))
        return "250 OK"

    async def next_mail(self) -> tuple[Envelope, EmailMessage]:
        try:
            return await asyncio.wait_for(self.mails.get(), WAIT_S)
        except TimeoutError:
            raise TimeoutError(f"no mail reached the relay sink in {WAIT_S} s") from None


@dataclass
class CloudDevice:
    """Just what the cloud reads of a device: serial and cloud key (the DeviceHandle rest
    is never touched by the cloud, so it is left out of this double)."""
    name: str
    serial: str
    cloud_key: bytes = field(default_factory=new_cloud_key)

    def reset_qr(self, address: str = RESERVED, key: bytes | None = None,
                 nonce: str = "0123456789abcdef") -> tuple[str, QrPayload]:
        """A QR as the device shows it, the address sealed under `key` (default: its own)."""
        payload = QrPayload(self.serial, nonce, int(time.time()),
                            seal_address(key or self.cloud_key, address))
        return qr_text(payload), payload


class CloudFleet:
    def __init__(self, *devices: CloudDevice) -> None:
        self._devices = list(devices)

    def devices(self) -> list[DeviceHandle]:
        return list(self._devices)  # type: ignore[arg-type]

    def device(self, name: str) -> DeviceHandle | None:
        return next((d for d in self._devices if d.name == name), None)  # type: ignore[return-value]

    def by_serial(self, serial: str) -> DeviceHandle | None:
        return next((d for d in self._devices if d.serial == serial), None)  # type: ignore[return-value]


@dataclass
class World:
    cloud: CloudService
    sink: MailSink
    device: CloudDevice
    http: httpx.AsyncClient

    async def ask(self, body: Any, app_version: str | None = MIN_APP) -> httpx.Response:
        headers = {"X-App-Version": app_version} if app_version is not None else {}
        return await self.http.post(
            f"http://{HOST}:{self.cloud.http_port}/api/v1/device-password-reset",
            json=body, headers=headers)


@asynccontextmanager
async def cloud_world() -> AsyncIterator[World]:
    sink = MailSink()
    loop = asyncio.get_running_loop()
    relay = await loop.create_server(lambda: SMTP(sink, hostname="relay.test"), HOST, 0)
    relay_port = relay.sockets[0].getsockname()[1]
    device = CloudDevice("nvr1", SERIAL)
    cloud = await start_cloud(CloudFleet(device), host=HOST, http_port=0, smtp_port=0,
                              relay_host=HOST, relay_port=relay_port, min_app_version=MIN_APP)
    try:
        async with httpx.AsyncClient(timeout=10.0) as http:
            yield World(cloud, sink, device, http)
    finally:
        await cloud.close()
        relay.close()
        await relay.wait_closed()


def assert_code_mail(message: EmailMessage, device: CloudDevice, payload: QrPayload) -> None:
    assert message["From"] == "noreply@cloud.hik-emulator.test"
    assert message["To"] == RESERVED
    assert device.serial in message["Subject"]
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert f"Verification code: {derive_code(device.cloud_key, payload.nonce)}" in text
    assert "48 hours" in text


# -- app version --------------------------------------------------------------------------------

@pytest.mark.parametrize(("header", "ok"), [
    ("3.5.4", True), ("3.10.0", True), ("4", True), ("3.5.4.1", True), ("V3.6.0 build 1", True),
    ("3.5.3", False), ("3.4.99", False), ("2.9", False), ("abc", False), (None, False),
])
def test_app_version_is_compared_numerically(header: str | None, ok: bool) -> None:
    assert app_version_ok(header, MIN_APP) is ok


def test_an_old_app_is_refused_with_426_and_the_minimum() -> None:
    async def scenario() -> None:
        async with cloud_world() as world:
            qr, _ = world.device.reset_qr()
            old = await world.ask({"qr": qr}, app_version="3.5.3")
            missing = await world.ask({"qr": qr}, app_version=None)
            assert old.status_code == 426
            assert old.json() == {"error": "appVersionTooOld", "minimum": MIN_APP}
            assert missing.status_code == 426
            await world.cloud.drain(WAIT_S)
            assert world.sink.mails.empty()
    run(scenario)


# -- bad requests -------------------------------------------------------------------------------

def test_a_bad_qr_is_refused_with_400() -> None:
    async def scenario() -> None:
        async with cloud_world() as world:
            for body in ({"qr": "not a reset code"}, {"qr": "HIKRESET1:!!!"}, {"qr": 5}, {},
                         ["qr"]):
                answer = await world.ask(body)
                assert answer.status_code == 400, body
                assert answer.json() == {"error": "badQr"}
            raw = await world.http.post(
                f"http://{HOST}:{world.cloud.http_port}/api/v1/device-password-reset",
                content=b"{not json", headers={"X-App-Version": MIN_APP})
            assert raw.status_code == 400
    run(scenario)


def test_an_unknown_serial_is_refused_with_404() -> None:
    async def scenario() -> None:
        async with cloud_world() as world:
            stranger = CloudDevice("other", "DS-2CD2143G2-I20230313AAWRJ12345678")
            qr, _ = stranger.reset_qr()
            answer = await world.ask({"qr": qr})
            assert answer.status_code == 404
            assert answer.json() == {"error": "unknownDevice"}
    run(scenario)


# -- the code mail ------------------------------------------------------------------------------

def test_the_app_channel_mails_the_derived_code_to_the_reserved_address() -> None:
    async def scenario() -> None:
        async with cloud_world() as world:
            qr, payload = world.device.reset_qr()
            answer = await world.ask({"qr": qr}, app_version="3.10.2")
            assert answer.status_code == 202
            assert answer.json() == {"status": "accepted", "serial": SERIAL}
            envelope, message = await world.sink.next_mail()
            assert envelope.rcpt_tos == [RESERVED]
            assert_code_mail(message, world.device, payload)
    run(scenario)


def test_a_qr_sealed_under_a_stale_key_sends_nothing_and_logs_no_secret(
        caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with cloud_world() as world:
            stale_key = new_cloud_key()
            qr, payload = world.device.reset_qr(key=stale_key)
            answer = await world.ask({"qr": qr})
            # Accepted: the app cannot know; the cloud finds out when it opens the address.
            assert answer.status_code == 202
            await world.cloud.drain(WAIT_S)
            assert world.sink.mails.empty()
            code = derive_code(world.device.cloud_key, payload.nonce)
            assert any(SERIAL in r.getMessage() and "no mail" in r.getMessage()
                       for r in caplog.records)
            assert all(RESERVED not in r.getMessage() and code not in r.getMessage()
                       for r in caplog.records)
    with caplog.at_level(logging.DEBUG):
        run(scenario)


# -- the Export channel -------------------------------------------------------------------------

def qr_png(text: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=4, border=4)
    return buffer.getvalue()


def export_mail(png: bytes | None, to: str = RECOVERY_ADDRESS,
                mime: tuple[str, str] = ("image", "png")) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = RESERVED
    mail["To"] = to
    mail["Subject"] = "Reset QR"
    mail.set_content("Exported from the device.")
    if png is not None:
        mail.add_attachment(png, maintype=mime[0], subtype=mime[1], filename="qrcode.png")
    return mail


async def deliver(world: World, mail: EmailMessage) -> None:
    await aiosmtplib.send(mail, hostname=HOST, port=world.cloud.smtp_port, timeout=10,
                          start_tls=False, local_hostname="tester.test")


@pytest.mark.parametrize("mime", [("image", "png"), ("application", "octet-stream")])
def test_the_export_channel_mails_the_code_for_a_qr_picture(mime: tuple[str, str]) -> None:
    async def scenario() -> None:
        async with cloud_world() as world:
            qr, payload = world.device.reset_qr(nonce="fedcba9876543210")
            assert world.cloud.recovery_address == "pw_recovery@cloud.hik-emulator.test"
            await deliver(world, export_mail(qr_png(qr), to=world.cloud.recovery_address,
                                             mime=mime))
            envelope, message = await world.sink.next_mail()
            assert envelope.rcpt_tos == [RESERVED]
            assert_code_mail(message, world.device, payload)
    run(scenario)


def test_the_recovery_inbox_refuses_other_recipients_and_pictureless_mail() -> None:
    async def scenario() -> None:
        async with cloud_world() as world:
            qr, _ = world.device.reset_qr()
            with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
                await deliver(world, export_mail(qr_png(qr), to="someone@cloud.hik-emulator.test"))
            with pytest.raises(aiosmtplib.SMTPDataError, match="no QR code"):
                await deliver(world, export_mail(None))
            with pytest.raises(aiosmtplib.SMTPDataError, match="not a device password reset"):
                await deliver(world, export_mail(qr_png("https://example.com/")))
            await world.cloud.drain(WAIT_S)
            assert world.sink.mails.empty()
    run(scenario)


def test_closing_the_cloud_ends_open_recovery_sessions() -> None:
    async def scenario() -> None:
        async with cloud_world() as world:
            smtp = aiosmtplib.SMTP(hostname=HOST, port=world.cloud.smtp_port, timeout=10,
                                   start_tls=False, local_hostname="tester.test")
            await smtp.connect()
            await smtp.ehlo()
            await world.cloud.close()
            with pytest.raises(aiosmtplib.SMTPServerDisconnected):
                await smtp.noop()
    run(scenario)


# -- end to end with the real fleet -------------------------------------------------------------
# A real emulated recorder, activated over ISAPI with a reserved address, serves its QR; the
# fleet's cloud mails the code to a relay sink; the device accepts that code.

PASSWORD = "Tr1cky-Pass9"
OWNER = "owner@example.com"


class ThreadedSink(MailSink):
    """The relay sink on its own event-loop thread, for tests whose fleet runs on another."""

    def __init__(self) -> None:
        super().__init__()
        self.received: queue.Queue[tuple[Envelope, EmailMessage]] = queue.Queue()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="relay-sink",
                                        daemon=True)
        self._server: asyncio.Server | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = BytesParser(policy=email.policy.default).parsebytes(
            envelope.original_content or b"")
        assert isinstance(message, EmailMessage)
        self.received.put((envelope, message))
        return "250 OK"

    def start(self) -> int:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(self._loop.create_server(
            lambda: SMTP(self, hostname="relay.test"), HOST, 0), self._loop).result(10)
        return int(self._server.sockets[0].getsockname()[1])

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()
        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def next_mail_for(self, to: str) -> EmailMessage:
        try:
            envelope, message = self.received.get(timeout=WAIT_S)
        except queue.Empty:
            raise TimeoutError(f"no mail for {to} reached the relay sink in {WAIT_S} s") from None
        assert envelope.rcpt_tos == [to]
        return message


@dataclass
class RealLab:
    lab: Any
    sink: ThreadedSink

    def activated_client(self, name: str) -> SpecClient:
        client = SpecClient(self.lab.url(name))
        answer = client.activate(PASSWORD)
        assert answer.status_code == 200, answer.text
        answer = client.set_email(PASSWORD, OWNER)
        assert answer.status_code == 200, answer.text
        return client

    def reset_qr(self, client: SpecClient) -> str:
        answer = client.qr()
        assert answer.status_code == 200, answer.text
        return str(answer.json()["QRCode"]["qrText"])

    def cloud_url(self) -> str:
        return f"{self.lab.info['cloud']['http']}/api/v1/device-password-reset"

    def expected_code(self, name: str, qr: str) -> str:
        return derive_code(self.lab.device(name).cloud_key, parse_qr_text(qr).nonce)


@pytest.fixture
def real_lab(fleet_factory: Callable[..., Any]) -> Iterator[RealLab]:
    sink = ThreadedSink()
    relay_port = sink.start()
    try:
        lab = fleet_factory(
            [{"name": "nvr", "model": "DS-7608NI-K2", "firmware": "V4.22.005"},
             {"name": "stale", "model": "DS-7608NI-K2", "firmware": "V4.22.005",
              "defects": ["code_mail_never_sent"]}],
            mail_relay=(HOST, relay_port), lab_controller=False)
        yield RealLab(lab, sink)
    finally:
        sink.stop()


def code_in(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    match = re.search(r"Verification code: ([A-Z0-9]{8})", body.get_content())
    assert match is not None, body.get_content()
    return match.group(1)


def test_real_device_qr_through_the_app_channel_gives_a_code_the_device_accepts(
        real_lab: RealLab) -> None:
    client = real_lab.activated_client("nvr")
    try:
        qr = real_lab.reset_qr(client)
        answer = httpx.post(real_lab.cloud_url(), json={"qr": qr},
                            headers={"X-App-Version": MIN_APP}, timeout=10)
        assert answer.status_code == 202, answer.text
        serial = real_lab.lab.device("nvr").serial
        assert answer.json() == {"status": "accepted", "serial": serial}
        message = real_lab.sink.next_mail_for(OWNER)
        assert serial in message["Subject"]
        code = code_in(message)
        assert code == real_lab.expected_code("nvr", qr)
        accepted = client.check_code(code)
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["statusCode"] == 1
    finally:
        client.close()


@pytest.mark.parametrize("picture", ["segno", "device qrImage"])
def test_real_device_qr_through_the_export_channel_gives_a_code_the_device_accepts(
        real_lab: RealLab, picture: str) -> None:
    client = real_lab.activated_client("nvr")
    try:
        answer = client.qr()
        assert answer.status_code == 200, answer.text
        qr = str(answer.json()["QRCode"]["qrText"])
        if picture == "segno":
            png = qr_png(qr)
        else:  # the picture the GUI's Export button saves
            data_url = str(answer.json()["QRCode"]["qrImage"])
            assert data_url.startswith("data:image/png;base64,")
            png = base64.b64decode(data_url.split(",", 1)[1])
        recovery = real_lab.lab.info["cloud"]
        with smtplib.SMTP(HOST, int(recovery["smtp_port"]), local_hostname="tester.test",
                          timeout=10) as smtp:
            smtp.send_message(export_mail(png, to=str(recovery["recovery_address"])))
        code = code_in(real_lab.sink.next_mail_for(OWNER))
        assert code == real_lab.expected_code("nvr", qr)
        accepted = client.check_code(code)
        assert accepted.status_code == 200, accepted.text
    finally:
        client.close()


def test_real_device_sealing_with_a_stale_key_gets_no_mail(real_lab: RealLab) -> None:
    client = real_lab.activated_client("stale")
    try:
        qr = real_lab.reset_qr(client)
        answer = httpx.post(real_lab.cloud_url(), json={"qr": qr},
                            headers={"X-App-Version": MIN_APP}, timeout=10)
        assert answer.status_code == 202, answer.text
        real_lab.lab.call(real_lab.lab.fleet.cloud.drain(WAIT_S), timeout=WAIT_S + 5)
        assert real_lab.sink.received.empty()
    finally:
        client.close()
