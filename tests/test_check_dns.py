"""The ``dns`` check against real knotd servers on loopback (never the system's resolver)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monitord.checks import dns as dns_check
from monitord.checks.base import CheckEnv
from monitord.clock import SystemClock
from monitord.model import Outcome, Phase, Status
from tests.support import knot
from tests.support.dnszones import config_errors, make_check, zone_text
from tests.support.knot import UNLOADABLE, KnotServer, free_udp_tcp_port, start_knot

knot_factory = knot.knot_factory

R1, R2, LAME, SILENT = "127.0.53.1", "127.0.53.2", "127.0.53.3", "127.0.53.4"
ZONE = zone_text("example.test", records=[
    "ns1 IN A 127.0.53.1",
    "ns2 IN A 127.0.53.2",
    "@ IN A 192.0.2.10",
    "@ IN AAAA 2001:db8::10",
    "@ IN MX 10 mx.example.net.",
    "@ IN MX 20 mx2.example.net.",
    '@ IN TXT "v=spf1 include:_spf.example.net " "-all"',
    '@ IN CAA 0 issue "letsencrypt.org"',
    "_sip._tcp IN SRV 10 5 5060 sip",
    "www IN CNAME example.test.",
])


class Servers:
    def __init__(self, r1: KnotServer, r2: KnotServer, lame: KnotServer, silent: str) -> None:
        self.r1, self.r2, self.lame, self.silent = r1, r2, lame, silent


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    tmp = tmp_path_factory.mktemp("dns")
    port = free_udp_tcp_port([R1, R2, LAME, SILENT])
    zones = {"example.test": ZONE, "broken.test": UNLOADABLE}
    started = [start_knot(tmp, zones, R1, port)]
    try:
        started.append(start_knot(tmp, zones, R2, port))
        started.append(start_knot(tmp, {}, LAME, port))
        # A resolver that receives queries and never answers.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
            sink.bind((SILENT, port))
            yield Servers(*started, silent=f"{SILENT}:{port}")
    finally:
        for server in started:
            server.stop()


async def probe(data: dict[str, object], timeout: float = 3.0,
                env_resolvers: tuple[str, ...] = ()) -> Outcome:
    config = make_check(dns_check.KIND, data, timeout=timeout)
    env = CheckEnv(clock=SystemClock(), location="here", resolvers=env_resolvers)
    return await dns_check.KIND.build(config, env).run()


@pytest.mark.parametrize(("query", "record", "expect"), [
    ("example.test", "A", ["192.0.2.10"]),
    ("example.test", "AAAA", ["2001:DB8:0::10"]),
    ("example.test", "MX", ["10 MX.example.net", "20 mx2.example.net."]),
    ("example.test", "NS", ["ns1.example.test.", "ns2.example.test"]),
    ("example.test", "TXT", ["v=spf1 include:_spf.example.net -all"]),
    ("example.test", "CAA", ['0 issue "letsencrypt.org"']),
    ("_sip._tcp.example.test", "SRV", ["10 5 5060 sip.example.test."]),
    ("www.example.test", "CNAME", ["example.test."]),
    ("example.test", "SOA", ["ns1.example.test. hostmaster.example.test. 1 3600 600 1209600 300"]),
])
async def test_each_record_type_matches_its_expectation(
    servers: Servers, query: str, record: str, expect: list[str]
) -> None:
    outcome = await probe({"query": query, "record": record, "expect": expect,
                           "resolvers": [servers.r1.endpoint, servers.r2.endpoint]})
    assert outcome.status is Status.OK, outcome.summary
    assert servers.r1.endpoint in outcome.summary
    assert servers.r2.endpoint in outcome.summary


async def test_wrong_answer_names_expected_and_got(servers: Servers) -> None:
    outcome = await probe({"query": "example.test", "record": "A", "expect": ["192.0.2.99"],
                           "resolvers": [servers.r1.endpoint]})
    assert outcome.status is Status.CRITICAL
    assert outcome.phase is Phase.CONTENT
    assert (f"{servers.r1.endpoint}: wrong answer: expected 192.0.2.99, got 192.0.2.10"
            in outcome.summary)


async def test_expect_contains_reports_what_is_missing(servers: Servers) -> None:
    ok = await probe({"query": "example.test", "record": "MX",
                      "expect_contains": ["10 mx.example.net."],
                      "resolvers": [servers.r1.endpoint]})
    assert ok.status is Status.OK, ok.summary
    bad = await probe({"query": "example.test", "record": "MX",
                       "expect_contains": ["10 mx.example.net.", "5 backup.example.net."],
                       "resolvers": [servers.r1.endpoint]})
    assert bad.status is Status.CRITICAL
    assert "missing 5 backup.example.net." in bad.summary


@pytest.mark.parametrize(("query", "resolver", "reason", "phase"), [
    ("nothere.example.test", "r1", "NXDOMAIN (expected NOERROR)", Phase.DNS),
    ("broken.test", "r1", "SERVFAIL (expected NOERROR)", Phase.DNS),
    ("example.test", "lame", "REFUSED (expected NOERROR)", Phase.DNS),
    ("ns1.example.test", "r1:MX", "no MX record (NODATA)", Phase.DNS),
])
async def test_failures_name_the_resolver_and_the_reason(
    servers: Servers, query: str, resolver: str, reason: str, phase: Phase
) -> None:
    server = {"r1": servers.r1, "lame": servers.lame}[resolver.split(":")[0]]
    record = resolver.split(":")[1] if ":" in resolver else "A"
    outcome = await probe({"query": query, "record": record,
                           "resolvers": [servers.r2.endpoint, server.endpoint]})
    assert outcome.status is Status.CRITICAL
    assert outcome.phase is phase
    assert f"{server.endpoint}: {reason}" in outcome.summary
    if server is servers.lame:  # the healthy resolver is not blamed
        assert servers.r2.endpoint not in outcome.summary


async def test_a_silent_resolver_is_a_named_timeout(servers: Servers) -> None:
    outcome = await probe({"query": "example.test", "resolvers": [servers.silent,
                                                                  servers.r1.endpoint]},
                          timeout=1.0)
    assert outcome.status is Status.CRITICAL
    assert outcome.phase is Phase.TIMEOUT
    assert f"{servers.silent}: timeout after" in outcome.summary
    assert servers.r1.endpoint not in outcome.summary


async def test_expected_rcode(servers: Servers) -> None:
    gone = await probe({"query": "old.example.test", "expect_rcode": "NXDOMAIN",
                        "resolvers": [servers.r1.endpoint]})
    assert gone.status is Status.OK, gone.summary
    present = await probe({"query": "example.test", "expect_rcode": "NXDOMAIN",
                           "resolvers": [servers.r1.endpoint]})
    assert present.status is Status.CRITICAL
    assert "NOERROR (expected NXDOMAIN)" in present.summary


async def test_monitord_resolvers_are_the_default(servers: Servers) -> None:
    outcome = await probe({"query": "example.test", "expect": ["192.0.2.10"]},
                          env_resolvers=(servers.r2.endpoint,))
    assert outcome.status is Status.OK
    assert servers.r2.endpoint in outcome.summary


async def test_a_change_on_the_server_is_seen_at_the_next_run(
    knot_factory: Callable[..., KnotServer], tmp_path: Path
) -> None:
    server = knot_factory({"example.test": ZONE}, address="127.0.53.9")
    config = make_check(dns_check.KIND, {"query": "example.test", "expect": ["192.0.2.10"],
                                         "resolvers": [server.endpoint]})
    check = dns_check.KIND.build(config, CheckEnv(clock=SystemClock(), location="here"))
    assert (await check.run()).status is Status.OK
    # The record has a 300 s TTL: a cached answer would still say 192.0.2.10.
    server.set_zone("example.test", ZONE.replace("hostmaster 1 ", "hostmaster 2 ")
                    .replace("192.0.2.10", "192.0.2.11"))
    second = await check.run()
    assert second.status is Status.CRITICAL
    assert "expected 192.0.2.10, got 192.0.2.11" in second.summary


def test_slow_answer_is_a_warning() -> None:
    config = make_check(dns_check.KIND, {"query": "example.test", "resolvers": ["127.0.0.1"],
                                         "max_response_time": "1s"})
    check = dns_check.DnsCheck(config, CheckEnv(clock=SystemClock(), location="here"))
    fast = dns_check.Answer("127.0.0.1:53", "NOERROR", "", frozenset({"192.0.2.1"}), 0.5)
    slow = dns_check.Answer("127.0.0.1:53", "NOERROR", "", frozenset({"192.0.2.1"}), 1.5)
    assert check._judge([fast]).status is Status.OK
    outcome = check._judge([slow])
    assert (outcome.status, outcome.phase) == (Status.WARNING, Phase.RESPONSE)
    assert "slow: 1s" in outcome.summary or "slow: 2s" in outcome.summary


@pytest.mark.parametrize(("data", "message"), [
    ({"query": "example.test", "record": "PTR"}, "record: expected one of"),
    ({"query": "example.test", "expect": ["not-an-address"]}, "not a valid A value"),
    ({"query": "example.test", "expect": ["192.0.2.1"], "expect_contains": ["192.0.2.1"]},
     "not both"),
    ({"query": "example.test", "resolvers": ["dns.example.net"]}, "expected an IP address"),
    ({"query": "example.test", "expect_rcode": "NXDOMAIN", "expect": ["192.0.2.1"]},
     "cannot be expected"),
    ({"query": "exa mple.test"}, "not a valid domain name"),
    ({"record": "A"}, "query: required"),
    ({"query": "example.test", "max_response_time": 2}, "max_response_time: expected a dura"),
])
def test_config_errors(data: dict[str, object], message: str) -> None:
    errors = config_errors(dns_check.KIND, data)
    assert any(message in e for e in errors), errors
