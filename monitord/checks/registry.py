"""The explicit registry of check kinds: type name -> kind. Add a kind here, nowhere else."""

from __future__ import annotations

from collections.abc import Mapping

from monitord.checks import dns, dns_authority, domain_expiry, heartbeat, http, snmp, tcp, tls
from monitord.checks.base import CheckKind
from monitord.checks.icmp import KIND as ICMP
from monitord.checks.nagios import KIND as NAGIOS

KINDS: Mapping[str, CheckKind] = {
    "dns": dns.KIND,
    "dns_authority": dns_authority.KIND,
    "domain_expiry": domain_expiry.KIND,
    "heartbeat": heartbeat.KIND,
    "http": http.KIND,
    "icmp": ICMP,
    "nagios": NAGIOS,
    "snmp": snmp.KIND,  # parse needs no pysnmp; build imports it
    "tcp": tcp.KIND,
    "tls": tls.KIND,
}
