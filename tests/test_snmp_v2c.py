"""Our SNMPv2c client against a real snmpd, against pysnmp's SNMPv3 path, and against a
hostile UDP peer on loopback."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from pyasn1.codec.ber import decoder
from pysnmp.proto import rfc1902

from monitord.checks._probe import ProbeFailure
from monitord.checks.base import CheckEnv, check_env
from monitord.config.reader import SecretRef
from monitord.model import Phase
from monitord.snmp import engine, interfaces, oids, rate, v2c
from monitord.snmp.session import SnmpSession
from monitord.snmp.spec import UsmAuth
from monitord.snmp.values import Absent, Endpoint
from monitord.testing import FakeClock
from tests.conftest import free_port
from tests.support.snmpd import ENTERPRISE, SnmpAgent, V3User, switch_ports
from tests.test_snmp_ber import V2C, pysnmp_response

USER = V3User("mon", "authpass123", "privpass123")


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpAgent]:
    agent = SnmpAgent(tmp_path_factory.mktemp("snmpd"), free_port(kind=socket.SOCK_DGRAM),
                      users=(USER,))
    agent.set_interfaces(switch_ports(30))
    agent.set_uptime(1_000_000)
    agent.start()
    yield agent
    agent.stop()


@pytest.fixture
async def env() -> AsyncIterator[CheckEnv]:
    async with check_env(FakeClock(), "paris") as env:
        yield env


async def v2c_session(env: CheckEnv, port: int, community: str = "public",
                      timeout: float = 2.0, retries: int = 1) -> SnmpSession:
    endpoint = Endpoint("127.0.0.1", port, timeout, retries)
    requester = v2c.V2cRequester(await v2c.shared_client(env), community, endpoint)
    return SnmpSession(requester, endpoint, lambda: 10.0)


async def v3_session(env: CheckEnv, port: int, tmp_path: Path) -> SnmpSession:
    (tmp_path / "auth").write_text(USER.auth_key)
    (tmp_path / "priv").write_text(str(USER.priv_key))
    auth = UsmAuth(user=USER.name, auth_protocol="SHA", priv_protocol="AES",
                   auth_key=SecretRef(file=str(tmp_path / "auth")),
                   priv_key=SecretRef(file=str(tmp_path / "priv")))
    data, key = await engine.credentials(auth)
    shared = await engine.shared_engine(env, key)
    endpoint = Endpoint("127.0.0.1", port, 2.0, 1)
    requester = engine.PysnmpRequester(shared, data, await engine.make_target(endpoint),
                                       endpoint, auth)
    return SnmpSession(requester, endpoint, lambda: 10.0)


async def test_v2c_walk_matches_pysnmps_v3_walk(agent: SnmpAgent, env: CheckEnv,
                                               tmp_path: Path) -> None:
    ports = [replace(port, in_octets=2**40 + port.index, oper=2 if port.index % 7 else 1)
             for port in switch_ports(30)]
    agent.set_interfaces(ports)
    columns = sorted({*interfaces.COLUMNS, *rate.COLUMNS})
    ours = await (await v2c_session(env, agent.port)).walk(columns)
    theirs = await (await v3_session(env, agent.port, tmp_path)).walk(columns)
    assert ours == theirs
    assert len(ours[oids.IF_NAME]) == 30
    assert ours[oids.IF_NAME]["12"] == "ge-0/0/11"


async def test_value_types(agent: SnmpAgent, env: CheckEnv) -> None:
    values = {f"{ENTERPRISE}.5.{n}.0": kv for n, kv in enumerate([
        ("counter", 2**32 - 1), ("counter64", 2**64 - 1), ("gauge", 4_000_000_000),
        ("timeticks", 123456), ("integer", -5), ("string", "rack 4, row B"),
        ("ipaddress", "192.0.2.9"), ("objectid", ".1.3.6.1.4.1.99999.77"),
    ])}
    for oid, (kind, value) in values.items():
        agent.set(oid, kind, value)
    missing = f"{ENTERPRISE}.5.99.0"
    session = await v2c_session(env, agent.port)
    found = await session.get([*values, missing])
    assert [found[oid.lstrip(".")] for oid in values] == [
        2**32 - 1, 2**64 - 1, 4_000_000_000, 123456, -5, "rack 4, row B", "192.0.2.9",
        "1.3.6.1.4.1.99999.77"]
    assert found[missing.lstrip(".")] is Absent.NO_SUCH_INSTANCE
    walked = await session.walk([f"{ENTERPRISE}.5"])
    assert walked[f"{ENTERPRISE}.5"]["0.0"] == 2**32 - 1
    assert session.requests == 2


# -- a hostile peer -----------------------------------------------------------------------

Answer = Callable[[bytes], list[bytes]]


def request_id(query: bytes) -> int:
    message, _ = decoder.decode(query, asn1Spec=V2C.Message())
    return int(V2C.apiPDU.get_request_id(V2C.apiMessage.get_pdu(message)))


def valid(query: bytes, community: bytes = b"public", shift: int = 0) -> bytes:
    return pysnmp_response(request_id(query) + shift,
                           [((1, 3, 6, 1, 2, 1, 1, 3, 0), rfc1902.TimeTicks(4200))], community)


HOSTILE: dict[str, Answer] = {
    "garbage": lambda q: [b"\x00\xffnot snmp at all"],
    "huge": lambda q: [b"\x30\x84\x00\x00\xff\xf0" + b"\x02" * 65_000],
    "truncated": lambda q: [valid(q)[:-3]],
    "wrong-community": lambda q: [valid(q, b"private")],
    "wrong-request-id": lambda q: [valid(q, shift=1)],
    "snmpv1": lambda q: [valid(q).replace(b"\x02\x01\x01", b"\x02\x01\x00", 1)],
}


class Peer(asyncio.DatagramProtocol):
    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        for reply in self.answer(data):
            self.transport.sendto(reply, addr)


async def serve(answer: Answer) -> tuple[asyncio.DatagramTransport, int]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: Peer(answer),
                                                       local_addr=("127.0.0.1", 0))
    return transport, transport.get_extra_info("sockname")[1]


@pytest.mark.parametrize("kind", sorted(HOSTILE))
async def test_hostile_replies_are_ignored_and_told(env: CheckEnv, kind: str) -> None:
    transport, port = await serve(HOSTILE[kind])
    try:
        session = await v2c_session(env, port, timeout=0.2, retries=1)
        with pytest.raises(ProbeFailure) as failure:
            await session.get([oids.SYS_UPTIME])
    finally:
        transport.close()
    # The peer answers the SNMPv3 probe with garbage too: still a timeout, not "alive".
    assert failure.value.phase is Phase.TIMEOUT
    assert f"no response from 127.0.0.1:{port} (2 × 200ms; " in failure.value.summary
    assert "malformed or unmatched replies ignored" in failure.value.summary


async def test_a_valid_answer_after_garbage_is_taken(env: CheckEnv) -> None:
    transport, port = await serve(lambda q: [b"junk", valid(q, b"private"), valid(q)])
    try:
        session = await v2c_session(env, port, timeout=1.0, retries=0)
        assert await session.get([oids.SYS_UPTIME]) == {oids.SYS_UPTIME: 4200}
    finally:
        transport.close()


async def test_an_answer_from_another_port_is_ignored(env: CheckEnv) -> None:
    loop = asyncio.get_running_loop()
    other, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol,
                                                   local_addr=("127.0.0.1", 0))

    def elsewhere(query: bytes) -> list[bytes]:
        client = v2c_client(env)
        source = next(iter(client._transports.values())).get_extra_info("sockname")
        other.sendto(valid(query), source)
        return []

    transport, port = await serve(elsewhere)
    try:
        session = await v2c_session(env, port, timeout=0.2, retries=0)
        with pytest.raises(ProbeFailure) as failure:
            await session.get([oids.SYS_UPTIME])
    finally:
        transport.close()
        other.close()
    assert failure.value.phase is Phase.TIMEOUT


def v2c_client(env: CheckEnv) -> v2c.V2cClient:
    client = env._resources[v2c.RESOURCE]
    assert isinstance(client, v2c.V2cClient)
    return client


async def test_error_status_names_the_oid(env: CheckEnv) -> None:
    def denied(query: bytes) -> list[bytes]:
        return [pysnmp_response(request_id(query), [((1, 3, 6, 1, 2, 1, 1, 3, 0),
                                                     rfc1902.Null())], status=6, index=1)]

    transport, port = await serve(denied)
    try:
        session = await v2c_session(env, port, timeout=1.0, retries=0)
        with pytest.raises(ProbeFailure) as failure:
            await session.get([oids.SYS_UPTIME])
    finally:
        transport.close()
    assert failure.value.phase is Phase.AUTH
    assert "access denied on 1.3.6.1.2.1.1.3.0 (noAccess)" in failure.value.summary


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_concurrent_first_requests_share_one_socket(agent: SnmpAgent) -> None:
    client = v2c.V2cClient()
    before = open_fds()
    endpoint = Endpoint("127.0.0.1", agent.port, 2.0, 1)
    sessions = [SnmpSession(v2c.V2cRequester(client, "public", endpoint), endpoint,
                            lambda: 10.0) for _ in range(5)]
    found = await asyncio.gather(*(s.get([oids.SYS_UPTIME]) for s in sessions))
    assert all(oids.SYS_UPTIME in f for f in found)
    during = open_fds() - before
    client.close()
    for _ in range(3):  # a closed transport lets its socket go on the next loop turns
        await asyncio.sleep(0)
    assert (during, open_fds()) == (1, before)
