"""What the browser trusts: the certificates of the lab's HTTPS devices.

Chromium takes no CA per context and no pin per context; one launch flag,
`--ignore-certificate-errors-spki-list`, accepts any certificate whose chain holds one of
the listed public keys. So the worker's browser is launched with the pins of every device
of the run:

- a device pinned in devices.yaml (`tls.spki_sha256`): its pins, as the ISAPI clients
  check them;
- a device with a lab CA (`tls.ca_file`): the pin of the certificate it presents when the
  browser starts, read over a handshake that the CA verifies (chain and name), so the
  browser trusts exactly what the CA vouches for. A device that cannot be reached then is
  left out (said once on stderr): its pages fail as untrusted, naming the fix.

Anything else (`verify: false`, a certificate no pin or CA covers) stays an error in the
browser, turned into one line by `certificate_failure`.
"""

from __future__ import annotations

import ssl
import sys
from collections.abc import Iterable
from typing import Final

from harness.clients.tls import presented_pin, tls_context
from harness.errors import InfrastructureError
from harness.inventory.fields import address_of
from harness.inventory.model import RealDevice

HANDSHAKE_TIMEOUT_S: Final = 5.0
# Chromium's net errors of a certificate it does not accept (net/base/net_error_list.h).
_CERT_ERROR: Final = "net::ERR_CERT_"


def browser_spki_pins(devices: Iterable[RealDevice]) -> frozenset[str]:
    """The pins the browser of this run accepts (see the module's docstring)."""
    pins: set[str] = set()
    for device in devices:
        if not device.base_url.startswith("https://"):
            continue
        if device.tls.spki_sha256:
            pins.update(device.tls.spki_sha256)
        elif device.tls.ca_file is not None:
            host, port = address_of(device.base_url)
            try:
                pins.add(presented_pin(host, port, tls_context(str(device.tls.ca_file)),
                                       timeout=HANDSHAKE_TIMEOUT_S))
            except (OSError, ssl.SSLError) as exc:
                print(f"hil: {device.name}: cannot read the certificate of {device.base_url} "
                      f"for the browser ({exc}); its pages will not load", file=sys.stderr)
    return frozenset(pins)


def certificate_failure(device: str, url: str, error: str) -> InfrastructureError | None:
    """The one-line infrastructure failure for a page the browser refused for its
    certificate (`error`: the first line of Playwright's error); None for other errors."""
    if _CERT_ERROR not in error:
        return None
    code = error[error.index(_CERT_ERROR):].split()[0]
    return InfrastructureError(
        f"{device}: {url} did not load: the browser does not trust the device's certificate "
        f"({code}); pin it (tls.spki_sha256) or name the lab CA (tls.ca_file) in devices.yaml"
    )
