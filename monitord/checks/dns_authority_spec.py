"""The ``dns_authority`` kind's keys and their parsing, importable without network libraries.

The check itself (:mod:`monitord.checks.dns_authority`) is imported when a check is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from monitord.checks.dns_records import DNS_PORT, parse_domain, parse_expect_table, parse_servers
from monitord.checks.kind import CheckKind, Kind, deferred
from monitord.config.reader import Table, to_duration
from monitord.config.schema import HostPort

DAY = 86400.0
MAX_NAMESERVERS = 16  # NS names taken from the parent or the zone (hostile data is bounded)
MAX_ADDRESSES = 32  # server addresses asked per run
MAX_PARENT_TRIES = 3


@dataclass(frozen=True, slots=True)
class Spec:
    zone: str
    nameservers: tuple[HostPort, ...] = ()  # override of the delegation: ask these instead
    parent_nameservers: tuple[HostPort, ...] = ()  # default: found through the resolvers
    resolvers: tuple[HostPort, ...] = ()  # for the parent and out-of-zone nameserver names
    port: int = DNS_PORT  # port of every server found by name (the parent's and the zone's)
    expect: Mapping[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    serial_drift_grace: float | None = None  # default: the SOA refresh + retry
    rrsig_warn_before: float = 3 * DAY
    min_nameservers: int = 2
    ipv6: bool = True

    @property
    def target(self) -> str:
        return self.zone


def parse(table: Table) -> Spec:
    grace = table.optional("serial_drift_grace", to_duration)
    return Spec(
        zone=parse_domain(table, "zone"),
        nameservers=parse_servers(table, "nameservers") or (),
        parent_nameservers=parse_servers(table, "parent_nameservers") or (),
        resolvers=parse_servers(table, "resolvers") or (),
        port=table.int("port", DNS_PORT, minimum=1, maximum=65535),
        expect=parse_expect_table(table, "expect"),
        serial_drift_grace=grace,
        rrsig_warn_before=table.duration("rrsig_warn_before", 3 * DAY),
        min_nameservers=table.int("min_nameservers", 2, minimum=1, maximum=MAX_NAMESERVERS),
        ipv6=table.bool("ipv6", True),
    )


KIND: CheckKind = Kind("dns_authority", parse,
                       deferred("monitord.checks.dns_authority", "AuthorityCheck"))
