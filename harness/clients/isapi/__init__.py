"""ISAPI: how QA talks to a recorder or camera over HTTP(S), as to real hardware.

One job a module: `documents` (what is sent and how answers are read), `digest` (HTTP
Digest, MD5 or SHA-256 as the device offers), `crypto` (the device's password and field
crypto), `session` (the session heartbeat), `reboot` (waiting for a boot), `errors`
(error answers and transport failures), `client` (`IsapiClient`). The public names are
re-exported here: `from harness.clients.isapi import IsapiClient, LoginRejected`.
"""

from harness.clients.isapi.client import (
    ADMIN,
    DEFAULT_TIMEOUT_S,
    FactoryResetMode,
    FieldForm,
    IsapiClient,
    ResetForm,
)
from harness.clients.isapi.digest import DigestAlgorithm
from harness.clients.isapi.documents import (
    DeviceInfo,
    DeviceStatus,
    ExternCapabilities,
    IllegalLoginLock,
    ResetQr,
    SecurityCap,
    SessionLoginCap,
    parse_device_info,
    parse_device_status,
    parse_extern_capabilities,
    parse_illegal_login_lock,
    parse_response_status,
    parse_security_cap,
    parse_session_login_cap,
    parse_user_check,
    parse_xml,
    xml_fields,
)
from harness.clients.isapi.errors import IsapiError, LoginRejected
from harness.clients.isapi.reboot import rebooted_since
from harness.clients.isapi.session import Heartbeat, Session

__all__ = [
    "ADMIN",
    "DEFAULT_TIMEOUT_S",
    "DeviceInfo",
    "DeviceStatus",
    "DigestAlgorithm",
    "ExternCapabilities",
    "FactoryResetMode",
    "FieldForm",
    "Heartbeat",
    "IllegalLoginLock",
    "IsapiClient",
    "IsapiError",
    "LoginRejected",
    "ResetForm",
    "ResetQr",
    "SecurityCap",
    "Session",
    "SessionLoginCap",
    "parse_device_info",
    "parse_device_status",
    "parse_extern_capabilities",
    "parse_illegal_login_lock",
    "parse_response_status",
    "parse_security_cap",
    "parse_session_login_cap",
    "parse_user_check",
    "parse_xml",
    "rebooted_since",
    "xml_fields",
]
