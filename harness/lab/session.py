"""The lab of one run: its inventory, the running emulated part (endpoints),
the credentials the harness knows; it hands out the devices under test and the
lab-wide clients (mailbox, lab controller, phone app)."""

from __future__ import annotations

import contextlib
import hashlib
import socket
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Final

from harness.clients.cloud import PhoneAppRole, PhoneAppSettings, SubmissionServer, phone_app_for
from harness.clients.mail import Mailbox, mailbox_for
from harness.clients.tls import TlsTrust
from harness.errors import InfrastructureError
from harness.evidence import ExchangeLog, Secret, Secrets, ShellTranscript
from harness.inventory.model import (
    AttendedCloud,
    EmulatedDevice,
    ExportCloud,
    ImapConfig,
    Inventory,
    RealLabController,
    SmtpSinkConfig,
)
from harness.lab.credentials import CredentialStore
from harness.lab.dut import DeviceUnderTest, device_trust
from harness.lab.endpoints import LabEndpoints
from harness.lab.statedir import lab_state_dir, persistent_keys

if TYPE_CHECKING:
    # paramiko (through harness.clients.shell) takes about 1 s to import: only
    # the tests that reach the lab controller pay it (imported in the method).
    from harness.clients.shell import LabController


MAX_ADDRESS_LENGTH: Final = 32  # spec §6: 1-32 characters
REPORT_SENDER: Final = "qa@hil.test"


@dataclass
class LabSession:
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
