"""The ``dns`` kind's keys and their parsing, importable without network libraries.

The check itself (:mod:`monitord.checks.dns`) is imported when a check is built.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitord.checks.dns_records import RECORD_TYPES, parse_domain, parse_servers, parse_values
from monitord.checks.kind import CheckKind, Kind, deferred
from monitord.config.reader import Table, to_duration
from monitord.config.schema import HostPort

RCODES = ("NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", "NOTIMP", "FORMERR")

@dataclass(frozen=True, slots=True)
class Spec:
    query: str
    record: str = "A"
    resolvers: tuple[HostPort, ...] = ()  # empty: [monitord] resolvers, else the system's
    expect: frozenset[str] | None = None
    expect_contains: frozenset[str] | None = None
    expect_rcode: str = "NOERROR"
    max_response_time: float | None = None

    @property
    def target(self) -> str:
        return self.query


def parse(table: Table) -> Spec:
    query = parse_domain(table, "query")
    record = table.choice("record", RECORD_TYPES, "A")
    expect = parse_values(table, "expect", record)
    contains = parse_values(table, "expect_contains", record)
    rcode = table.choice("expect_rcode", RCODES, "NOERROR")
    if expect is not None and contains is not None:
        table.error("expect_contains", "give expect (the exact set) or expect_contains, not both")
    if rcode != "NOERROR" and (expect or contains):
        table.error("expect", f"an answer cannot be expected with expect_rcode = \"{rcode}\"")
    return Spec(
        query=query,
        record=record,
        resolvers=parse_servers(table, "resolvers") or (),
        expect=expect,
        expect_contains=contains,
        expect_rcode=rcode,
        max_response_time=table.optional("max_response_time", to_duration),
    )


KIND: CheckKind = Kind("dns", parse, deferred("monitord.checks.dns", "DnsCheck"))
