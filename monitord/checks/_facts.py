"""The facts a network check reports about what it talked to, for "what changed".

A person comparing a failing run with the last good one wants the address, the certificate
(fingerprint and issuer) and the redirect target side by side; the checks note them here from
the connection they already have, at no extra cost.
"""

from __future__ import annotations

import hashlib

from monitord.checks._probe import Probe
from monitord.checks._tls import cert_info
from monitord.config.secrets import redact_url

# A Location is the server's text: facts travel in notifications, so it is cut short.
MAX_REDIRECT_FACT = 200


def redirect_fact(location: str) -> str:
    """The ``redirect`` fact of a Location: credentials masked, at most 200 characters.

    The check and the evidence both note it this way, so the two compare equal."""
    return redact_url(location)[:MAX_REDIRECT_FACT]


def probe_facts(probe: Probe) -> dict[str, str]:
    """``address`` (the host's addresses), plus ``cert_sha256`` and ``cert_issuer`` over TLS."""
    facts: dict[str, str] = {}
    if probe.addresses:
        facts["address"] = ", ".join(sorted(probe.addresses))
    der = probe.tls.getpeercert(binary_form=True) if probe.tls is not None else None
    if der:
        facts.update(certificate_facts(bytes(der)))
    return facts


def certificate_facts(der: bytes) -> dict[str, str]:
    try:
        issuer = cert_info(der).issuer
    except ValueError:  # unparsable: the fingerprint still tells a swap
        issuer = "(unreadable)"
    return {"cert_sha256": hashlib.sha256(der).hexdigest(), "cert_issuer": issuer}
