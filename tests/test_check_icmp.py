"""The ``icmp`` check against loopback: in this process (whichever ICMP socket it may open),
and in network namespaces of their own where the ping sysctls and a slow host can be set up."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from monitord.checks import icmp
from monitord.checks._icmp_socket import IcmpUnavailable, checksum, open_icmp_socket
from monitord.checks.base import CheckEnv, check_env
from monitord.clock import SystemClock
from monitord.model import Outcome, Phase, Status
from tests.support import knot, probing
from tests.support.dnszones import config_errors, zone_text
from tests.support.knot import KnotServer
from tests.support.netns import WHY_NOT, run_icmp_in_netns

knot_factory = knot.knot_factory
env = probing.env


def _why_no_icmp() -> str:
    import socket

    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            open_icmp_socket(family)[0].close()
        except IcmpUnavailable as exc:
            return str(exc)
    return ""


WHY_NO_ICMP = _why_no_icmp()
needs_icmp = pytest.mark.skipif(bool(WHY_NO_ICMP), reason=WHY_NO_ICMP)
needs_netns = pytest.mark.skipif(bool(WHY_NOT), reason=WHY_NOT)
RTT_KEYS = {"rtt_min_ms", "rtt_avg_ms", "rtt_max_ms", "loss_percent", "packets_sent",
            "packets_received"}


async def probe(env: CheckEnv, data: dict[str, Any], limit: float = 5.0) -> Outcome:
    return await probing.run_once(icmp.KIND, env, data, limit)


@needs_icmp
@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
async def test_loopback_answers(env: CheckEnv, address: str) -> None:
    outcome = await probe(env, {"host": address, "count": 4})
    assert outcome.status is Status.OK, outcome
    assert outcome.phase is None
    assert set(outcome.metrics) == RTT_KEYS
    assert outcome.metrics["packets_sent"] == outcome.metrics["packets_received"] == 4
    assert outcome.metrics["loss_percent"] == 0
    m = outcome.metrics
    assert 0 < m["rtt_min_ms"] <= m["rtt_avg_ms"] <= m["rtt_max_ms"] < 1000
    assert outcome.summary.startswith(f"{address}: 4/4 replies, 0% loss, rtt min/avg/max ")


@needs_icmp
async def test_concurrent_checks_share_one_socket_and_get_their_own_replies(
    env: CheckEnv,
) -> None:
    import asyncio

    outcomes = await asyncio.gather(*(probe(env, {"host": host, "count": 5})
                                      for host in ["127.0.0.1", "::1", "127.0.0.1", "::1"] * 5))
    assert all(o.status is Status.OK for o in outcomes), outcomes
    assert all(o.metrics["packets_received"] == 5 for o in outcomes)


@needs_icmp
async def test_names_resolve_through_the_configured_resolvers(
    knot_factory: Callable[..., KnotServer],
) -> None:
    zone = zone_text("monitord.test", records=["ns1 IN A 127.0.0.1", "ns2 IN A 127.0.0.1",
                                               "router IN A 127.0.0.1", "router IN AAAA ::1",
                                               "v4only IN A 127.0.0.1"])
    nameserver = knot_factory({"monitord.test": zone})
    async with check_env(SystemClock(), "here", (nameserver.endpoint,)) as env:
        v4 = await probe(env, {"host": "router.monitord.test", "family": "ipv4"})
        v6 = await probe(env, {"host": "router.monitord.test", "family": "ipv6"})
        missing = await probe(env, {"host": "gone.monitord.test"})
        no_v6 = await probe(env, {"host": "v4only.monitord.test", "family": "ipv6"})
    assert v4.status is Status.OK, v4
    assert v4.summary.startswith("router.monitord.test (127.0.0.1): 3/3 replies")
    assert v6.status is Status.OK, v6
    assert v6.summary.startswith("router.monitord.test (::1): 3/3 replies")
    assert (missing.status, missing.phase) == (Status.CRITICAL, Phase.RESOLVE)
    assert missing.summary == "cannot resolve gone.monitord.test: Domain name not found"
    assert (no_v6.status, no_v6.phase) == (Status.CRITICAL, Phase.RESOLVE)
    assert no_v6.summary == "v4only.monitord.test has no IPv6 address"


# -- in network namespaces of their own ----------------------------------------------------


@needs_netns
@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_unprivileged_datagram_sockets_where_the_sysctl_allows(address: str) -> None:
    # No CAP_NET_RAW: only the ping_group_range sysctl lets the check work.
    outcome = run_icmp_in_netns({"host": address}, ping_groups="0 2147483647",
                                without_net_raw=True)
    assert outcome["status"] == "OK", outcome
    assert outcome["metrics"]["packets_received"] == 3


@needs_netns
def test_neither_socket_allowed_is_unknown_and_says_why() -> None:
    outcome = run_icmp_in_netns({"host": "127.0.0.1"}, ping_groups="1 0", without_net_raw=True)
    assert (outcome["status"], outcome["phase"]) == ("UNKNOWN", "internal")
    assert outcome["summary"] == ("cannot open an IPv4 ICMP socket: the group 0 is outside "
                                  "net.ipv4.ping_group_range and the process lacks CAP_NET_RAW")


@needs_netns
def test_max_rtt_exceeded_is_a_warning() -> None:
    # The host answers every ping after 60 ms.
    outcome = run_icmp_in_netns({"host": "127.0.0.1", "max_rtt": "30ms"}, echo_delay=0.06)
    assert (outcome["status"], outcome["phase"]) == ("WARNING", "response"), outcome
    assert outcome["summary"].endswith(", average above max_rtt 30ms")
    assert 60 <= outcome["metrics"]["rtt_min_ms"] < 1000
    assert outcome["metrics"]["loss_percent"] == 0


@needs_netns
def test_within_max_rtt_is_ok() -> None:
    outcome = run_icmp_in_netns({"host": "127.0.0.1", "max_rtt": "500ms"}, echo_delay=0.06)
    assert outcome["status"] == "OK", outcome
    assert outcome["metrics"]["rtt_avg_ms"] >= 60


@needs_netns
def test_a_host_that_drops_pings_is_critical() -> None:
    outcome = run_icmp_in_netns({"host": "127.0.0.1", "count": 2}, echo_delay=-1, timeout=2.0)
    assert (outcome["status"], outcome["phase"]) == ("CRITICAL", "response"), outcome
    assert outcome["summary"] == "no reply from 127.0.0.1 to 2 echo requests"
    assert outcome["metrics"] == {"loss_percent": 100.0, "packets_sent": 2.0,
                                  "packets_received": 0.0}


# -- pure parts ------------------------------------------------------------------------------


def test_checksum_is_rfc_1071() -> None:
    # RFC 1071's worked example: 0001 f203 f4f5 f6f7 sums to ddf2, complemented 220d.
    assert checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D
    assert checksum(b"\x08\x00\x00\x00\x12\x34\x00\x01" + b"x") == checksum(
        b"\x08\x00\x00\x00\x12\x34\x00\x01x\x00")


@pytest.mark.parametrize(("data", "message"), [
    ({}, "host: required"),
    ({"host": "a b"}, 'host: expected a host name or an IP address, got "a b"'),
    ({"host": "r1", "count": 0}, "count: expected an integer from 1 to 20, got 0"),
    ({"host": "r1", "max_loss": 120}, "max_loss: expected a number between 0.0 and 100.0, "
                                      "got 120.0"),
    ({"host": "r1", "max_rtt": 5}, 'max_rtt: expected a duration like "10s", got 5'),
    ({"host": "r1", "family": "ip4"}, 'family: expected one of auto, ipv4, ipv6, got "ip4"'),
    ({"host": "::1", "family": "ipv4"}, 'family: "ipv4" contradicts the ipv6 address ::1'),
])
def test_config_errors(data: dict[str, Any], message: str) -> None:
    assert config_errors(icmp.KIND, data) == [message]
