"""The emulator's device certificates: kept across restarts, of the kind asked for, naming
the addresses a client uses."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from emulator.tlscerts import device_cert


def _load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_a_device_keeps_its_certificate_until_its_kind_changes(tmp_path: Path) -> None:
    first = device_cert(tmp_path, "nvr-1", "127.0.0.2", signed_by_ca=False)
    again = device_cert(tmp_path, "nvr-1", "127.0.0.2", signed_by_ca=False)
    assert first == again and first.ca_file is None
    cert = _load(first.cert)
    assert cert.issuer == cert.subject
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["nvr-1"]
    assert {str(a) for a in names.get_values_for_type(x509.IPAddress)} == {"127.0.0.1",
                                                                           "127.0.0.2"}
    signed = device_cert(tmp_path, "nvr-1", "127.0.0.2", signed_by_ca=True)
    assert signed.spki_sha256 != first.spki_sha256
    assert signed.ca_file == tmp_path / "lab-ca.crt"
    _load(signed.cert).verify_directly_issued_by(_load(signed.ca_file))
    assert device_cert(tmp_path, "nvr-1", "127.0.0.2", signed_by_ca=True) == signed
    assert (tmp_path / "nvr-1.key").stat().st_mode & 0o077 == 0
