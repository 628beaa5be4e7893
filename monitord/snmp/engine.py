"""SNMPv3 requests through pysnmp's asyncio API (its security processing), and the pysnmp
pieces the trap listener shares.

One :class:`SnmpEngine` is shared per credential set through ``CheckEnv.resource``: an engine
multiplexes any number of concurrent requests over one UDP socket (requests are matched by
request id), caches each agent's SNMPv3 engine id after discovery, and its target cache grows
only with the number of configured targets. SNMPv3 users are kept per engine by user name,
so two credential sets with the same user name but other keys get separate engines (sharing
one would make pysnmp replace the user's keys while the other's requests are in flight).

SNMPv2c polls do not come here (see :mod:`~monitord.snmp.v2c`): pyasn1's decoding of a
response is most of what a poll costs, and community authentication needs none of pysnmp.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pyasn1.type import univ
from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config as snmp_config
from pysnmp.error import PySnmpError
from pysnmp.hlapi.v3arch.asyncio import (
    USM_AUTH_HMAC96_MD5,
    USM_AUTH_HMAC96_SHA,
    USM_AUTH_HMAC128_SHA224,
    USM_AUTH_HMAC192_SHA256,
    USM_AUTH_HMAC256_SHA384,
    USM_AUTH_HMAC384_SHA512,
    USM_PRIV_CBC56_DES,
    USM_PRIV_CFB128_AES,
    USM_PRIV_CFB192_AES,
    USM_PRIV_CFB192_AES_BLUMENTHAL,
    USM_PRIV_CFB256_AES,
    USM_PRIV_CFB256_AES_BLUMENTHAL,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    Udp6TransportTarget,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    get_cmd,
)
from pysnmp.proto import errind, rfc1902, rfc1905

from monitord.checks._probe import ProbeFailure
from monitord.checks.base import CheckEnv
from monitord.model import Phase
from monitord.snmp.oids import SYS_UPTIME
from monitord.snmp.session import MAX_REPETITIONS, NoAnswer, Oid, Reply, read_secret_for
from monitord.snmp.spec import UsmAuth
from monitord.snmp.values import Absent, Endpoint, Value

AUTH_PROTOCOLS = {
    "MD5": USM_AUTH_HMAC96_MD5, "SHA": USM_AUTH_HMAC96_SHA,
    "SHA-224": USM_AUTH_HMAC128_SHA224, "SHA-256": USM_AUTH_HMAC192_SHA256,
    "SHA-384": USM_AUTH_HMAC256_SHA384, "SHA-512": USM_AUTH_HMAC384_SHA512,
}
# net-snmp's names: AES-192/AES-256 extend the key as draft-blumenthal-aes-usm does,
# AES-192-C/AES-256-C as Cisco devices do (pysnmp calls the latter "Reeder").
PRIV_PROTOCOLS = {
    "DES": USM_PRIV_CBC56_DES, "AES": USM_PRIV_CFB128_AES,
    "AES-192": USM_PRIV_CFB192_AES_BLUMENTHAL, "AES-256": USM_PRIV_CFB256_AES_BLUMENTHAL,
    "AES-192-C": USM_PRIV_CFB192_AES, "AES-256-C": USM_PRIV_CFB256_AES,
}

MAX_IN_FLIGHT = 64  # requests awaiting an answer, per engine
RECEIVE_BUFFER = 4 * 1024 * 1024  # bytes asked for; the kernel caps it at net.core.rmem_max
PROBE_USER = "monitord-probe"  # an unknown SNMPv3 user: any agent that speaks v3 says so

_AUTH_FAILURES: dict[type[errind.ErrorIndication], str] = {
    errind.WrongDigest: "wrong digest: the authentication key or protocol is wrong",
    errind.UnknownUserName: "the agent has no SNMPv3 user {user}",
    errind.UnsupportedSecurityLevel: "the agent does not allow {level} for user {user}",
    errind.DecryptionError: "the agent could not decrypt the request: the privacy key or "
                            "protocol is wrong",
    errind.AuthenticationFailure: "authentication failed",
    errind.AuthenticationError: "authentication failed",
    errind.NotInTimeWindow: "the agent keeps rejecting the request as outside its time window",
    errind.UnknownSecurityName: "the agent does not know the security name",
    errind.UnknownCommunityName: "the agent does not know the community",
}


async def credentials(auth: UsmAuth) -> tuple[UsmUserData, str]:
    """pysnmp auth data and the key of the engine that may use it; secrets are read now."""
    auth_key = await read_secret_for(auth.auth_key, "auth key") if auth.auth_key else None
    priv_key = await read_secret_for(auth.priv_key, "priv key") if auth.priv_key else None
    options: dict[str, Any] = {}
    if auth_key is not None:
        options["authProtocol"] = AUTH_PROTOCOLS[auth.auth_protocol]
    if priv_key is not None:
        options["privProtocol"] = PRIV_PROTOCOLS[auth.priv_protocol]
    data = UsmUserData(auth.user, auth_key, priv_key, **options)
    digest = hashlib.sha256(repr((auth.user, auth.auth_protocol, auth_key, auth.priv_protocol,
                                  priv_key)).encode()).hexdigest()[:16]
    return data, f"snmp.engine.v3.{digest}"


@dataclass(frozen=True, slots=True)
class SharedEngine:
    """An engine and the gate that bounds its requests in flight.

    Every answer lands on the engine's one socket; when more arrive at once than the loop
    decodes (pyasn1 decoding is most of a poll's CPU), the kernel's receive buffer fills and
    answers are lost as timeouts. So the buffer is enlarged and at most
    :data:`MAX_IN_FLIGHT` requests wait for answers at a time.
    """

    engine: SnmpEngine
    gate: asyncio.Semaphore


async def shared_engine(env: CheckEnv, key: str) -> SharedEngine:
    async def make() -> SharedEngine:
        engine = SnmpEngine()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        await attach(engine, udp.DOMAIN_NAME, udp.UdpAsyncioTransport(), sock)
        return SharedEngine(engine, asyncio.Semaphore(MAX_IN_FLIGHT))

    async def close(shared: SharedEngine) -> None:
        shared.engine.close_dispatcher()

    return await env.resource(key, make, close)


async def attach(engine: SnmpEngine, domain: tuple[int, ...], transport: Any,
                 sock: socket.socket) -> None:
    """Serve ``engine`` through ``sock`` (created by us: bound, sized and checked now)."""
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(lambda: transport, sock=sock)
    snmp_config.add_transport(engine, domain, transport)


async def make_target(endpoint: Endpoint) -> Any:
    cls = Udp6TransportTarget if ":" in endpoint.address else UdpTransportTarget
    return await cls.create((endpoint.address, endpoint.port), timeout=endpoint.timeout,
                            retries=endpoint.retries)


def convert(value: Any) -> Value:
    """A pysnmp value as int, str or :class:`Absent` (pyasn1 base types included, as
    notifications carry them); never raises on what a hostile peer can send."""
    if isinstance(value, rfc1905.NoSuchObject):
        return Absent.NO_SUCH_OBJECT
    if isinstance(value, rfc1905.NoSuchInstance):
        return Absent.NO_SUCH_INSTANCE
    if isinstance(value, rfc1905.EndOfMibView):
        return Absent.END_OF_MIB_VIEW
    if isinstance(value, rfc1902.IpAddress):
        return ".".join(str(b) for b in value.asOctets())
    if isinstance(value, univ.OctetString):
        octets: bytes = value.asOctets()
        return octets.rstrip(b"\0").decode("utf-8", "replace")
    if isinstance(value, univ.ObjectIdentifier):
        return ".".join(str(part) for part in value.asTuple())
    if isinstance(value, univ.Integer):
        return int(value)
    if isinstance(value, univ.Null):
        return Absent.NO_SUCH_INSTANCE
    try:
        return str(value.prettyPrint())
    except Exception:  # an exotic or broken value: keep its place, not its content
        return "?"




class PysnmpRequester:
    """SNMPv3 requests to one agent through a shared pysnmp engine."""

    v2c = False

    def __init__(self, shared: SharedEngine, auth: UsmUserData, target: Any, endpoint: Endpoint,
                 spec_auth: UsmAuth) -> None:
        self.engine = shared.engine
        self.gate = shared.gate
        self.auth = auth
        self.target = target
        self.endpoint = endpoint
        self.spec_auth = spec_auth

    async def request(self, oids: Sequence[Oid], *, bulk: bool) -> Reply:
        binds = [ObjectType(ObjectIdentity(oid)) for oid in oids]
        if bulk:
            call = bulk_cmd(self.engine, self.auth, self.target, ContextData(), 0,
                            MAX_REPETITIONS, *binds, lookupMib=False)
        else:
            call = get_cmd(self.engine, self.auth, self.target, ContextData(), *binds,
                           lookupMib=False)
        try:
            async with self.gate:
                indication, status, index, found = await call
        except PySnmpError as exc:
            raise ProbeFailure(Phase.CONNECT, f"cannot send to {self.endpoint}: {exc}") from None
        if indication:
            if isinstance(indication, errind.RequestTimedOut):
                raise NoAnswer()
            raise self._rejected(indication)
        values = [(tuple(name.asTuple()), convert(value)) for name, value in found]
        if status:
            name = status.prettyPrint() if hasattr(status, "prettyPrint") else str(status)
            return Reply(name, int(index or 0), values)
        return Reply(None, 0, values)

    def _rejected(self, indication: errind.ErrorIndication) -> ProbeFailure:
        user, level = repr(self.spec_auth.user), self.spec_auth.level
        for kind, text in _AUTH_FAILURES.items():
            if isinstance(indication, kind):
                return ProbeFailure(Phase.AUTH, f"{self.endpoint}: " +
                                    text.format(user=user, level=level))
        return ProbeFailure(Phase.RESPONSE, f"{self.endpoint}: {indication}")

    async def agent_answers(self, wait: float) -> bool:
        probe_target = await make_target(Endpoint(self.endpoint.address, self.endpoint.port,
                                                  wait, 0))
        try:
            async with self.gate:
                indication, _, _, _ = await get_cmd(
                    self.engine, UsmUserData(PROBE_USER), probe_target, ContextData(),
                    ObjectType(ObjectIdentity(SYS_UPTIME)), lookupMib=False,
                )
        except PySnmpError:
            return False
        return not isinstance(indication, errind.RequestTimedOut)
