"""A device under test: its inventory entry, where it answers, what QA expects of it, the
clients to reach it (each recording evidence) and the credentials the harness knows.

`LabSession.device(name)` (harness/lab/session.py, the run's lab) gives a `DeviceUnderTest`.
Nothing here knows pytest: scripts and the CLI use it as the fixtures do.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from harness.catalogue import GuiGeneration, ProductLine
from harness.clients.cloud import PhoneAppRole
from harness.clients.isapi import DeviceStatus, IsapiClient, IsapiError, LoginRejected, ResetQr
from harness.clients.mail import Mailbox, MaildirMailbox, MailNotReceived, ReceivedMail
from harness.clients.tls import TlsTrust
from harness.errors import HarnessError, InfrastructureError, ProductDefect
from harness.evidence import ExchangeLog, Secret, Secrets, ShellTranscript
from harness.flows import masked_matches, read_code
from harness.inventory.model import (
    AnyDevice,
    EmulatedDevice,
    RealDevice,
)
from harness.lab.credentials import KnownCredentials, generate_password

if TYPE_CHECKING:
    # paramiko (through harness.clients.shell) takes about 1 s to import: only the tests that
    # reach a shell or the lab controller pay it (imported in the methods below).
    from playwright.sync_api import Page

    from harness.clients.shell import DeviceShell, LabController
    from harness.gui.base import GuiTarget
    from harness.lab.devicegui import DeviceGui
    from harness.lab.leases import Lease
    from harness.lab.session import LabSession


@dataclass
class DeviceUnderTest:
    """One device as a test uses it: identity, expectations, clients, known credentials."""

    entry: AnyDevice
    lab: LabSession
    base_url: str
    ssh_port: int
    verify: bool | str | TlsTrust
    serial: str | None
    secrets: Secrets
    log: ExchangeLog = field(init=False)
    transcript: ShellTranscript = field(init=False)
    # The boot identity the last state probe read with its one authenticated question
    # (harness.lab.states.probe), None when it read none: what a test starts and ends on,
    # without asking the device again.
    boot_seen: DeviceStatus | None = field(default=None, init=False)
    boot_seen_at: float = field(default=0.0, init=False)  # time.monotonic() of that reading
    # The test's lease of the device; every client it hands out is fenced by it first.
    lease: Lease | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.log = ExchangeLog(secrets=self.secrets)
        self.transcript = ShellTranscript(secrets=self.secrets)

    # -- identity and expectations

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def model(self) -> str:
        return self.entry.model

    @property
    def firmware(self) -> str:
        return self.entry.firmware

    @property
    def line(self) -> ProductLine:
        return self.entry.line

    @property
    def generation(self) -> GuiGeneration:
        return self.entry.gui_generation

    @property
    def supports_reserved_email_reset(self) -> bool:
        return self.entry.supports_reserved_email_reset

    @property
    def is_emulated(self) -> bool:
        return isinstance(self.entry, EmulatedDevice)

    @property
    def id(self) -> str:
        """`name-model-firmware`, the identity reports and test ids carry."""
        return device_id(self.entry)

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or "127.0.0.1"

    # -- credentials

    def known(self) -> KnownCredentials:
        """The password and reserved address the harness believes current."""
        return self.lab.store.known(self.entry)

    @property
    def password(self) -> Secret:
        """The current admin password (a `Secret`: printed as `'***'`); `HarnessError`
        when the harness does not know it."""
        password = self.known().password
        if password is None:
            raise HarnessError(f"{self.name}: the harness knows no admin password")
        return password

    @property
    def email(self) -> str:
        """The address the harness reserves on this device."""
        return self.lab.address_for(self.name)

    def new_password(self) -> Secret:
        """A fresh strong password for this device, registered as a secret before use."""
        password = generate_password(self.entry)
        self.secrets.register(password)
        return password

    def remember_password(self, password: str | None) -> None:
        """Record the device's current admin password for every worker."""
        self.lab.store.remember(self.name, password=password)

    def remember_email(self, email: str | None) -> None:
        """Record the reserved address for every worker."""
        self.lab.store.remember(self.name, email=email)

    # -- clients

    def isapi(self, *, login: bool = True) -> IsapiClient:
        """An ISAPI client recording into this device's exchange log, Digest with the known
        password when `login` (nothing is sent until the first call)."""
        self.check_lease()
        client = IsapiClient(self.base_url, verify=self.verify, log=self.log,
                             secrets=self.secrets)
        if login:
            client.use_digest(self.password)
        return client

    def shell(self) -> DeviceShell:
        """The device's psh over SSH (turn SSH on over ISAPI first)."""
        from harness.clients.shell import DeviceShell, KnownHosts

        self.check_lease()
        pinned = self.entry.ssh_host_key if isinstance(self.entry, RealDevice) else None
        return DeviceShell(self.host, self.ssh_port, self.password, transcript=self.transcript,
                           known_hosts=KnownHosts.pinned(pinned))

    def lab_controller(self) -> LabController:
        """The lab controller, recording into this device's SSH transcript."""
        self.check_lease()
        return self.lab.lab_controller(self.transcript)

    def check_lease(self) -> None:
        """The fencing check before anything reaches the device: `LeaseLost` (infrastructure)
        when the test's lease expired or another runner took the device."""
        if self.lease is not None:
            self.lease.verify()

    def phone_app(self) -> PhoneAppRole:
        """The phone app, recording its cloud exchanges into this device's log."""
        return self.lab.phone_app(self.log)

    def mailbox(self) -> Mailbox:
        return self.lab.mailbox()

    def mails_since(self, since: float) -> list[ReceivedMail]:
        """Mails to this device's address since `since` (a local sink only; [] otherwise)."""
        box = self.mailbox()
        if not isinstance(box, MaildirMailbox):
            return []
        address = self.email.lower()
        return [m for m in box.messages(since) if address in m.to]

    def gui_target(self) -> GuiTarget:
        """What the GUI page objects need to know of this device."""
        from harness.gui.base import GuiTarget

        return GuiTarget(name=self.name, base_url=self.base_url, generation=self.generation,
                         reserved_email_expected=self.supports_reserved_email_reset)

    def gui(self, page: Page) -> DeviceGui:
        """This device's GUI in `page`: the seed's steps (activate, login, reserve_email,
        forgot_password, reset_password_by_email), each remembering what it changed."""
        from harness.lab.devicegui import DeviceGui

        return DeviceGui(self, page)

    @contextlib.contextmanager
    def password_change(self, new: str) -> Iterator[None]:
        """Around a step that changes the admin password to `new` (or proves it changed).

        When the step succeeds the device said yes, and the harness remembers `new`
        without asking again (two requests saved per test); when it fails the device may
        hold either, and one Digest call tells which, so that the next test starts from
        the truth.
        """
        old = self.known().password
        try:
            yield
        except BaseException:
            self.remember_current_password(old, new)
            raise
        self.remember_password(new)

    def remember_current_password(self, old: str | None, new: str) -> None:
        """Ask the device whether it holds `new` and remember the answer: one Digest call
        (at most one wrong login, far below the lock). Only a plain refusal means `old`;
        when the device is locked or does not answer, what the harness remembered stays
        (the next test's state probe sorts it out)."""
        with self.isapi(login=False) as device:
            device.use_digest(new)
            try:
                device.device_info()
            except LoginRejected as refused:
                if not refused.locked:
                    self.remember_password(old)
            except Exception:  # inconclusive: keep what is known
                pass
            else:
                self.remember_password(new)

    def reserve_email_by_api(self, device: IsapiClient, address: str | None = None) -> None:
        """Reserve `address` (the harness's own unless given) through `device`, with the
        known admin password; the harness remembers whether its address is the reserved
        one (after a failure, it asks the device)."""
        address = address or self.email
        try:
            device.set_reserved_email(address, self.password)
        except BaseException:
            with contextlib.suppress(Exception):  # inconclusive: the next probe asks
                shown = device.reserved_email()
                self.remember_email(self.email if shown and masked_matches(shown, self.email)
                                    else None)
            raise
        self.remember_email(address if address == self.email else None)

    def remember_activation(self, password: str, *, email: str | None) -> None:
        """After a GUI or API step that may have activated the device: ask it (no login)
        and, if it is active, remember `password` (what the harness typed) and `email`
        (the reserved address, None when none was taken)."""
        with self.isapi(login=False) as device:
            if device.activated():
                self.remember_password(password)
                self.remember_email(email)

    @contextlib.contextmanager
    def code_mail_expected(self, timeout: float) -> Iterator[None]:
        """Inside: a code mail that never comes, after the cloud accepted the request and
        while the lab's mailbox is healthy, is the product's fault (`ProductDefect`), not the
        lab's (`MailNotReceived` stays an infrastructure failure otherwise)."""
        try:
            yield
        except MailNotReceived as exc:
            if self.lab.smtp_sink_healthy():
                raise ProductDefect(
                    f"{self.name}: the cloud accepted the reset request but no code mail "
                    f"reached {self.email} within {timeout:g} s while the mailbox was "
                    "healthy"
                ) from exc
            raise

    def read_code(self, since: float, *, timeout: float) -> Secret:
        """The verification code of the first mail to this device's address since `since`;
        registered as a secret before it is returned, never logged."""
        with self.code_mail_expected(timeout):
            return read_code(self.mailbox(), self.email, since, timeout,
                             secrets=self.secrets, serial=self.code_mail_serial())

    def request_code(self, qr: str | ResetQr, *, timeout: float) -> Secret:
        """The phone step for a QR the device gave at the API (its text, or the `ResetQr`
        with the picture the device would show): the code mailed back. In a lab without
        a phone step (`cloud: none`) `PhoneStepUnavailable`: the fixtures skip the test."""
        text, png = (qr, None) if isinstance(qr, str) else (qr.text, qr.image_png)
        since = self.now()
        request = self.phone_app().request_code(text, png)
        try:
            return self.read_code(since, timeout=max(timeout, request.wait_s or 0))
        finally:
            request.done()

    def now(self) -> float:
        """A mail-wait start for a mail about to be caused: a mail racing the request is
        seen, a mail this address already received (the previous test's code) is not."""
        return self.mailbox().mark(self.email)

    def code_mail_serial(self) -> str | None:
        """The serial this device's code mails name in their subject (DEVICE-SPEC §7): what
        tells its mail from another device's when one mailbox serves the whole lab and
        workers wait at once. An emulated device's is known; a real one's is read once per
        run (deviceInfo, one login with the known password, before the wait); None when
        it cannot be read, and the wait then takes any code mail to the address."""
        if self.serial is not None:
            return self.serial
        learned = self.lab.serials.get(self.name)
        if learned is None and self.known().password is not None:
            with contextlib.suppress(IsapiError, LoginRejected, InfrastructureError,
                                     HarnessError), self.isapi() as client:
                learned = client.device_info().serial_number or None
            if learned:
                self.lab.serials[self.name] = learned
        return learned


def device_trust(entry: RealDevice) -> TlsTrust:
    """How the clients trust `entry`'s certificate: its `tls` settings, pins included."""
    return TlsTrust(device=entry.name, verify=entry.tls.verify,
                    ca_file=str(entry.tls.ca_file) if entry.tls.ca_file else None,
                    spki_sha256=entry.tls.spki_sha256)


# The id of a test no device of the run can take (instead of pytest's `[NOTSET]`).
NO_DEVICE_ID: Final = "no-device"


def device_id(entry: AnyDevice | RealDevice) -> str:
    """The id tests and reports use: device name, model and firmware version."""
    # The model may hold '/' (DS-7208HUHI-F2/N); test ids and file names should not.
    model = entry.model.replace("/", "_")
    return f"{entry.name}-{model}-{entry.firmware_version.version}"


# --- selection by capability ---------------------------------------------------------------


# --- expectations a suite states in one line ---------------------------------------------------


