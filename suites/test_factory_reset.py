"""Factory reset (spec §8): what each mode must keep and what it must clear.

`basic` keeps users and the reserved e-mail; `full` returns the device to inactive, with no
password and no reserved address, and its settings back to the spec's defaults (the
illegal-login lock's 7 attempts and 30 minutes, §5 and §10 SecurityCap `def`).
"""

from __future__ import annotations

import allure
import pytest

from harness.catalogue import LOCKOUT_MAX_ATTEMPTS, LOCKOUT_MINUTES
from harness.flows import masked_matches
from harness.lab.dut import DeviceUnderTest
from harness.lab.states import BOOT_MARGIN_S, settled_boot_identity, wait_until_inactive

pytestmark = [pytest.mark.flow("factory-reset"), pytest.mark.needs(reset_by_email=True)]


def _boot_timeout(dut: DeviceUnderTest) -> float:
    return BOOT_MARGIN_S + float(getattr(dut.entry, "boot_seconds", 0))


@pytest.mark.state("email_reserved")
@pytest.mark.reboots(1)
def test_basic_factory_reset_keeps_password_and_email(dut: DeviceUnderTest) -> None:
    with dut.isapi() as device:
        with allure.step("Basic factory reset"):
            before = settled_boot_identity(device)
            device.factory_reset("basic")
            device.wait_until_rebooted(before, timeout=_boot_timeout(dut))
        with allure.step("The admin password still logs in"):
            device.login_digest(dut.password)
        with allure.step("The reserved address is kept"):
            shown = device.reserved_email()
            assert shown and masked_matches(shown, dut.email), (
                f"{dut.id}: after a basic factory reset the reserved address shows {shown!r}, "
                f"expected {dut.email} masked (basic keeps users and e-mail)"
            )


@pytest.mark.state("email_reserved")
@pytest.mark.leaves("active")
def test_full_factory_reset_clears_password_and_email(dut: DeviceUnderTest) -> None:
    with dut.isapi() as device, allure.step("Full factory reset"):
        device.factory_reset("full")
        wait_until_inactive(device, _boot_timeout(dut), "a full factory reset")
    dut.remember_password(None)
    dut.remember_email(None)
    password = dut.new_password()
    with dut.isapi(login=False) as device:
        with allure.step("Activate it again"):
            try:
                device.activate(password)
            finally:
                dut.remember_activation(password, email=None)
        with allure.step("No address is reserved any more"):
            shown = device.reserved_email()
            assert not shown, (
                f"{dut.id}: after a full factory reset the device still shows the reserved "
                f"address {shown!r}"
            )
        with allure.step("The illegal-login lock is back to the spec's defaults"):
            device.use_digest(password)
            lock = device.illegal_login_lock()
            assert (lock.enabled, lock.max_attempts, lock.lock_minutes) == (
                True, LOCKOUT_MAX_ATTEMPTS, LOCKOUT_MINUTES), (
                f"{dut.id}: after a full factory reset illegalLoginLock is {lock}, the spec's "
                f"default is enabled, {LOCKOUT_MAX_ATTEMPTS} attempts, {LOCKOUT_MINUTES} min"
            )
