"""A device under test: its inventory entry, where it answers, what QA expects of it, the
clients to reach it (each recording evidence) and the credentials the harness knows.

`Lab` is the run's view of the whole lab (inventory, running endpoints, workdir, secrets);
`Lab.device(name)` gives a `DeviceUnderTest`. Nothing here knows pytest: scripts and the
CLI use it as the fixtures do.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from harness.catalogue import GuiGeneration, ProductLine, find_verification_code
from harness.clients.cloud import PhoneAppRole, PhoneAppSettings, SubmissionServer, phone_app_for
from harness.clients.isapi import DeviceStatus, IsapiClient, IsapiError, LoginRejected, ResetQr
from harness.clients.mail import Mailbox, MaildirMailbox, MailNotReceived, ReceivedMail, mailbox_for
from harness.clients.tls import TlsTrust
from harness.errors import HarnessError, InfrastructureError, ProductDefect
from harness.evidence import ExchangeLog, Secret, Secrets, ShellTranscript
from harness.inventory.model import (
    AnyDevice,
    AttendedCloud,
    EmulatedDevice,
    ExportCloud,
    ImapConfig,
    Inventory,
    RealDevice,
    RealLabController,
    SmtpSinkConfig,
)
from harness.lab.credentials import CredentialStore, KnownCredentials, generate_password
from harness.lab.host import LabEndpoints
from harness.lab.statedir import lab_state_dir, persistent_keys

if TYPE_CHECKING:
    # paramiko (through harness.clients.shell) takes about 1 s to import: only the tests that
    # reach a shell or the lab controller pay it (imported in the methods below).
    from playwright.sync_api import Page

    from harness.clients.shell import DeviceShell, LabController
    from harness.gui.base import GuiTarget
    from harness.lab.devicegui import DeviceGui
    from harness.lab.leases import Lease

MAX_ADDRESS_LENGTH: Final = 32  # spec §6: 1-32 characters
REPORT_SENDER: Final = "qa@hil.test"


@dataclass
class Lab:
    """The lab of one run: inventory, the running emulated part, the shared workdir."""

    inventory: Inventory
    workdir: Path
    endpoints: LabEndpoints | None
    run_id: str = ""
    secrets: Secrets = field(default_factory=Secrets)
    store: CredentialStore = field(init=False)
    # Where state that outlives a checkout goes (real devices' passwords, the transition
    # log): harness/lab/statedir.py; the workdir for a lab of emulated devices only.
    state_dir: Path = field(init=False)
    # Real devices' serials as read this run (`DeviceUnderTest.code_mail_serial`).
    serials: dict[str, str] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.workdir = Path(self.workdir).resolve()
        self.state_dir = lab_state_dir(self.inventory, self.workdir)
        self.store = CredentialStore(self.workdir, self.secrets, state_dir=self.state_dir,
                                     persistent=persistent_keys(self.inventory),
                                     run_id=self.run_id)
        for password in self.store.all_passwords():
            self.secrets.register(password)
        if self.endpoints is not None:
            with contextlib.suppress(OSError, KeyError, ValueError):
                self.secrets.register(self.endpoints.lab_controller_password())

    def device(self, name: str) -> DeviceUnderTest:
        """The device `name` of the inventory, with its endpoints and fresh evidence."""
        entry = self.inventory.device(name)
        if isinstance(entry, EmulatedDevice):
            if self.endpoints is None:
                raise InfrastructureError(
                    f"device {name} is emulated but no emulated lab is running"
                )
            endpoint = self.endpoints.device(name)
            base_url, ssh_port = endpoint.http, endpoint.ssh_port
            verify: bool | str | TlsTrust = True
            serial: str | None = endpoint.serial
        else:
            base_url, ssh_port, serial = entry.base_url, entry.ssh_port, None
            verify = device_trust(entry)
        return DeviceUnderTest(
            entry=entry, lab=self, base_url=base_url, ssh_port=ssh_port, verify=verify,
            serial=serial, secrets=self.secrets,
        )

    def address_for(self, device: str) -> str:
        """The reserved address the harness uses for `device` (unique per device in a sink)."""
        config = self.inventory.mailbox
        if isinstance(config, ImapConfig):
            return config.address or config.user
        local = device.lower()
        limit = MAX_ADDRESS_LENGTH - len(config.domain) - 1
        if len(local) > limit:
            digest = hashlib.sha256(local.encode()).hexdigest()[:6]
            local = f"{local[: limit - 7]}-{digest}"
        return f"{local}@{config.domain}"

    def mailbox(self) -> Mailbox:
        """Where the lab's reserved addresses receive mail."""
        config = self.inventory.mailbox
        if isinstance(config, ImapConfig):
            # The IMAP password or token is masked in evidence like every other secret.
            self.secrets.register(config.secret())
        maildir = self.endpoints.maildir if self.endpoints is not None else None
        return mailbox_for(config, maildir)

    def lab_controller(self, transcript: ShellTranscript | None = None) -> LabController:
        """An SSH client of the lab's power/reset controller."""
        from harness.clients.shell import LabController

        config = self.inventory.lab_controller
        if isinstance(config, RealLabController):
            from harness.clients.shell import KnownHosts

            return LabController(config.host, config.port, config.user, config.secret(),
                                 known_hosts=KnownHosts.pinned(config.ssh_host_key),
                                 transcript=transcript)
        ep = self.endpoints
        if ep is None or ep.lab_controller_host is None or ep.lab_controller_ssh_port is None:
            raise InfrastructureError("the emulated lab controller is not running")
        return LabController(ep.lab_controller_host, ep.lab_controller_ssh_port,
                             ep.lab_controller_username or "lab", ep.lab_controller_password(),
                             transcript=transcript)

    def phone_app(self, log: ExchangeLog | None = None) -> PhoneAppRole:
        """The phone-app role for the inventory's cloud: the emulated HTTP API, the Export
        channel, a person, or none."""
        cloud = self.inventory.cloud
        ep = self.endpoints
        settings = PhoneAppSettings(cloud_url=ep.cloud_http if ep is not None else None,
                                    log=log, qr_dir=self.workdir / "qr")
        if isinstance(cloud, AttendedCloud):
            settings = replace(settings, attended_timeout_s=cloud.timeout_s)
        elif isinstance(cloud, ExportCloud):
            settings = replace(settings, submission=self.submission_server(cloud),
                               recovery_address=cloud.recovery_address,
                               sender=cloud.sender or self._sender())
        return phone_app_for(cloud.kind, settings)

    def _sender(self) -> str:
        """The Export mail's From: the lab's mailbox address (a real lab's server accepts
        mail from its own users), or the harness's report address in an emulated lab."""
        config = self.inventory.mailbox
        if isinstance(config, ImapConfig):
            return config.address or config.user
        return REPORT_SENDER

    def submission_server(self, cloud: ExportCloud) -> SubmissionServer:
        """The SMTP server the Export channel mails through: the inventory's, or the
        emulated cloud's own (AUTH + STARTTLS, credentials from the running lab)."""
        if cloud.smtp is not None:
            smtp = cloud.smtp
            password = smtp.secret()
            self.secrets.register(password)
            return SubmissionServer(host=smtp.host, port=smtp.submission_port, tls=smtp.tls,
                                    user=smtp.user, password=password,
                                    ca_file=str(smtp.ca_file) if smtp.ca_file else None)
        ep = self.endpoints
        if ep is None or ep.cloud_smtp_port is None or ep.cloud_smtp_user is None:
            raise InfrastructureError(
                "cloud: {kind: export} without smtp needs the emulated cloud's submission "
                "server, and no emulated lab with one is running (give cloud.smtp for a real lab)"
            )
        password = Secret(ep.cloud_smtp_password())
        self.secrets.register(password)
        return SubmissionServer(host=ep.cloud_smtp_host or ep.smtp_host,
                                port=ep.cloud_smtp_port, tls="starttls", user=ep.cloud_smtp_user,
                                password=password, ca_file=ep.cloud_smtp_ca_file)

    def smtp_sink_healthy(self) -> bool:
        """True when the lab's mailbox is a local sink that is accepting mail right now."""
        if not isinstance(self.inventory.mailbox, SmtpSinkConfig) or self.endpoints is None:
            return False
        try:
            with socket.create_connection((self.endpoints.smtp_host, self.endpoints.smtp_port),
                                          timeout=5):
                return True
        except OSError:
            return False


