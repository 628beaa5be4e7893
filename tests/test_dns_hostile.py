"""Broken or hostile DNS servers on loopback: answers are bounded and rejected, never crash.

Each server answers every query (UDP and TCP) in one bad way: random bytes, a well-formed
answer to another query id, a bare header cut short, or a 60 KB datagram of junk.
"""

from __future__ import annotations

import asyncio
import os
import struct
from collections.abc import AsyncIterator, Callable

import dns.name
import dns.rdatatype
import pytest

from monitord.checks import dns as dns_check
from monitord.checks import dns_authority
from monitord.checks._dns_query import ask
from monitord.checks.base import CheckEnv
from monitord.clock import SystemClock
from monitord.compat import timeout
from monitord.config.schema import HostPort
from monitord.model import Outcome, Phase, Status
from tests.support.dnszones import make_check
from tests.support.knot import free_udp_tcp_port


def garbage(query: bytes) -> bytes:
    return os.urandom(200)


def wrong_id(query: bytes) -> bytes:
    # A plausible header (QR, NOERROR, one answer) for an id that was never asked.
    other = (struct.unpack("!H", query[:2])[0] + 1) % 65536
    return struct.pack("!HHHHHH", other, 0x8580, 1, 1, 0, 0) + query[12:]


def cut_short(query: bytes) -> bytes:
    return query[:2] + b"\x85"


def huge(query: bytes) -> bytes:
    return query[:2] + b"\x85\x80" + os.urandom(60_000)


BAD: dict[str, Callable[[bytes], bytes]] = {
    "garbage": garbage, "wrong-id": wrong_id, "cut-short": cut_short, "huge": huge}


class Hostile(asyncio.DatagramProtocol):
    def __init__(self, answer: Callable[[bytes], bytes]) -> None:
        self.answer = answer
        self.transport: asyncio.DatagramTransport | None = None

        self.answered = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a datagram transport here

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        if len(data) >= 12:
            self.transport.sendto(self.answer(data), addr)
            self.answered += 1


@pytest.fixture(params=sorted(BAD))
async def hostile(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    answer = BAD[request.param]
    address = "127.0.55.1"
    port = free_udp_tcp_port([address])
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(lambda: Hostile(answer),
                                                              local_addr=(address, port))

    async def tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            size = struct.unpack("!H", await reader.readexactly(2))[0]
            reply = answer(await reader.readexactly(size))[:65535]
            writer.write(struct.pack("!H", len(reply)) + reply)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(tcp, address, port)
    yield f"{address}:{port}"
    assert protocol.answered > 0, "the hostile server was never asked: the test proved nothing"
    server.close()
    await server.wait_closed()
    transport.close()


async def run(kind: object, data: dict[str, object]) -> Outcome:
    config = make_check(kind, data, timeout=3.0)  # type: ignore[arg-type]
    env = CheckEnv(clock=SystemClock(), location="here")
    try:
        async with timeout(10):  # the check must end by itself, well before this
            return await kind.build(config, env).run()  # type: ignore[attr-defined, no-any-return]
    finally:
        await env.aclose()


async def test_dns_check_rejects_a_hostile_resolver(hostile: str) -> None:
    outcome = await run(dns_check.KIND, {"query": "example.test", "record": "A",
                                          "resolvers": [hostile], "expect": ["192.0.2.10"]})
    assert outcome.status in (Status.CRITICAL, Status.UNKNOWN)
    assert outcome.phase is not Phase.INTERNAL
    assert hostile in outcome.summary  # the failure names the resolver


async def test_dns_authority_rejects_hostile_nameservers(hostile: str) -> None:
    outcome = await run(dns_authority.KIND, {
        "zone": "example.test", "nameservers": [hostile, hostile],
        "parent_nameservers": [hostile], "min_nameservers": 1})
    assert outcome.status in (Status.CRITICAL, Status.UNKNOWN)
    assert outcome.phase is not Phase.INTERNAL
    assert outcome.summary


@pytest.mark.parametrize("tcp", [False, True])
async def test_a_server_named_rather_than_addressed_is_refused_at_once(tcp: bool) -> None:
    # Looking a server name up would be a blocking getaddrinfo on the event loop: "localhost"
    # resolves (hosts file), so only the refusal keeps this from asking it.
    server = HostPort("localhost", free_udp_tcp_port(["127.0.0.1"]))
    reply = await ask(server, dns.name.from_text("shop.test"), dns.rdatatype.SOA, 2.0, tcp=tcp)
    assert (reply.message, reply.failure) == (None, "server is not an IP address")
