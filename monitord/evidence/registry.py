"""The evidence of each check kind, by the kind's name (an explicit list, checked by mypy).

Kinds without evidence (``heartbeat``, plugins) still get "what was checked" and "what
changed"; they simply have no follow-up probe.
"""

from __future__ import annotations

from collections.abc import Mapping

from monitord.evidence.authority import AuthorityEvidence
from monitord.evidence.base import EvidenceKind
from monitord.evidence.dns import DnsEvidence
from monitord.evidence.rdap import RdapEvidence
from monitord.evidence.snmp import SnmpEvidence
from monitord.evidence.web import HttpEvidence, TcpEvidence, TlsEvidence

KINDS: Mapping[str, EvidenceKind] = {
    "http": HttpEvidence(),
    "tcp": TcpEvidence(),
    "tls": TlsEvidence(),
    "dns": DnsEvidence(),
    "dns_authority": AuthorityEvidence(),
    "snmp": SnmpEvidence(),
    "domain_expiry": RdapEvidence(),
}
