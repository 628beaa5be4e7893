"""The knotd launcher itself: serves zones, reloads changes, and a zone-less server is lame."""

from __future__ import annotations

from collections.abc import Callable

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from tests.support import knot
from tests.support.knot import KnotServer

knot_factory = knot.knot_factory

ZONE = """$ORIGIN example.test.
$TTL 300
@ IN SOA ns1 hostmaster 1 3600 600 86400 300
@ IN NS ns1
ns1 IN A 127.0.0.1
www IN A 192.0.2.1
"""


def _a(server: KnotServer, name: str, tcp: bool = False) -> list[str]:
    query = dns.message.make_query(name, dns.rdatatype.A)
    send = dns.query.tcp if tcp else dns.query.udp
    response = send(query, server.address, timeout=2, port=server.port)
    return sorted(rd.to_text() for rrset in response.answer for rd in rrset)


def test_serves_reloads_and_lame(knot_factory: Callable[..., KnotServer]) -> None:
    server = knot_factory({"example.test": ZONE}, address="127.0.0.2")
    assert _a(server, "www.example.test.") == ["192.0.2.1"]
    assert _a(server, "www.example.test.", tcp=True) == ["192.0.2.1"]
    server.set_zone("example.test", ZONE.replace(" 1 3600", " 2 3600").replace("2.1", "2.9"))
    assert _a(server, "www.example.test.") == ["192.0.2.9"]
    lame = knot_factory({}, address="127.0.0.3", port=server.port)
    response = dns.query.udp(
        dns.message.make_query("example.test.", dns.rdatatype.SOA), lame.address, 2, lame.port
    )
    assert response.rcode() == dns.rcode.REFUSED
