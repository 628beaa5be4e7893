"""SNMPv2c requests over our own UDP socket, encoded and decoded by :mod:`~monitord.snmp.ber`.

One :class:`V2cClient` per check environment multiplexes every community poll over one
socket per address family: requests are matched by request id *and* by the agent's address
and community, so a datagram from anyone else, a stale answer, or bytes that are not a
well-formed Response are dropped (and counted against the agent they came from, which the
timeout message then mentions). At most :data:`MAX_IN_FLIGHT` requests wait for answers at a
time, and the socket's receive buffer is enlarged, so a burst of answers is not lost in the
kernel.

Why not pysnmp: its pyasn1 decoding of a GETBULK response was most of a poll's CPU, and
community authentication is a string compare. SNMPv3 stays with pysnmp.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from monitord.checks._probe import ProbeFailure
from monitord.checks.base import CheckEnv
from monitord.model import Phase
from monitord.snmp import ber
from monitord.snmp.session import MAX_REPETITIONS, NoAnswer, Oid, Reply
from monitord.snmp.values import Endpoint

MAX_IN_FLIGHT = 64  # requests awaiting an answer
RECEIVE_BUFFER = 4 * 1024 * 1024  # bytes asked for; the kernel caps it at net.core.rmem_max
RESOURCE = "snmp.engine"  # the check environment's key for the shared client

Address = tuple[str, int]


@dataclass(slots=True)
class _Pending:
    source: Address
    version: int
    community: bytes
    answer: asyncio.Future[ber.Response | None] = field(repr=False)


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, client: V2cClient) -> None:
        self.client = client

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.client.received(data, (addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:
        pass  # an ICMP error for one datagram: its request times out like a lost one


def _address(endpoint: Endpoint) -> Address:
    """The agent's address as the kernel reports a sender (canonical text)."""
    try:
        return ipaddress.ip_address(endpoint.address).compressed, endpoint.port
    except ValueError:  # a scoped IPv6 address ("fe80::1%eth0"): compared as given
        return endpoint.address, endpoint.port


class V2cClient:
    """Every SNMPv2c request of one check environment, over one socket per family."""

    def __init__(self) -> None:
        self.gate = asyncio.Semaphore(MAX_IN_FLIGHT)
        self.pending: dict[int, _Pending] = {}
        self.rejected: dict[Address, int] = {}  # datagrams dropped, per sender we asked
        self._transports: dict[int, asyncio.DatagramTransport] = {}
        self._opening = asyncio.Lock()
        self._next_id = random.randrange(1, 1 << 30)

    def close(self) -> None:
        for transport in self._transports.values():
            transport.close()
        self._transports.clear()
        for pending in self.pending.values():
            if not pending.answer.done():
                pending.answer.set_result(None)

    def next_id(self) -> int:
        while True:
            self._next_id = self._next_id % ((1 << 31) - 1) + 1
            if self._next_id not in self.pending:
                return self._next_id

    async def _transport(self, family: int) -> asyncio.DatagramTransport:
        transport = self._transports.get(family)
        if transport is not None and not transport.is_closing():
            return transport
        # Creating an endpoint yields: concurrent first callers must wait for the one
        # socket rather than each open their own (all but the last would leak).
        async with self._opening:
            transport = self._transports.get(family)
            if transport is None or transport.is_closing():
                sock = socket.socket(family, socket.SOCK_DGRAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
                loop = asyncio.get_running_loop()
                transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self),
                                                                   sock=sock)
                self._transports[family] = transport
        return transport

    def received(self, data: bytes, source: Address) -> None:
        try:
            version, pos, end = ber.decode_message_head(data)
            if version == ber.VERSION_3:  # the answer to a liveness probe: any will do
                key = ber.decode_v3_message_id(data, pos, end)
                response = None
            elif version == ber.VERSION_2C:
                response = ber.decode_response(data, pos, end)
                key = response.request_id
            else:
                raise ber.BerError(f"SNMP version {version}")
        except (ber.BerError, UnicodeError, IndexError):
            self._reject(source)
            return
        pending = self.pending.get(key)
        if pending is None or pending.source != source or pending.version != version or \
                pending.answer.done() or (response is not None and
                                          response.community != pending.community):
            self._reject(source)
            return
        pending.answer.set_result(response)

    def _reject(self, source: Address) -> None:
        if any(p.source == source for p in self.pending.values()):
            self.rejected[source] = self.rejected.get(source, 0) + 1

    async def exchange(self, endpoint: Endpoint, version: int, community: bytes,
                       message: bytes, request_id: int) -> ber.Response | None:
        """Send ``message`` up to 1 + retries times; the matching answer, or :class:`NoAnswer`."""
        family = socket.AF_INET6 if ":" in endpoint.address else socket.AF_INET
        source = _address(endpoint)
        loop = asyncio.get_running_loop()
        pending = _Pending(source, version, community, loop.create_future())
        async with self.gate:
            transport = await self._transport(family)
            self.pending[request_id] = pending
            heard = self.rejected.get(source, 0)
            try:
                for _ in range(endpoint.retries + 1):
                    try:
                        transport.sendto(message, source)
                    except OSError as exc:
                        raise ProbeFailure(Phase.CONNECT, f"cannot send to {endpoint}: "
                                                          f"{exc.strerror or exc}") from None
                    done, _ = await asyncio.wait((pending.answer,), timeout=endpoint.timeout)
                    if done:
                        return pending.answer.result()
            finally:
                del self.pending[request_id]
                dropped = self.rejected.get(source, 0) - heard
                if not any(p.source == source for p in self.pending.values()):
                    self.rejected.pop(source, None)
        raise NoAnswer(f"; {dropped} malformed or unmatched replies ignored" if dropped > 0
                       else "")


async def shared_client(env: CheckEnv) -> V2cClient:
    async def make() -> V2cClient:
        return V2cClient()

    async def close(client: V2cClient) -> None:
        client.close()

    return await env.resource(RESOURCE, make, close)


class V2cRequester:
    """SNMPv2c requests to one agent with one community."""

    v2c = True

    def __init__(self, client: V2cClient, community: str, endpoint: Endpoint) -> None:
        self.client = client
        self.community = community.encode()
        self.endpoint = endpoint

    async def request(self, oids: Sequence[Oid], *, bulk: bool) -> Reply:
        request_id = self.client.next_id()
        try:
            message = ber.encode_request(self.community, request_id, oids, bulk=bulk,
                                         max_repetitions=MAX_REPETITIONS)
        except ValueError as exc:
            raise ProbeFailure(Phase.INTERNAL, str(exc)) from None
        response = await self.client.exchange(self.endpoint, ber.VERSION_2C, self.community,
                                              message, request_id)
        if response is None:  # the client closed under us (a reload)
            raise NoAnswer()
        if response.error_status:
            return Reply(response.error_name, response.error_index, response.binds)
        return Reply(None, 0, response.binds)

    async def agent_answers(self, wait: float) -> bool:
        message_id = self.client.next_id()
        probe = Endpoint(self.endpoint.address, self.endpoint.port, wait, 0)
        try:
            await self.client.exchange(probe, ber.VERSION_3, b"", ber.encode_discovery(message_id),
                                       message_id)
        except (NoAnswer, ProbeFailure):
            return False
        return True