@dataclass
class DeviceUnderTest:
    """One device as a test uses it: identity, expectations, clients, known credentials."""

    entry: AnyDevice
    lab: Lab
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
        serial = self.code_mail_serial()
        with self.code_mail_expected(timeout):
            mail = self.mailbox().wait_for(to=self.email, since=since,
                                           subject_contains=serial, timeout=timeout)
        code = find_verification_code(mail.body)
        if code is None:
            raise ProductDefect(f"the mail to {self.email} ({mail.subject!r}) holds no code")
        self.secrets.register(code)
        return Secret(code)

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


def masked_matches(shown: str, address: str) -> bool:
    """The device shows `b****@example.com`: same first character and domain."""
    local, _, domain = address.partition("@")
    shown_local, _, shown_domain = shown.partition("@")
    return (shown_domain.lower() == domain.lower() and bool(shown_local)
            and shown_local[0].lower() == local[:1].lower())


# The id of a test no device of the run can take (instead of pytest's `[NOTSET]`).
NO_DEVICE_ID: Final = "no-device"


def device_id(entry: AnyDevice | RealDevice) -> str:
    """The id tests and reports use: device name, model and firmware version."""
    # The model may hold '/' (DS-7208HUHI-F2/N); test ids and file names should not.
    model = entry.model.replace("/", "_")
    return f"{entry.name}-{model}-{entry.firmware_version.version}"


