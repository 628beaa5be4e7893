"""``dns_authority`` against a real delegation on loopback.

A parent zone ``test.`` (one knotd) delegates child zones to three authoritative knotd
instances. Each child zone reproduces one way DNS breaks in practice. Signed zones are signed
by ldns with validity dates placed around a fixed ``now`` (FakeClock), so expiry is exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from monitord.checks import dns_authority
from monitord.checks.base import CheckEnv
from monitord.model import Outcome, Phase, Status
from monitord.testing import FakeClock
from tests.support.dnssec import ds_of, make_keys, sign
from tests.support.dnszones import config_errors, make_check, zone_text
from tests.support.knot import KnotServer, free_udp_tcp_port, start_knot

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
PARENT, A1, A2, A3, DEAD = "127.0.54.1", "127.0.54.11", "127.0.54.12", "127.0.54.13", \
    "127.0.54.14"


def child(origin: str, ns: dict[str, str], serial: int = 1, records: tuple[str, ...] = (),
          refresh: int = 3600, retry: int = 600) -> str:
    """A child zone whose NS names (label -> address) live inside the zone."""
    names = list(ns)
    address_lines = [f"{label} IN A {address}" for label, address in ns.items()]
    return zone_text(origin, serial=serial, ns=names, refresh=refresh, retry=retry,
                     records=[*address_lines, *records])


def delegation(origin: str, glue: dict[str, str], ds: str = "") -> list[str]:
    """Parent-side lines: NS + glue (label -> address), and a DS line if given."""
    lines = [f"{origin}. IN NS {label}.{origin}." for label in glue]
    lines += [f"{label}.{origin}. IN A {address}" for label, address in glue.items()]
    return [*lines, ds] if ds else lines


@dataclass
class World:
    port: int
    parent: KnotServer
    a1: KnotServer
    a2: KnotServer
    a3: KnotServer

    def at(self, address: str) -> str:
        return f"{address}:{self.port}"


TWO = {"ns1": A1, "ns2": A2}


def _zones(tmp: Path) -> tuple[list[str], dict[str, dict[str, str]]]:
    """Parent lines and, per server address, the zones it serves."""
    parent: list[str] = []
    served: dict[str, dict[str, str]] = {A1: {}, A2: {}, A3: {}}

    def serve(origin: str, text: str, *where: str) -> None:
        for address in where:
            served[address][origin] = text

    records = ("@ IN A 192.0.2.10", "www IN A 192.0.2.11", "@ IN MX 10 mx.example.net.")
    serve("healthy.test", child("healthy.test", TWO, serial=5, records=records), A1, A2)
    parent += delegation("healthy.test", TWO)

    serve("drift.test", child("drift.test", TWO, serial=7), A1)
    serve("drift.test", child("drift.test", TWO, serial=6), A2)
    parent += delegation("drift.test", TWO)

    lame = {"ns1": A1, "ns3": A3}
    serve("lame.test", child("lame.test", lame), A1)  # A3 does not serve it: REFUSED
    parent += delegation("lame.test", lame)

    serve("moved.test", child("moved.test", {"ns1": A1, "ns3": A3}), A1, A2, A3)
    parent += delegation("moved.test", TWO)  # the parent still has the old set

    serve("glue.test", child("glue.test", TWO), A1, A2, A3)
    parent += delegation("glue.test", {"ns1": A1, "ns2": A3})  # stale glue for ns2

    serve("single.test", child("single.test", {"ns1": A1}), A1)
    parent += delegation("single.test", {"ns1": A1})

    one = {"ns1": A1, "ns2": A1}
    serve("oneaddr.test", child("oneaddr.test", one), A1)
    parent += delegation("oneaddr.test", one)

    dead = {"ns1": A1, "ns4": DEAD}
    serve("dead.test", child("dead.test", dead), A1)
    parent += delegation("dead.test", dead)

    serve("records.test", child("records.test", TWO, records=("www IN A 192.0.2.20",)), A1)
    serve("records.test", child("records.test", TWO, records=("www IN A 192.0.2.21",)), A2)
    parent += delegation("records.test", TWO)

    for origin, (inception, expiration) in {
        "good.test": (NOW - timedelta(days=10), NOW + timedelta(days=30)),
        "soon.test": (NOW - timedelta(days=10), NOW + timedelta(days=1)),
        "expired.test": (NOW - timedelta(days=10), NOW - timedelta(days=1)),
        "badds.test": (NOW - timedelta(days=10), NOW + timedelta(days=30)),
    }.items():
        signed = sign(tmp / origin, origin, child(origin, TWO), inception, expiration)
        serve(origin, signed.text, A1, A2)
        ds = signed.ds
        if origin == "badds.test":  # the DS of a key the zone does not use
            ds = ds_of(tmp / "other", make_keys(tmp / "other", origin)[0])
        parent += delegation(origin, TWO, ds)

    # One server still serves the zone unsigned (a secondary that never got the signed copy).
    text = child("halfsigned.test", TWO)
    signed = sign(tmp / "halfsigned.test", "halfsigned.test", text, NOW - timedelta(days=1),
                  NOW + timedelta(days=30))
    serve("halfsigned.test", signed.text, A1)
    serve("halfsigned.test", text, A2)
    parent += delegation("halfsigned.test", TWO, signed.ds)

    serve("dsunsigned.test", child("dsunsigned.test", TWO), A1, A2)
    keys = make_keys(tmp / "dsunsigned", "dsunsigned.test")
    parent += delegation("dsunsigned.test", TWO, ds_of(tmp / "dsunsigned", keys[0]))
    return parent, served


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("authority")
    port = free_udp_tcp_port([PARENT, A1, A2, A3, DEAD])
    parent_lines, served = _zones(tmp)
    parent_zone = zone_text("test", ns=["ns"], records=[f"ns IN A {PARENT}", *parent_lines])
    started: list[KnotServer] = []
    try:
        started.append(start_knot(tmp, {"test": parent_zone}, PARENT, port))
        for address in (A1, A2, A3):
            started.append(start_knot(tmp, served[address], address, port))
        yield World(port, *started)
    finally:
        for server in started:
            server.stop()


def build(world: World, zone: str, clock: FakeClock | None = None, timeout: float = 3.0,
          **keys: object) -> dns_authority.AuthorityCheck:
    data: dict[str, object] = {"zone": zone, "port": world.port,
                               "parent_nameservers": [world.at(PARENT)], **keys}
    config = make_check(dns_authority.KIND, data, timeout=timeout)
    env = CheckEnv(clock=clock or FakeClock(NOW), location="here")
    check = dns_authority.KIND.build(config, env)
    assert isinstance(check, dns_authority.AuthorityCheck)
    return check


async def run(world: World, zone: str, **keys: object) -> Outcome:
    return await build(world, zone, **keys).run()


async def test_healthy_zone_is_ok(world: World) -> None:
    outcome = await run(world, "healthy.test",
                        expect={"A": ["192.0.2.10"], "www A": ["192.0.2.11"],
                                "MX": ["10 mx.example.net"]})
    assert outcome.status is Status.OK, outcome.summary
    assert "2 nameservers" in outcome.summary
    assert "serial 5" in outcome.summary
    assert outcome.metrics["servers_healthy"] == 2


@pytest.mark.parametrize(("zone", "status", "phase", "expected"), [
    ("lame.test", Status.WARNING, Phase.DELEGATION,
     f"lame: ns3.lame.test {A3}@P: answered REFUSED over UDP and TCP"),
    ("dead.test", Status.WARNING, Phase.DELEGATION,
     f"unreachable: ns4.dead.test {DEAD}@P: connection refused over UDP and TCP"),
    ("moved.test", Status.WARNING, Phase.DELEGATION,
     "ns-mismatch: parent NS set differs from the zone's: only at the parent: "
     "ns2.moved.test; only in the zone: ns3.moved.test"),
    ("glue.test", Status.WARNING, Phase.DELEGATION,
     f"glue-mismatch: ns2.glue.test: parent glue {A3}, zone has {A2}"),
    ("single.test", Status.WARNING, Phase.DELEGATION,
     "too-few-nameservers: 1 nameserver (ns1.single.test), at least 2 expected"),
    ("oneaddr.test", Status.WARNING, Phase.DELEGATION,
     f"single-address: all 2 nameservers are on one address, {A1}"),
    ("soon.test", Status.WARNING, Phase.DNSSEC,
     "rrsig-expiring: ns1.soon.test 127.0.54.11@P, ns2.soon.test 127.0.54.12@P: RRSIG over SOA "
     "and DNSKEY expires 2026-01-06 09:00 UTC (in 1d)"),
    ("expired.test", Status.CRITICAL, Phase.DNSSEC,
     "rrsig-expired: ns1.expired.test 127.0.54.11@P, ns2.expired.test 127.0.54.12@P: RRSIG over "
     "SOA and DNSKEY expired 2026-01-04 09:00 UTC (1d ago)"),
    ("badds.test", Status.CRITICAL, Phase.DNSSEC, "ds-no-matching-key: no DS at the parent"),
    ("dsunsigned.test", Status.CRITICAL, Phase.DNSSEC,
     "ds-unsigned-zone: the parent publishes DS"),
    ("missing.test", Status.CRITICAL, Phase.DELEGATION, "not-delegated"),
    ("halfsigned.test", Status.CRITICAL, Phase.DNSSEC,
     "rrsig-missing: ns2.halfsigned.test 127.0.54.12@P: RRSIG over SOA and DNSKEY missing in a "
     "signed zone"),
])
async def test_each_breakage_is_named(world: World, zone: str, status: Status, phase: Phase,
                                      expected: str) -> None:
    outcome = await run(world, zone, timeout=2.0)
    assert (outcome.status, outcome.phase) == (status, phase), outcome.summary
    assert expected.replace("@P", f":{world.port}") in outcome.summary


async def test_lame_servers_only_are_blamed(world: World) -> None:
    outcome = await run(world, "lame.test")
    assert "ns1.lame.test" not in outcome.summary
    assert outcome.metrics["servers_healthy"] == 1


async def test_signed_zone_with_matching_ds_is_ok(world: World) -> None:
    outcome = await run(world, "good.test")
    assert outcome.status is Status.OK, outcome.summary
    assert "DNSSEC signatures valid for 30d more" in outcome.summary
    assert outcome.metrics["rrsig_expires_in_s"] == 30 * 86400


async def test_rrsig_warn_before_is_configurable(world: World) -> None:
    outcome = await run(world, "good.test", rrsig_warn_before="31d")
    assert outcome.status is Status.WARNING
    assert "rrsig-expiring" in outcome.summary


async def test_expected_records_are_checked_on_every_server(world: World) -> None:
    outcome = await run(world, "records.test", expect={"www A": ["192.0.2.20"]})
    assert outcome.status is Status.CRITICAL
    assert outcome.phase is Phase.CONTENT
    assert (f"record-mismatch: ns2.records.test {world.at(A2)}: A www.records.test: "
            "expected 192.0.2.20, got 192.0.2.21") in outcome.summary
    assert f"ns1.records.test {world.at(A1)}" not in outcome.summary


async def test_serial_drift_is_a_problem_only_after_the_grace(world: World) -> None:
    clock = FakeClock(NOW)
    check = build(world, "drift.test", clock=clock)
    first = await check.run()
    assert first.status is Status.OK, first.summary  # refresh + retry = 70 min of grace
    assert "serial-drift: 7 on ns1.drift.test" in first.summary
    clock.set(NOW + timedelta(hours=2))
    later = await check.run()
    assert (later.status, later.phase) == (Status.WARNING, Phase.DNS)
    assert "(for 2h, grace 1h10m)" in later.summary
    clock.set(NOW + timedelta(days=15))  # beyond the SOA expire (14 days)
    assert (await check.run()).status is Status.CRITICAL


async def test_serial_drift_grace_override(world: World) -> None:
    clock = FakeClock(NOW)
    check = build(world, "drift.test", clock=clock, serial_drift_grace="3h")
    await check.run()
    clock.set(NOW + timedelta(hours=2))
    assert (await check.run()).status is Status.OK


async def test_parent_found_through_the_resolvers(world: World) -> None:
    config = make_check(dns_authority.KIND, {"zone": "healthy.test", "port": world.port,
                                             "resolvers": [world.at(PARENT)]})
    check = dns_authority.KIND.build(config, CheckEnv(clock=FakeClock(NOW), location="here"))
    outcome = await check.run()
    assert outcome.status is Status.OK, outcome.summary


async def test_unreachable_parent_is_unknown_not_ok(world: World) -> None:
    outcome = await run(world, "healthy.test", parent_nameservers=[world.at(A3)],
                        resolvers=[world.at(A1)])
    assert outcome.status is Status.UNKNOWN, outcome.summary
    assert "parent-unreachable" in outcome.summary
    assert "REFUSED" in outcome.summary


async def test_nameservers_override(world: World) -> None:
    outcome = await run(world, "lame.test", nameservers=[world.at(A1)])
    assert outcome.status is Status.OK, outcome.summary
    assert outcome.metrics["servers_asked"] == 1


@pytest.mark.parametrize(("data", "message"), [
    ({"zone": "example.test", "expect": {"PTR": ["x"]}}, "expected a record type"),
    ({"zone": "example.test", "expect": {"A": ["nope"]}}, "not a valid A value"),
    ({"zone": "example.test", "nameservers": ["ns1.example.test"]}, "expected an IP address"),
    ({"zone": "example.test", "serial_drift_grace": 60}, "expected a duration"),
    ({}, "zone: required"),
])
def test_config_errors(data: dict[str, object], message: str) -> None:
    errors = config_errors(dns_authority.KIND, data)
    assert any(message in e for e in errors), errors
