"""Certificates for TLS tests: a private CA (trustme) with leaves of chosen validity, and a
genuinely self-signed leaf (cryptography), each as a server-side ``ssl.SSLContext``.

    ca = Authority.create(tmp_path)          # ca.ca_file: the PEM a check's ca_file names
    context = ca.server_context("www.test", not_after=now + timedelta(days=3))
    context = self_signed_context("www.test")
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class Authority:
    ca: trustme.CA
    ca_file: Path

    @classmethod
    def create(cls, directory: Path) -> Authority:
        ca = trustme.CA(organization_name="monitord tests")
        ca_file = directory / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        return cls(ca, ca_file)

    def server_context(self, *names: str, not_before: dt.datetime | None = None,
                       not_after: dt.datetime | None = None) -> ssl.SSLContext:
        """A server context presenting a leaf for ``names`` (DNS names or IP addresses)."""
        leaf = self.ca.issue_cert(*names, common_name=names[0],
                                  not_before=not_before or utcnow() - dt.timedelta(days=1),
                                  not_after=not_after or utcnow() + dt.timedelta(days=90))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        leaf.configure_cert(context)
        return context


def self_signed_context(name: str) -> ssl.SSLContext:
    """A server context with a leaf that signed itself (no CA at all)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    try:
        alt: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        alt = x509.DNSName(name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(utcnow() - dt.timedelta(days=1))
        .not_valid_after(utcnow() + dt.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([alt]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory() as directory:
        cert_path, key_path = Path(directory, "cert.pem"), Path(directory, "key.pem")
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        context.load_cert_chain(cert_path, key_path)
    return context