# --- selection by capability ---------------------------------------------------------------

CAPABILITIES: Final = ("reset_by_email", "generation", "line", "recorder", "kind")


def _as_set(value: object) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, list | tuple | set | frozenset):
        return {str(v) for v in value}
    return {str(value)}


def satisfies_needs(entry: AnyDevice, needs: dict[str, object]) -> bool:
    """Whether `entry` has every capability in `needs` (see `CAPABILITIES`).

    `reset_by_email` (bool): QA expects "Verify by Reserved Email" at its firmware;
    `generation` / `line` (one value or several): GUI generation, product line id;
    `recorder` (bool): DVR/NVR rather than camera; `kind`: `emulated` or `real`.
    """
    unknown = set(needs) - set(CAPABILITIES)
    if unknown:
        raise HarnessError(
            f"unknown capability {', '.join(sorted(unknown))} in needs(); "
            f"known: {', '.join(CAPABILITIES)}"
        )
    checks: dict[str, object] = {
        "reset_by_email": entry.supports_reserved_email_reset,
        "generation": entry.gui_generation.value,
        "line": entry.line.id.value,
        "recorder": entry.line.is_recorder,
        "kind": entry.kind,
    }
    for key, wanted in needs.items():
        have = checks[key]
        if isinstance(have, bool):
            if have != bool(wanted):
                return False
        elif str(have) not in _as_set(wanted):
            return False
    return True


def select_devices(inventory: Inventory, needs: dict[str, object]) -> list[AnyDevice]:
    """The inventory's devices that satisfy `needs`, in inventory order."""
    return [d for d in inventory.devices if satisfies_needs(d, needs)]


# --- expectations a suite states in one line ---------------------------------------------------


def expect_refusal(
    action: Callable[[], object], *, what: str, sub_status: tuple[str, ...] = ()
) -> IsapiError:
    """Run `action`, which the device must refuse with an error answer (one of
    `sub_status` when given); the refusal, or `ProductDefect` saying what went wrong."""
    try:
        action()
    except IsapiError as exc:
        if sub_status and exc.sub_status_code not in sub_status:
            raise ProductDefect(
                f"{what}: refused with {exc.sub_status_code or exc.status_string!r} "
                f"(HTTP {exc.http_status}), expected {' or '.join(sub_status)}"
            ) from exc
        return exc
    raise ProductDefect(f"{what}: the device accepted it")


def expect_login_refused(client: IsapiClient, password: str, *, what: str) -> LoginRejected:
    """One Digest login with `password` that the device must refuse; the refusal."""
    try:
        client.login_digest(password)
    except LoginRejected as exc:
        return exc
    finally:
        client.logout()
    raise ProductDefect(f"{what}: the device accepted the login")
