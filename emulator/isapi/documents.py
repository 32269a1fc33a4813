"""ISAPI documents: ResponseStatus (XML and JSON), userCheck, and tolerant XML reading.

Every XML document of a device carries that device's one namespace (spec §9): the request
wrapper of `server.device_handler` puts it on the request, and `xml_response` reads it there.
"""

from __future__ import annotations

import json
import urllib.parse
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from aiohttp import web
from multidict import MultiDict

from ..errors import STATUS_STRINGS, SUB_DETAIL, LoginRefused, bad_xml

NS_HIK = "http://www.hikvision.com/ver20/XMLSchema"
NS_ISAPI = "http://www.isapi.org/ver20/XMLSchema"
XML_TYPE = "application/xml"
# Where the request wrapper leaves the device's namespace.
NS_KEY: web.RequestKey[str] = web.RequestKey("hik_xml_ns", str)


def element(tag: str, value: object) -> str:
    text = ("true" if value else "false") if isinstance(value, bool) else escape(str(value))
    return f"<{tag}>{text}</{tag}>"


def elements(fields: dict[str, object]) -> str:
    return "".join(element(k, v) for k, v in fields.items())


def document(root: str, body: str, ns: str = NS_HIK) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<{root} version="2.0" xmlns="{ns}">{body}</{root}>\n')


def namespace(request: web.Request) -> str:
    ns: str = request.get(NS_KEY, NS_HIK)
    return ns


def xml_response(request: web.Request, root: str, fields: dict[str, object] | str,
                 status: int = 200) -> web.Response:
    body = fields if isinstance(fields, str) else elements(fields)
    return web.Response(text=document(root, body, namespace(request)), status=status,
                        content_type=XML_TYPE)


def json_response(data: object, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(data), status=status, content_type="application/json")


def query(request: web.Request) -> MultiDict[str]:
    """The query as the device reads it: the real GUI appends `?security=1&iv=...` with a
    second `?` (`...?format=json?security=1&iv=...`), so every `?` after the first is `&`."""
    raw = request.query_string.replace("?", "&")
    return MultiDict(urllib.parse.parse_qsl(raw, keep_blank_values=True))


def wants_json(request: web.Request) -> bool:
    return query(request).get("format", "").lower() == "json"


def response_status(request: web.Request, http_status: int, status_code: int, sub: str,
                    retry_times: int | None = None) -> web.Response:
    """The ResponseStatus document of spec §9, JSON when the URL asks `format=json`."""
    status_string = STATUS_STRINGS.get(status_code, "Unknown")
    url = request.path
    if wants_json(request):
        data: dict[str, object] = {
            "requestURL": url, "statusCode": status_code, "statusString": status_string,
            "subStatusCode": sub, "errorCode": status_code * 2**28 + SUB_DETAIL.get(sub, 0),
            "errorMsg": sub}
        if retry_times is not None:
            data["retryTimes"] = retry_times
        return json_response(data, http_status)
    fields: dict[str, object] = {"requestURL": url, "statusCode": status_code,
                                 "statusString": status_string, "subStatusCode": sub}
    if retry_times is not None:
        fields["retryTimes"] = retry_times
    return xml_response(request, "ResponseStatus", fields, http_status)


def ok(request: web.Request) -> web.Response:
    return response_status(request, 200, 1, "ok")


def user_check(request: web.Request, refused: LoginRefused) -> web.Response:
    """401 for a wrong password or a locked address (spec §5)."""
    return xml_response(request, "userCheck", {
        "statusValue": 401, "statusString": "Unauthorized",
        "lockStatus": "lock" if refused.locked else "unlock",
        "unlockTime": refused.unlock_seconds, "retryLoginTime": refused.retry_left}, 401)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_xml(text: str) -> dict[str, str]:
    """Leaf elements of a small XML body by local name; namespaces are ignored."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        raise bad_xml() from None
    return {_local(el.tag): (el.text or "").strip() for el in root.iter() if len(el) == 0}


def parse_json(text: str) -> dict[str, object]:
    try:
        data = json.loads(text)
    except ValueError:
        raise bad_xml() from None
    if not isinstance(data, dict):
        raise bad_xml()
    return data
