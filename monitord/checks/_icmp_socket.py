"""ICMP echo over one socket per address family, shared by every ``icmp`` check of a daemon.

Opening: an unprivileged ICMP datagram socket (``SOCK_DGRAM``/``IPPROTO_ICMP``) first — Linux
allows it to processes whose group is inside ``net.ipv4.ping_group_range`` (one sysctl for
IPv4 and IPv6; systemd's default sets it to every group). Where the kernel refuses, a raw
socket, which needs ``CAP_NET_RAW``. Neither is tried again until the next run needs one.

Matching: a request carries a 16-bit sequence number unique among those in flight and a
random token in its payload; a reply counts only if its sequence, payload and source address
all match. On a datagram socket the kernel picks the identifier and delivers only our
replies; a raw socket sees every ICMP packet of the host (including our own requests on
loopback), so it also filters on its own identifier and on the reply type.

Written here rather than taken from icmplib: a shared socket demultiplexed in the event loop
(a socket per ping would copy every reply to every raw socket), the injected clock for the
round-trip times, and resolution through the daemon's resolvers need about as much code
around icmplib as the echo protocol itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass

from monitord.checks.base import CheckEnv
from monitord.compat import timeout

ECHO_REQUEST: dict[int, int] = {socket.AF_INET: 8, socket.AF_INET6: 128}
ECHO_REPLY: dict[int, int] = {socket.AF_INET: 0, socket.AF_INET6: 129}
PROTOCOL: dict[int, int] = {socket.AF_INET: socket.IPPROTO_ICMP,
                            socket.AF_INET6: socket.IPPROTO_ICMPV6}
PAYLOAD_SIZE = 56  # ping(8)'s default: 64-byte ICMP packets
_HEADER = struct.Struct("!BBHHH")  # type, code, checksum, identifier, sequence
_RECEIVE_SIZE = 65535


class IcmpUnavailable(Exception):
    """Neither kind of ICMP socket may be opened by this process."""


@dataclass
class _Waiting:
    address: str
    payload: bytes
    reply: asyncio.Future[float]


class Pinger:
    """Sends echo requests on one socket and hands each reply to the request it answers."""

    def __init__(self, family: int, monotonic: Callable[[], float]) -> None:
        self.family = family
        self.sock, self.raw = open_icmp_socket(family)
        self._now = monotonic
        self._ident = int.from_bytes(os.urandom(2), "big")
        self._seq = int.from_bytes(os.urandom(2), "big")
        self._waiting: dict[int, _Waiting] = {}
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.sock.fileno(), self._readable)

    def close(self) -> None:
        self._loop.remove_reader(self.sock.fileno())
        self.sock.close()
        for waiting in self._waiting.values():
            waiting.reply.cancel()
        self._waiting.clear()

    async def ping(self, address: str, wait: float) -> float | None:
        """The round-trip time in seconds of one echo to ``address``, None if lost.

        A send error (no route, network unreachable) is raised as the OSError it is.
        """
        seq = self._next_seq()
        payload = os.urandom(8) + bytes(PAYLOAD_SIZE - 8)
        header = _HEADER.pack(ECHO_REQUEST[self.family], 0, 0, self._ident, seq)
        if self.family == socket.AF_INET:  # the kernel fills in ICMPv6 checksums itself
            header = _HEADER.pack(ECHO_REQUEST[self.family], 0, checksum(header + payload),
                                  self._ident, seq)
        reply: asyncio.Future[float] = self._loop.create_future()
        self._waiting[seq] = _Waiting(_normal(address), payload, reply)
        try:
            sent = self._now()
            # One small datagram: a non-blocking send either goes or fails at once.
            self.sock.sendto(header + payload, (address, 0))
            try:
                async with timeout(wait):
                    received = await reply
            except TimeoutError:
                return None
            return max(0.0, received - sent)
        finally:
            self._waiting.pop(seq, None)

    def _next_seq(self) -> int:
        for _ in range(65536):
            self._seq = (self._seq + 1) & 0xFFFF
            if self._seq not in self._waiting:
                return self._seq
        raise OSError("65536 echo requests in flight")

    def _readable(self) -> None:
        while True:
            try:
                data, source = self.sock.recvfrom(_RECEIVE_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # an error queued for the socket: reported once; wait for more data
                return
            self._received(data, source[0])

    def _received(self, data: bytes, source: str) -> None:
        if self.raw and self.family == socket.AF_INET and data:
            data = data[(data[0] & 0x0F) * 4:]  # raw IPv4 sockets see the IP header
        if len(data) < _HEADER.size:
            return
        kind, _code, _sum, ident, seq = _HEADER.unpack_from(data)
        if kind != ECHO_REPLY[self.family] or (self.raw and ident != self._ident):
            return
        waiting = self._waiting.get(seq)
        if (waiting is None or waiting.reply.done() or _normal(source) != waiting.address
                or data[_HEADER.size:] != waiting.payload):
            return
        waiting.reply.set_result(self._now())


def open_icmp_socket(family: int) -> tuple[socket.socket, bool]:
    """A non-blocking ICMP socket and whether it is raw (see the module docstring)."""
    for kind in (socket.SOCK_DGRAM, socket.SOCK_RAW):
        try:
            sock = socket.socket(family, kind, PROTOCOL[family])
        except PermissionError:
            continue
        sock.setblocking(False)
        return sock, kind == socket.SOCK_RAW
    version = "IPv4" if family == socket.AF_INET else "IPv6"
    raise IcmpUnavailable(
        f"cannot open an {version} ICMP socket: the group {os.getgid()} is outside "
        f"net.ipv4.ping_group_range and the process lacks CAP_NET_RAW",
    )


async def shared_pinger(env: CheckEnv, family: int) -> Pinger:
    """The daemon's pinger for ``family``, opened on first use and closed with the env."""

    async def make() -> Pinger:
        return Pinger(family, env.clock.monotonic)

    async def close(pinger: Pinger) -> None:
        pinger.close()

    return await env.resource(f"icmp.pinger.{family}", make, close)


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _normal(address: str) -> str:
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(address.split("%", 1)[0]))
    return address
