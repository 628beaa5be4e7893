"""TLS for the checks: client contexts, named verification failures, certificate details.

Contexts are shared per daemon through :meth:`CheckEnv.resource` (one per trust store and
verification mode): a context holding the system trust store weighs hundreds of KiB, so
5,000 checks must not each build their own. Every context is a :class:`TimedSSLContext`,
which marks the start of the handshake on the running :class:`~monitord.checks._probe.Probe`
so the TCP connect and the TLS handshake are timed apart even inside aiohttp.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from monitord.checks._probe import CURRENT, ProbeFailure
from monitord.checks.base import CheckEnv
from monitord.model import Phase, Status

# OpenSSL verification codes (x509_vfy.h) -> the reason a person acts on.
_REASONS = {
    9: "not yet valid",
    10: "expired",
    18: "self-signed",  # a self-signed leaf
    19: "untrusted chain",  # a self-signed root nobody trusts
    2: "untrusted chain",
    20: "untrusted chain",
    21: "untrusted chain",
    27: "untrusted chain",
    24: "untrusted chain",  # invalid CA
    23: "revoked",
    62: "wrong host",
    64: "wrong host",  # IP address mismatch
}


class TimedSSLContext(ssl.SSLContext):
    """An SSLContext that tells the running probe when its handshake starts.

    asyncio calls ``wrap_bio`` once the TCP connection is up, right before the handshake.
    """

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        probe = CURRENT.get()
        if probe is not None:
            probe.enter(Phase.TLS)
        ssl_object = super().wrap_bio(*args, **kwargs)
        if probe is not None:
            probe.tls = ssl_object  # its certificate is read after the handshake
        return ssl_object


def client_context(verify: bool, ca_file: str | None = None) -> ssl.SSLContext:
    """A client context: verified against ``ca_file`` (else the system store), or not at all."""
    context = TimedSSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        if ca_file:
            context.load_verify_locations(cafile=ca_file)
        else:
            context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


async def shared_context(env: CheckEnv, verify: bool, ca_file: str | None) -> ssl.SSLContext:
    """The daemon-wide context for this trust setting."""

    async def make() -> ssl.SSLContext:
        try:
            return client_context(verify, ca_file)
        except (OSError, ssl.SSLError) as exc:  # the file changed since the config was read
            raise ProbeFailure(Phase.TLS, f"cannot load CA certificates from {ca_file}: {exc}",
                               Status.UNKNOWN) from None

    return await env.resource(f"tls.context:{verify}:{ca_file or ''}", make)


def verify_reason(error: ssl.SSLCertVerificationError) -> str:
    """"expired", "wrong host", "self-signed", "untrusted chain", … or OpenSSL's words."""
    code = getattr(error, "verify_code", None)
    if isinstance(code, int) and code in _REASONS:
        return _REASONS[code]
    message = getattr(error, "verify_message", None)
    return str(message or error.reason or error)


def describe_verify_error(error: ssl.SSLCertVerificationError) -> str:
    reason = verify_reason(error)
    message = getattr(error, "verify_message", None) or ""
    detail = f" ({message})" if message and message.lower() != reason else ""
    return f"certificate rejected: {reason}{detail}"


def describe_ssl_error(error: ssl.SSLError) -> str:
    """A handshake failure that is not about the certificate (protocol, cipher, alert)."""
    reason = error.reason or error.strerror or str(error)
    return f"TLS handshake failed: {str(reason).lower().replace('_', ' ')}"


@dataclass(frozen=True, slots=True)
class CertInfo:
    subject: str
    issuer: str
    not_before: datetime  # UTC, aware
    not_after: datetime  # UTC, aware
    names: tuple[str, ...]  # DNS names and IP addresses of the subjectAltName

    def days_left(self, now: datetime) -> float:
        return (self.not_after - now).total_seconds() / 86400.0

    def describe(self) -> str:
        return (f"subject {self.subject}, issuer {self.issuer}, "
                f"not_after {self.not_after.strftime('%Y-%m-%dT%H:%M:%SZ')}")


def cert_info(der: bytes) -> CertInfo:
    """Details of a DER certificate (as ``SSLObject.getpeercert(binary_form=True)`` gives)."""
    cert = x509.load_der_x509_certificate(der)
    names: list[str] = []
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        pass
    else:
        names += san.value.get_values_for_type(x509.DNSName)
        names += [str(ip) for ip in san.value.get_values_for_type(x509.IPAddress)]
    return CertInfo(
        subject=_name(cert.subject),
        issuer=_name(cert.issuer),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        names=tuple(names),
    )


def _name(name: x509.Name) -> str:
    """``CN=…`` when there is a common name (short and familiar), else the full RFC 4514 form."""
    common = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if common:
        value = common[0].value
        return f"CN={value.decode() if isinstance(value, bytes) else value}"
    return name.rfc4514_string() or "(empty)"

