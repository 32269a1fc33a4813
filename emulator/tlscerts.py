"""Certificates for devices that serve HTTPS: one per device, self-signed as a factory
certificate is, or signed by a lab CA; kept in a folder so that their pins stay valid
across restarts of the emulator (a lab file names them).

Each certificate names `127.0.0.1`, the fleet's address and the device's name, and its
pin (base64 SHA-256 of the DER SubjectPublicKeyInfo) is reported so that a lab file or a
browser (`--ignore-certificate-errors-spki-list`) can name it.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CA_NAME = "lab-ca"
VALID_DAYS = 825  # what browsers accept for a leaf


@dataclass(frozen=True)
class DeviceCert:
    """Where one device's certificate and key are, and what a client pins."""

    cert: Path
    key: Path
    spki_sha256: str
    ca_file: Path | None  # the lab CA that signed it; None when self-signed

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


def spki_sha256(cert: x509.Certificate) -> str:
    """The certificate's pin: base64 SHA-256 of its DER SubjectPublicKeyInfo."""
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


def _write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` (mode 0600) atomically: concurrent fleets see it whole."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _names(subject: str, host: str) -> x509.SubjectAlternativeName:
    addresses = {ipaddress.ip_address("127.0.0.1")}
    with contextlib.suppress(ValueError):
        address = ipaddress.ip_address(host)
        if not address.is_unspecified:
            addresses.add(address)
    general: list[x509.GeneralName] = [x509.DNSName(subject)]
    general += [x509.IPAddress(a) for a in sorted(addresses, key=str)]
    return x509.SubjectAlternativeName(general)


def _issue(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name,
           issuer_key: ec.EllipticCurvePrivateKey, *, ca: bool,
           names: x509.SubjectAlternativeName | None) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(issuer)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1))
               .not_valid_after(now + datetime.timedelta(days=3650 if ca else VALID_DAYS))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                          content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, encipher_only=False,
                          decipher_only=False), critical=True)
    else:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    if names is not None:
        builder = builder.add_extension(names, critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _lab_ca(folder: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey, Path]:
    """The folder's lab CA, made once."""
    cert_path, key_path = folder / f"{CA_NAME}.crt", folder / f"{CA_NAME}.key"
    if not (cert_path.exists() and key_path.exists()):
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "HIL emulated lab CA")])
        cert = _issue("HIL emulated lab CA", key, name, key, ca=True, names=None)
        _write_private(key_path, _key_pem(key))
        _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    loaded = serialization.load_pem_private_key(key_path.read_bytes(), None)
    assert isinstance(loaded, ec.EllipticCurvePrivateKey)  # we wrote it
    return cert, loaded, cert_path


def _issued_as_wanted(cert_path: Path, ca_subject: x509.Name | None) -> bool:
    """Whether the certificate is signed by the CA named `ca_subject` (None: self-signed)."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return cert.issuer == (ca_subject if ca_subject is not None else cert.subject)


def device_cert(folder: Path, name: str, host: str, *, signed_by_ca: bool) -> DeviceCert:
    """`<folder>/<name>.crt/.key`, made on first use and kept: self-signed, or signed by
    the folder's lab CA (`lab-ca.crt`). An existing pair is reused while it is of the kind
    asked for (a self-signed one is replaced when a CA-signed one is wanted, and back)."""
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / f"{name}.crt", folder / f"{name}.key"
    ca_file: Path | None = None
    if signed_by_ca:
        ca_cert, ca_key, ca_file = _lab_ca(folder)
    if not (cert_path.exists() and key_path.exists()) or not _issued_as_wanted(
            cert_path, ca_cert.subject if signed_by_ca else None):
        key = ec.generate_private_key(ec.SECP256R1())
        if signed_by_ca:
            cert = _issue(name, key, ca_cert.subject, ca_key, ca=False, names=_names(name, host))
        else:
            subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
            cert = _issue(name, key, subject, key, ca=False, names=_names(name, host))
        _write_private(key_path, _key_pem(key))
        _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return DeviceCert(cert_path, key_path, spki_sha256(cert), ca_file)
