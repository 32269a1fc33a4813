"""ISAPI routes of docs/device-api.md."""

from __future__ import annotations

import base64

import segno
from aiohttp import web

from ..device import Device
from ..errors import DeviceError, LoginRefused, bad_parameters, bad_xml
from . import documents, gui
from .auth import client_address, require_admin
from .documents import NS_HIK, NS_ISAPI, json_response, ok, parse_json, parse_xml, xml_response
from .server import DEVICES, device_handler


def _bool(text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise bad_parameters()
    return text.lower() == "true"


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise bad_parameters() from None


# ---- without login -------------------------------------------------------------------------

_ACTIVATE_STATUS = {flag: documents.document("ActivateStatus", documents.element(
    "Activated", flag)).encode() for flag in (True, False)}


async def activate_status(request: web.Request, device: Device) -> web.Response:
    # The probe every client polls: answered from pre-rendered bytes.
    return web.Response(body=_ACTIVATE_STATUS[device.activated],
                        headers={"Content-Type": "application/xml; charset=utf-8"})


async def challenge(request: web.Request, device: Device) -> web.Response:
    fields = parse_xml(await request.text())
    if not fields.get("key"):
        raise bad_xml()
    return xml_response("PublicKey", {"key": device.new_challenge(fields["key"])})


async def activate(request: web.Request, device: Device) -> web.Response:
    fields = parse_xml(await request.text())
    if "password" not in fields:
        raise bad_xml()
    device.activate(fields["password"], fields.get("reservedEmail") or None)
    return ok(request)


async def extern_capabilities(request: web.Request, device: Device) -> web.Response:
    return xml_response("ExternCapabilities", dict(device.reset_methods()))


async def session_capabilities(request: web.Request, device: Device) -> web.Response:
    if request.query.get("username", "admin") != "admin":
        raise bad_parameters()
    cap = device.session_capabilities()
    return xml_response("SessionLoginCap", {
        "sessionID": cap["sessionID"], "challenge": cap["challenge"],
        "iterations": cap["iterations"], "isIrreversible": True, "salt": cap["salt"]})


async def session_login(request: web.Request, device: Device) -> web.Response:
    if not device.activated:
        raise DeviceError(401, 4, "notActivated")
    fields = parse_xml(await request.text())
    token = device.session_login(fields.get("userName", ""), fields.get("sessionID", ""),
                                 fields.get("password", ""), client_address(request))
    response = xml_response("SessionLogin", {"statusValue": 200, "statusString": "OK",
                                             "sessionID": fields.get("sessionID", "")})
    response.set_cookie(device.cookie_name, token, path="/", httponly=True)
    return response


async def session_logout(request: web.Request, device: Device) -> web.Response:
    token = request.cookies.get(device.cookie_name)
    if token:
        device.session_logout(token)
    response = ok(request)
    response.del_cookie(device.cookie_name, path="/")
    return response


async def qr_code(request: web.Request, device: Device) -> web.Response:
    text = device.new_qr()
    image = segno.make(text, error="m").png_data_uri(scale=4, border=2)
    return json_response({"QRCode": {"qrText": text, "qrImage": image,
                                     "validSeconds": int(device.policy.code_validity_s)}})


async def email_certification(request: web.Request, device: Device) -> web.Response:
    body = parse_json(await request.text()).get("EmailCertification")
    if not isinstance(body, dict):
        raise bad_xml()
    token, password, code = body.get("resetToken"), body.get("password"), \
        body.get("verificationCode")
    if isinstance(token, str) and isinstance(password, str):
        device.reset_password(token, password)
        return ok(request)
    if isinstance(code, str):
        reset_token = device.verify_code(code)
        return json_response({"EmailCertification": {
            "resetToken": reset_token,
            "validSeconds": int(device.policy.reset_token_lifetime_s)}})
    raise bad_parameters()


# ---- with login ----------------------------------------------------------------------------

async def device_info(request: web.Request, device: Device) -> web.Response:
    require_admin(request, device)
    info = device.hard_info()
    ns = NS_ISAPI if device.generation == "camera-spa" else NS_HIK
    serial = device.serial
    return xml_response("DeviceInfo", {
        "deviceName": device.name, "deviceID": base64.b32encode(
            serial.encode()[:20]).decode().lower()[:32],
        "model": device.model, "serialNumber": serial, "macAddress": info["mac"],
        "firmwareVersion": device.version.version,
        "firmwareReleasedDate": f"build {device.build}",
        "encoderVersion": f"V7.3 build {device.build}", "deviceType": device.device_type,
        "bootTime": info["boot_time"], "bootID": device.boot_id}, ns=ns)


async def security_capabilities(request: web.Request, device: Device) -> web.Response:
    require_admin(request, device)
    return xml_response("SecurityCap", {
        "isSupportUserCheck": True, "isSupportSessionLogin": True,
        "isSupportIllegalLoginLock": True,
        "isSupportSecurityEmail": device.policy.email_reset_offered})


async def users(request: web.Request, device: Device) -> web.Response:
    require_admin(request, device)
    return xml_response("UserList", "<User><id>1</id><userName>admin</userName>"
                                    "<userLevel>Administrator</userLevel></User>")


async def change_user(request: web.Request, device: Device) -> web.Response:
    require_admin(request, device)
    if request.match_info["id"] != "1":
        raise DeviceError(403, 4, "lowPrivilege")
    fields = parse_xml(await request.text())
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
    return xml_response("IllegalLoginLock", {"enabled": s.lock_enabled,
                                             "maxIllegalLoginTimes": s.lock_max_attempts,
                                             "lockTime": s.lock_minutes})


async def put_lock(request: web.Request, device: Device) -> web.Response:
    require_admin(request, device)
    fields = parse_xml(await request.text())
    s = device.state
    device.set_illegal_login_lock(
        _bool(fields["enabled"]) if "enabled" in fields else s.lock_enabled,
        _int(fields.get("maxIllegalLoginTimes", str(s.lock_max_attempts))),
        _int(fields.get("lockTime", str(s.lock_minutes))))
    return ok(request)


async def get_email(request: web.Request, device: Device) -> web.Response:
    require_admin(request, device)
    if not device.policy.email_reset_offered:
        raise DeviceError(403, 4, "notSupport")
    masked = device.masked_email()
    info = [{"emailAddress": masked}] if masked else []
    return json_response({"SecurityEmail": {"SecurityInformation": info}})


async def put_email(request: web.Request, device: Device) -> web.Response:
    require_admin(request, device)
    body = parse_json(await request.text()).get("SecurityEmail")
    if not isinstance(body, dict):
        raise bad_xml()
    info = body.get("SecurityInformation")
    password = body.get("password")
    if (not isinstance(info, list) or len(info) != 1 or not isinstance(info[0], dict)
            or not isinstance(info[0].get("emailAddress"), str)):
        raise bad_parameters()
    device.set_reserved_email(password if isinstance(password, str) else "",
                              info[0]["emailAddress"], client_address(request))
    return ok(request)


async def factory_reset(request: web.Request, device: Device) -> web.Response:
    require_admin(request, device)
    mode = request.query.get("mode", "basic")
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
    return xml_response("SSH", {"enabled": device.ssh_enabled()})


async def put_ssh(request: web.Request, device: Device) -> web.Response:
    require_admin(request, device)
    fields = parse_xml(await request.text())
    if "enabled" not in fields:
        raise bad_parameters()
    await device.set_ssh(_bool(fields["enabled"]))
    return ok(request)


async def not_supported(request: web.Request, device: Device) -> web.Response:
    if not device.activated:
        raise DeviceError(401, 4, "notActivated")
    raise DeviceError(403, 4, "notSupport")


def build_app() -> web.Application:
    """The Application shared by every device of a fleet."""
    app = web.Application(client_max_size=256 * 1024)
    app[DEVICES] = {}
    r = app.router
    r.add_get("/SDK/activateStatus", device_handler(activate_status))
    r.add_post("/ISAPI/Security/challenge", device_handler(challenge))
    r.add_put("/ISAPI/System/activate", device_handler(activate))
    r.add_get("/ISAPI/Security/extern/capabilities", device_handler(extern_capabilities))
    r.add_get("/ISAPI/Security/sessionLogin/capabilities", device_handler(session_capabilities))
    r.add_post("/ISAPI/Security/sessionLogin", device_handler(session_login))
    r.add_put("/ISAPI/Security/sessionLogout", device_handler(session_logout))
    r.add_get("/ISAPI/Security/email/qrCode", device_handler(qr_code))
    r.add_put("/ISAPI/Security/emailCertification", device_handler(email_certification))
    r.add_get("/ISAPI/System/deviceInfo", device_handler(device_info))
    r.add_get("/ISAPI/Security/capabilities", device_handler(security_capabilities))
    r.add_get("/ISAPI/Security/users", device_handler(users))
    r.add_put("/ISAPI/Security/users/{id}", device_handler(change_user))
    r.add_get("/ISAPI/Security/illegalLoginLock", device_handler(get_lock))
    r.add_put("/ISAPI/Security/illegalLoginLock", device_handler(put_lock))
    r.add_get("/ISAPI/Security/email/parameter", device_handler(get_email))
    r.add_put("/ISAPI/Security/email/parameter", device_handler(put_email))
    r.add_put("/ISAPI/System/factoryReset", device_handler(factory_reset))
    r.add_put("/ISAPI/System/reboot", device_handler(reboot))
    r.add_get("/ISAPI/System/Network/ssh", device_handler(get_ssh))
    r.add_put("/ISAPI/System/Network/ssh", device_handler(put_ssh))
    gui.add_routes(app)
    r.add_route("*", "/ISAPI/{tail:.*}", device_handler(not_supported))
    return app


__all__ = ["build_app", "documents"]
