"""The seed flow end to end (spec §7): Forgot Password → Verify by Reserved Email → privacy
notice → QR → phone app → vendor cloud → mail → code → new password; afterwards the old
password is refused and the new one works. Also the Export channel (QR picture mailed to
the vendor's recovery address) and the same flow at the API level."""

from __future__ import annotations

import allure
import pytest
from playwright.sync_api import Page

from harness.clients.cloud import NoPhoneApp, export_channel
from harness.clients.isapi import IsapiClient, IsapiError, LoginRejected
from harness.errors import ProductDefect
from harness.flows import expect_login_refused, masked_matches
from harness.inventory.model import AttendedCloud, ExportCloud, NoCloud
from harness.lab.dut import DeviceUnderTest

pytestmark = [pytest.mark.flow("reset-by-email"), pytest.mark.needs(reset_by_email=True)]
WRONG_PASSWORD = "Wrong-Pass9"  # not any device's password: the harness generates those
WRONG_BEFORE_RESET = 2  # below the lock's lowest setting (3), so nothing locks


def _old_refused_new_works(dut: DeviceUnderTest, old: str, new: str) -> None:
    """The reset's proof; whatever it finds, the harness remembers the right password."""
    with dut.password_change(new), dut.isapi(login=False) as device:
        with allure.step("The old password is refused"):
            expect_login_refused(device, old, what=f"{dut.id}: old password after a reset")
        with allure.step("The new password logs in"):
            device.login_digest(new)


@pytest.mark.state("email_reserved")
def test_reset_by_email_in_gui(dut: DeviceUnderTest, page: Page, mail_timeout: float) -> None:
    gui = dut.gui(page)
    old = dut.password
    new = gui.reset_password_by_email(mail_timeout=mail_timeout)
    outcome = gui.login()
    with allure.step("The GUI logs in with the new password"):
        assert outcome.ok, f"{dut.id}: GUI login with the new password: {outcome.message}"
    _old_refused_new_works(dut, old, new)


@pytest.mark.state("email_reserved")
def test_reset_by_export_channel(dut: DeviceUnderTest, page: Page, mail_timeout: float) -> None:
    cloud = dut.lab.inventory.cloud
    if isinstance(cloud, NoCloud):
        pytest.skip(NoPhoneApp.REASON)
    if isinstance(cloud, AttendedCloud):
        pytest.skip("the Export channel is checked with the emulated vendor cloud or cloud "
                    "kind export (cloud kind attended: a person scans instead)")
    endpoints = dut.lab.endpoints
    if isinstance(cloud, ExportCloud):
        pass  # the lab's own submission server and recovery address, below
    elif endpoints is None or not endpoints.recovery_address or not endpoints.cloud_smtp_port:
        # The inventory asks for the emulated cloud, which always has the recovery address:
        # its absence is the lab's fault and must not pass as a skip.
        pytest.fail("the inventory's cloud is emulated, but the running lab gives no recovery "
                    "address or cloud SMTP port for the Export channel")
    old, new = dut.password, dut.new_password()
    wizard = dut.gui(page).forgot_password()
    wizard.choose_reserved_email()
    wizard.accept_privacy_notice()
    png = wizard.export_png()
    since = dut.now()
    with allure.step("Mail the exported QR to the vendor's recovery address"):
        if isinstance(cloud, ExportCloud):
            app = dut.phone_app()
            app.request_code(app.scan(png), png)
        else:
            assert endpoints is not None and endpoints.recovery_address
            assert endpoints.cloud_smtp_port
            export_channel(png, endpoints.recovery_address,
                           endpoints.cloud_smtp_host or "127.0.0.1", endpoints.cloud_smtp_port,
                           sender=dut.email)
    code = wizard.read_code(since, timeout=mail_timeout)
    answer = wizard.enter_code(code)
    assert answer.accepted, f"{dut.id}: the code mailed after Export was refused: {answer}"
    done = wizard.set_new_password(new)
    assert done.done, f"{dut.id}: the new password was refused: {done.message}"
    _old_refused_new_works(dut, old, new)


@pytest.mark.state("email_reserved")
def test_reset_by_email_api(dut: DeviceUnderTest, mail_timeout: float) -> None:
    """The reset at the API, and what it must leave behind (spec §7): the sessions of
    before are closed, the wrong-password count is cleared, the reserved address stays."""
    old, new = dut.password, dut.new_password()
    with dut.isapi() as admin:
        lock = admin.illegal_login_lock()  # a successful login: the count starts at 0
    with dut.isapi(login=False) as before, dut.isapi(login=False) as device:
        with allure.step("A GUI-like session is logged in before the reset"):
            before.login_session(old)
        with allure.step(f"{WRONG_BEFORE_RESET} wrong passwords are counted before it"):
            for number in range(1, WRONG_BEFORE_RESET + 1):
                expect_login_refused(device, WRONG_PASSWORD,
                                     what=f"{dut.id}: wrong password {number}")
        with allure.step("Ask for a reset QR; the phone app sends it to the cloud"):
            code = dut.request_code(device.qr_code(), timeout=mail_timeout)
        with allure.step("Enter the code: the device accepts it"):
            device.check_verification_code(code)
        with allure.step("Set the new password with the code"), dut.password_change(new):
            device.reset_password_by_code(code, new)
        with allure.step("The session from before the reset is closed"):
            _session_closed(dut, before)
        with allure.step("The wrong-password count was cleared"):
            refusal = expect_login_refused(device, WRONG_PASSWORD,
                                           what=f"{dut.id}: wrong password after the reset")
            assert refusal.attempts_left == lock.max_attempts - 1, (
                f"{dut.id}: one wrong password after the reset leaves "
                f"{refusal.attempts_left} attempts, expected {lock.max_attempts - 1}: the "
                f"{WRONG_BEFORE_RESET} wrong ones from before the reset still count"
            )
        with allure.step("The reserved address stays"):
            shown = device.reserved_email()
            assert shown and masked_matches(shown, dut.email), (
                f"{dut.id}: after a reset by code the reserved address shows {shown!r}, "
                f"expected {dut.email} masked"
            )
    _old_refused_new_works(dut, old, new)


def _session_closed(dut: DeviceUnderTest, client: IsapiClient) -> None:
    """A heartbeat of `client`'s session must be refused (401)."""
    try:
        client.session_heartbeat()
    except (LoginRejected, IsapiError) as exc:
        if isinstance(exc, IsapiError) and exc.http_status != 401:
            raise
        return
    raise ProductDefect(f"{dut.id}: a session logged in before the reset by code still "
                        "answers its heartbeat after it")
