"""ISAPI routes of docs/device-api.md.

No-login paths answer without credentials; every other `/ISAPI` path, known or not,
authenticates first (`require_admin`) and only then may answer 403 `notSupport`.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import segno
from aiohttp import web

from ..device import Device
from ..errors import DeviceError, LoginRefused, bad_parameters, bad_xml, not_support
from . import documents, gui
from .auth import client_address, require_admin
from .documents import (
    NS_HIK,
    NS_ISAPI,
    elements,
    json_response,
    ok,
    parse_json,
    parse_xml,
    query,
    xml_response,
)
from .server import DEVICES, device_handler, open_access_log, server_header

_IV_RE = re.compile(r"[0-9a-fA-F]{32}")


def _bool(text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise bad_parameters()
    return text.lower() == "true"


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise bad_parameters() from None


def security_iv(request: web.Request) -> str | None:
    """The `iv` of a `security=1` request (spec §10); None for the plain form."""
    q = query(request)
    if q.get("security") != "1":
        return None
    iv = q.get("iv", "")
    if not _IV_RE.fullmatch(iv):
        raise bad_parameters()
    return iv


def _strings(body: dict[str, object], names: tuple[str, ...]) -> dict[str, str]:
    return {n: v for n in names if isinstance(v := body.get(n), str)}


# ---- without login -------------------------------------------------------------------------

_ACTIVATE_STATUS = {(ns, flag): documents.document("ActivateStatus", documents.element(
    "Activated", flag), ns).encode() for flag in (True, False) for ns in (NS_HIK, NS_ISAPI)}


async def activate_status(request: web.Request, device: Device) -> web.Response:
    # The probe every client polls: answered from pre-rendered bytes.
    return web.Response(body=_ACTIVATE_STATUS[device.xml_ns, device.activated],
                        headers={"Content-Type": "application/xml; charset=utf-8"})


async def challenge(request: web.Request, device: Device) -> web.Response:
    fields = parse_xml(await request.text())
    if not fields.get("key"):
        raise bad_xml()
    return xml_response(request, "PublicKey", {"key": device.new_challenge(fields["key"])})


async def activate(request: web.Request, device: Device) -> web.Response:
    # Unknown elements (an e-mail of an older client) are ignored.
    fields = parse_xml(await request.text())
    if "password" not in fields:
        raise bad_xml()
    device.activate(fields["password"])
    return ok(request)


async def extern_capabilities(request: web.Request, device: Device) -> web.Response:
    return xml_response(request, "ExternCapabilities", dict(device.reset_methods()))


async def session_capabilities(request: web.Request, device: Device) -> web.Response:
    if query(request).get("username", "admin") != "admin":
        raise bad_parameters()
    cap = device.session_capabilities()
    fields: dict[str, object] = {
        "sessionID": cap["sessionID"], "challenge": cap["challenge"],
        "iterations": cap["iterations"], "isIrreversible": True, "salt": cap["salt"]}
    if "salt2" in cap:
        fields["salt2"] = cap["salt2"]
    fields["sessionIDVersion"] = cap["sessionIDVersion"]
    return xml_response(request, "SessionLoginCap", fields)


def _login_flags(device: Device) -> dict[str, object]:
    risky = any(c.risky for c in device.state.credentials[:1])
    return {"isDefaultPassword": False, "isRiskPassword": risky,
            "isActivated": device.activated}


async def session_login(request: web.Request, device: Device) -> web.Response:
    if not device.activated:
        raise DeviceError(401, 4, "notActivated")
    fields = parse_xml(await request.text())
    token = device.session_login(fields.get("userName", ""), fields.get("sessionID", ""),
                                 fields.get("password", ""), client_address(request))
    response = xml_response(request, "SessionUserCheck", {
        "statusValue": 200, "statusString": "OK", **_login_flags(device),
        "sessionIDVersion": device.policy.session_id_version})
    response.set_cookie(device.cookie_name, token, path="/", httponly=True)
    return response


async def user_check(request: web.Request, device: Device) -> web.Response:
    require_admin(request, device)
    return xml_response(request, "userCheck", {"statusValue": 200, "statusString": "OK",
                                               **_login_flags(device)})


async def security_capabilities(request: web.Request, device: Device) -> web.Response:
    named = query(request).get("username") == "admin"
    with_salt = named or not device.policy.security_cap_salt_needs_username
    salt = elements({"salt": device.state.salt}) if with_salt else ""
    iterate = elements({"keyIterateNum": device.policy.key_iterate_num}) if with_salt else ""
    body = (elements({"supportUserNums": 32, "issupIllegalLoginLock": True})
            + '<securityVersion opt="1"/>' + iterate
            + elements({"isSupportUserCheck": True}) + '<RSAKeyLength opt="1024"/>'
            + elements({"isIrreversible": True}) + salt
            + '<maxIllegalLoginTimes min="3" max="20" def="7"/>'
            + '<maxIllegalLoginLockTime min="1" max="120" def="30"/>'
            + elements({"isSupportSecurityEmail": device.policy.email_reset_offered}))
    return xml_response(request, "SecurityCap", body)


async def sdk_language(request: web.Request, device: Device) -> web.Response:
    return xml_response(request, "Language", {"type": "English"})


async def device_language(request: web.Request, device: Device) -> web.Response:
    return xml_response(request, "DeviceLanguage", {"language": "English"})


async def get_email(request: web.Request, device: Device) -> web.Response:
    if not device.policy.email_reset_offered:
        raise not_support()
    masked = device.masked_email()
    info = [{"emailAddress": masked}] if masked else []
    return json_response({"SecurityEmail": {"SecurityInformation": info}})


async def put_email(request: web.Request, device: Device) -> web.Response:
    """No login: the admin password in the body proves the caller (spec §10)."""
    if not device.activated:
        raise DeviceError(401, 4, "notActivated")
    body = parse_json(await request.text()).get("SecurityEmail")
    if not isinstance(body, dict):
        raise bad_xml()
    info = body.get("SecurityInformation")
    password = body.get("password")
    if (not isinstance(info, list) or len(info) != 1 or not isinstance(info[0], dict)
            or not isinstance(info[0].get("emailAddress"), str)):
        raise bad_parameters()
    fields = {"password": password if isinstance(password, str) else "",
              "emailAddress": str(info[0]["emailAddress"])}
    iv = security_iv(request)
    if iv is not None:
        opened = device.decrypt_fields(iv, fields, device.field_keys(None))
        # Not under the admin password's key: a wrong admin password (counted).
        fields = opened or {"password": "", "emailAddress": fields["emailAddress"]}
    device.set_reserved_email(fields["password"], fields["emailAddress"],
                              client_address(request))
    if device.policy.reboot_after_email_save:
        # The crash of defect crash_on_email_save: saved, then down before answering
        # (the reboot closes this connection too); the watchdog brings the device back.
        await device.reboot()
    return ok(request)


async def email_capabilities(request: web.Request, device: Device) -> web.Response:
    return json_response({"SecurityEmailCap": {
        "emailAddress": {"@min": 1, "@max": device.policy.email_max_length},
        "isSupportSecurity": True}})


async def qr_code(request: web.Request, device: Device) -> web.Response:
    text = device.new_qr()
    image = segno.make(text, error="m").png_data_uri(scale=4, border=2)
    return json_response({"QRCode": {"qrText": text, "qrImage": image,
                                     "validSeconds": int(device.policy.code_validity_s)}})


async def email_certification(request: web.Request, device: Device) -> web.Response:
    """Check a code (securityCode), or set a password with it (plus resetPassword)."""
    body = parse_json(await request.text()).get("EmailCertification")
    if not isinstance(body, dict):
        raise bad_xml()
    fields = _strings(body, ("securityCode", "resetPassword"))
    if "securityCode" not in fields or ("resetPassword" in body
                                        and "resetPassword" not in fields):
        raise bad_parameters()
    iv = security_iv(request)
    if iv is not None:
        keys = device.field_keys(device.policy.certification_key_password)
        opened = device.decrypt_fields(iv, fields, keys)
        if opened is None:
            raise bad_parameters()
        fields = opened
    if "resetPassword" in fields:
        device.reset_by_code(fields["securityCode"], fields["resetPassword"])
    else:
        device.check_code(fields["securityCode"])
    return ok(request)


async def security_questions(request: web.Request, device: Device) -> web.Response:
    # Security questions are not emulated (docs/device-api.md).
    raise not_support()


# ---- with login ----------------------------------------------------------------------------

_DEVICE_NAMES = {"IPCamera": "IP CAMERA", "NVR": "Network Video Recorder",
                 "DVR": "Embedded Net DVR"}


async def device_info(request: web.Request, device: Device) -> web.Response:
    require_admin(request, device)
    serial = device.serial
    return xml_response(request, "DeviceInfo", {
        "deviceName": _DEVICE_NAMES.get(device.device_type, device.device_type),
        "deviceID": str(uuid.uuid5(uuid.NAMESPACE_OID, serial)),
        "deviceDescription": device.device_type, "deviceLocation": "hangzhou",
        "model": device.model, "serialNumber": serial, "macAddress": device.state.mac,
        "firmwareVersion": device.version.version,
        "firmwareReleasedDate": f"build {device.build}",
        "encoderVersion": "V7.3", "encoderReleasedDate": f"build {device.build}",
        "bootVersion": "V1.3.4", "bootReleasedDate": "100316", "hardwareVersion": "0x0",
        "deviceType": device.device_type, "telecontrolID": 88})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


async def status(request: web.Request, device: Device) -> web.Response:
    require_admin(request, device)
    p = device.policy
    return xml_response(request, "DeviceStatus", (
        elements({"currentDeviceTime": _now(), "deviceUpTime": device.uptime_seconds()})
        + "<CPUList><CPU>" + elements({"cpuDescription": "ARM",
                                       "cpuUtilization": p.cpu_utilization})
        + "</CPU></CPUList><MemoryList><Memory>" + elements({
            "memoryDescription": "DDR Memory", "memoryUsage": f"{p.memory_usage_mb:.6f}",
            "memoryAvailable": f"{p.memory_total_mb - p.memory_usage_mb:.6f}"})
        + "</Memory></MemoryList>"))


async def system_time(request: web.Request, device: Device) -> web.Response:
    require_admin(request, device)
    return xml_response(request, "Time", {"timeMode": "NTP", "localTime": _now(),
                                          "timeZone": "CST+0:00:00"})


async def system_capabilities(request: web.Request, device: Device) -> web.Response:
    require_admin(request, device)
    return xml_response(request, "DeviceCap", (
        "<SysCap><NetworkCap>" + elements({"isSupportSSH": True}) + "</NetworkCap></SysCap>"
        + "<SecurityCap>" + elements({
            "isSupportUserCheck": True,
            "isSupportSecurityEmail": device.policy.email_reset_offered})
        + "</SecurityCap>"))


async def network_interfaces(request: web.Request, device: Device) -> web.Response:
    require_admin(request, device)
    transport = request.transport
    address = transport.get_extra_info("sockname")[0] if transport is not None else "0.0.0.0"
    return xml_response(request, "NetworkInterfaceList", (
        "<NetworkInterface>" + elements({"id": 1}) + "<IPAddress>"
        + elements({"ipVersion": "v4", "addressingType": "static", "ipAddress": address,
                    "subnetMask": "255.255.255.0"})
        + "<DefaultGateway>" + elements({"ipAddress": "0.0.0.0"}) + "</DefaultGateway>"
        + "</IPAddress><Link>" + elements({"MACAddress": device.state.mac})
        + "</Link></NetworkInterface>"))


async def video_inputs(request: web.Request, device: Device) -> web.Response:
    require_admin(request, device)
    channels = "" if device.line.is_recorder else (
        "<VideoInputChannel>" + elements({"id": 1, "inputPort": 1, "name": "Camera 01",
                                          "videoInputEnabled": True})
        + "</VideoInputChannel>")
    return xml_response(request, "VideoInputChannelList", channels)


async def session_heartbeat(request: web.Request, device: Device) -> web.Response:
    require_admin(request, device)  # a valid cookie is kept alive by this very check
    return ok(request)


async def session_logout(request: web.Request, device: Device) -> web.Response:
    token = require_admin(request, device)
    if token:
        device.session_logout(token)
    response = ok(request)
    response.del_cookie(device.cookie_name, path="/")
    return response


async def users(request: web.Request, device: Device) -> web.Response:
    require_admin(request, device)
    return xml_response(request, "UserList", "<User>" + elements({
        "id": 1, "userName": "admin", "userLevel": "Administrator"}) + "</User>")


_USER_FIELDS = ("userName", "password", "loginPassword", "emailAddress")


async def change_user(request: web.Request, device: Device) -> web.Response:
    require_admin(request, device)
    if request.match_info["id"] != "1":
        raise DeviceError(403, 4, "lowPrivilege")
    fields = parse_xml(await request.text())
    iv = security_iv(request)
    if iv is not None:
        flagged = {n: fields[n] for n in _USER_FIELDS if fields.get(n)}
        opened = device.decrypt_fields(iv, flagged, device.field_keys(None))
        if opened is None:
            raise bad_parameters()
        fields.update(opened)
    if not fields.get("password") or "loginPassword" not in fields:
        raise bad_parameters()
    try:
        device.change_password(fields["loginPassword"], fields["password"],
                               client_address(request))
    except LoginRefused as refused:
        if refused.locked:
            raise
        raise DeviceError(401, 4, "passwordError", refused.retry_left) from None
    return ok(request)


async def get_lock(request: web.Request, device: Device) -> web.Response:
    require_admin(request, device)
    s = device.state
    return xml_response(request, "IllegalLoginLock", {
        "enabled": s.lock_enabled, "maxIllegalLoginTimes": s.lock_max_attempts,
        "maxIllegalLoginLockTime": s.lock_minutes})


async def put_lock(request: web.Request, device: Device) -> web.Response:
    require_admin(request, device)
    fields = parse_xml(await request.text())
    s = device.state
    device.set_illegal_login_lock(
        _bool(fields["enabled"]) if "enabled" in fields else s.lock_enabled,
        _int(fields.get("maxIllegalLoginTimes", str(s.lock_max_attempts))),
        _int(fields.get("maxIllegalLoginLockTime", str(s.lock_minutes))))
    return ok(request)


async def factory_reset(request: web.Request, device: Device) -> web.Response:
    require_admin(request, device)
    mode = query(request).get("mode", "basic")
    if mode not in ("basic", "full"):
        raise bad_parameters()

    async def later() -> None:
        await device.factory_reset(mode)

    device.schedule(later)
    return ok(request)


async def reboot(request: web.Request, device: Device) -> web.Response:
    require_admin(request, device)
    device.schedule(device.reboot)
    return ok(request)


async def get_ssh(request: web.Request, device: Device) -> web.Response:
    require_admin(request, device)
    return xml_response(request, "SSH", {"enabled": device.ssh_enabled()})


async def put_ssh(request: web.Request, device: Device) -> web.Response:
    require_admin(request, device)
    fields = parse_xml(await request.text())
    if "enabled" not in fields:
        raise bad_parameters()
    await device.set_ssh(_bool(fields["enabled"]))
    return ok(request)


async def not_supported(request: web.Request, device: Device) -> web.Response:
    # Authentication first, as on real firmware: only an admin learns what is missing.
    require_admin(request, device)
    raise not_support()


def build_app() -> web.Application:
    """The Application shared by every device of a fleet."""
    app = web.Application(client_max_size=256 * 1024)
    app[DEVICES] = {}
    app.on_response_prepare.append(server_header)
    open_access_log(app)
    r = app.router
    # No login (docs/device-api.md: the GUI's noAuth table).
    r.add_get("/SDK/activateStatus", device_handler(activate_status))
    r.add_get("/SDK/language", device_handler(sdk_language))
    r.add_get("/ISAPI/System/DeviceLanguage", device_handler(device_language))
    r.add_post("/ISAPI/Security/challenge", device_handler(challenge))
    r.add_put("/ISAPI/System/activate", device_handler(activate))
    r.add_get("/ISAPI/Security/extern/capabilities", device_handler(extern_capabilities))
    r.add_get("/ISAPI/Security/sessionLogin/capabilities", device_handler(session_capabilities))
    r.add_post("/ISAPI/Security/sessionLogin", device_handler(session_login))
    r.add_get("/ISAPI/Security/userCheck", device_handler(user_check))
    r.add_get("/ISAPI/Security/capabilities", device_handler(security_capabilities))
    r.add_get("/ISAPI/Security/email/parameter", device_handler(get_email))
    r.add_put("/ISAPI/Security/email/parameter", device_handler(put_email))
    r.add_get("/ISAPI/Security/email/parameter/capabilities",
              device_handler(email_capabilities))
    r.add_get("/ISAPI/Security/email/qrCode", device_handler(qr_code))
    r.add_put("/ISAPI/Security/emailCertification", device_handler(email_certification))
    r.add_route("*", "/ISAPI/Security/questionConfiguration",
                device_handler(security_questions))
    r.add_put("/ISAPI/Security/questionCertification", device_handler(security_questions))
    # With login.
    r.add_put("/ISAPI/Security/sessionHeartbeat", device_handler(session_heartbeat))
    r.add_put("/ISAPI/Security/sessionLogout", device_handler(session_logout))
    r.add_get("/ISAPI/System/deviceInfo", device_handler(device_info))
    r.add_get("/ISAPI/System/status", device_handler(status))
    r.add_get("/ISAPI/System/time", device_handler(system_time))
    r.add_get("/ISAPI/System/capabilities", device_handler(system_capabilities))
    r.add_get("/ISAPI/System/Network/interfaces", device_handler(network_interfaces))
    r.add_get("/ISAPI/System/Video/inputs/channels", device_handler(video_inputs))
    r.add_get("/ISAPI/Security/users", device_handler(users))
    r.add_put("/ISAPI/Security/users/{id}", device_handler(change_user))
    r.add_get("/ISAPI/Security/illegalLoginLock", device_handler(get_lock))
    r.add_put("/ISAPI/Security/illegalLoginLock", device_handler(put_lock))
    r.add_put("/ISAPI/System/factoryReset", device_handler(factory_reset))
    r.add_put("/ISAPI/System/reboot", device_handler(reboot))
    r.add_get("/ISAPI/System/Network/ssh", device_handler(get_ssh))
    r.add_put("/ISAPI/System/Network/ssh", device_handler(put_ssh))
    gui.add_routes(app)
    r.add_route("*", "/ISAPI/{tail:.*}", device_handler(not_supported))
    return app


__all__ = ["build_app", "documents"]
