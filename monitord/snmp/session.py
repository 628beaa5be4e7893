"""SNMP GET and table walks through pysnmp's asyncio API, every failure classified.

One :class:`SnmpEngine` is shared per credential set through ``CheckEnv.resource``: an engine
multiplexes any number of concurrent requests over one UDP socket (requests are matched by
request id), caches each agent's SNMPv3 engine id after discovery, and its target cache grows
only with the number of configured targets. SNMPv3 users are kept per engine by user name,
so two credential sets with the same user name but other keys get separate engines (sharing
one would make pysnmp replace the user's keys while the other's requests are in flight).

Failures are named by phase: ``timeout`` (no answer at all), ``auth`` (the agent rejected
the credentials, or is alive but ignores them), ``content`` (the agent has no such object),
``response`` (any other error the agent returned), ``connect`` (the request could not be
sent).
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
from collections.abc import Awaitable, Callable, Sequence
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
    CommunityData,
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
from monitord.config.durations import format_duration
from monitord.config.reader import SecretRef
from monitord.config.secrets import read_secret
from monitord.model import Phase, Status
from monitord.snmp.oids import SYS_UPTIME
from monitord.snmp.spec import CommunityAuth, UsmAuth
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

MAX_REPETITIONS = 25  # rows per GETBULK: 25 x a handful of columns fits one datagram
MAX_ROWS = 20_000  # per column: a hostile or broken agent cannot make a walk endless
MAX_REQUESTS = 2_000
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
_ACCESS_DENIED = {"noAccess", "authorizationError"}


async def credentials(auth: CommunityAuth | UsmAuth,
                      ) -> tuple[CommunityData | UsmUserData, str]:
    """pysnmp auth data and the key of the engine that may use it; secrets are read now."""
    if isinstance(auth, CommunityAuth):
        community = await _read(auth.community, "community")
        return CommunityData(community, mpModel=1), "snmp.engine"
    auth_key = await _read(auth.auth_key, "auth key") if auth.auth_key else None
    priv_key = await _read(auth.priv_key, "priv key") if auth.priv_key else None
    options: dict[str, Any] = {}
    if auth_key is not None:
        options["authProtocol"] = AUTH_PROTOCOLS[auth.auth_protocol]
    if priv_key is not None:
        options["privProtocol"] = PRIV_PROTOCOLS[auth.priv_protocol]
    data = UsmUserData(auth.user, auth_key, priv_key, **options)
    digest = hashlib.sha256(repr((auth.user, auth.auth_protocol, auth_key, auth.priv_protocol,
                                  priv_key)).encode()).hexdigest()[:16]
    return data, f"snmp.engine.v3.{digest}"


async def _read(ref: SecretRef, what: str) -> str:
    try:
        return await read_secret(ref)
    except (OSError, KeyError) as exc:
        reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else "not set"
        raise ProbeFailure(Phase.INTERNAL, f"cannot read the SNMP {what} from "
                                           f"{ref.describe()}: {reason}", Status.UNKNOWN) from None


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


def _oid_tuple(oid: str) -> tuple[int, ...]:
    return tuple(int(part) for part in oid.split("."))


class SnmpSession:
    """Requests to one agent with one set of credentials, for one run of a check."""

    def __init__(self, shared: SharedEngine, auth: CommunityData | UsmUserData, target: Any,
                 endpoint: Endpoint, spec_auth: CommunityAuth | UsmAuth,
                 time_left: Callable[[], float]) -> None:
        self.engine = shared.engine
        self.gate = shared.gate
        self.auth = auth
        self.target = target
        self.endpoint = endpoint
        self.spec_auth = spec_auth
        self.time_left = time_left
        self.requests = 0

    async def get(self, oids: Sequence[str]) -> dict[str, Value]:
        """The values of ``oids`` (exception values included: the caller judges them)."""
        binds = await self._call(get_cmd(
            self.engine, self.auth, self.target, ContextData(),
            *(ObjectType(ObjectIdentity(oid)) for oid in oids), lookupMib=False,
        ))
        return {".".join(map(str, name.asTuple())): convert(value) for name, value in binds}

    async def walk(self, columns: Sequence[str]) -> dict[str, dict[str, Value]]:
        """Every row of each table column, walked side by side with GETBULK.

        Columns of the same table (or of tables sharing an index, like ifTable and ifXTable)
        advance together, so a 48-port switch takes one or two requests instead of one walk
        per column. Each column stops on its own where its subtree ends.
        """
        found: dict[str, dict[str, Value]] = {column: {} for column in columns}
        prefixes = {column: _oid_tuple(column) for column in columns}
        last: dict[str, tuple[int, ...]] = dict(prefixes)
        while last:
            pending = list(last)
            binds = await self._call(bulk_cmd(
                self.engine, self.auth, self.target, ContextData(), 0, MAX_REPETITIONS,
                *(ObjectType(ObjectIdentity(last[c])) for c in pending), lookupMib=False,
            ))
            if not binds:
                raise ProbeFailure(Phase.RESPONSE, "the agent answered a GETBULK with no values")
            for position, (name, value) in enumerate(binds):
                column = pending[position % len(pending)]
                if column not in last:
                    continue  # this column ended earlier in the same response
                oid = name.asTuple()
                prefix = prefixes[column]
                if isinstance(value, rfc1905.EndOfMibView) or oid[: len(prefix)] != prefix:
                    del last[column]
                    continue
                if oid <= last[column]:
                    raise ProbeFailure(Phase.RESPONSE, f"the agent returned OIDs out of order "
                                                       f"while walking {column}")
                last[column] = oid
                rows = found[column]
                rows[".".join(map(str, oid[len(prefix):]))] = convert(value)
                if len(rows) > MAX_ROWS:
                    raise ProbeFailure(Phase.RESPONSE, f"more than {MAX_ROWS} rows in {column}")
            if self.requests > MAX_REQUESTS:
                raise ProbeFailure(Phase.RESPONSE, f"walk needed more than {MAX_REQUESTS} requests")
        return found

    async def _call(self, request: Awaitable[tuple[Any, Any, Any, Any]]) -> Any:
        self.requests += 1
        try:
            async with self.gate:
                indication, status, index, binds = await request
        except PySnmpError as exc:
            raise ProbeFailure(Phase.CONNECT, f"cannot send to {self.endpoint}: {exc}") from None
        if indication:
            if isinstance(indication, errind.RequestTimedOut):
                raise await self._timeout()
            raise self._rejected(indication)
        if status:
            raise self._error_status(status, index, binds)
        return binds

    def _rejected(self, indication: errind.ErrorIndication) -> ProbeFailure:
        auth = self.spec_auth
        user = repr(auth.user) if isinstance(auth, UsmAuth) else "?"
        level = auth.level if isinstance(auth, UsmAuth) else "?"
        for kind, text in _AUTH_FAILURES.items():
            if isinstance(indication, kind):
                return ProbeFailure(Phase.AUTH, f"{self.endpoint}: " +
                                    text.format(user=user, level=level))
        return ProbeFailure(Phase.RESPONSE, f"{self.endpoint}: {indication}")

    def _error_status(self, status: Any, index: Any, binds: Any) -> ProbeFailure:
        name = status.prettyPrint() if hasattr(status, "prettyPrint") else str(status)
        position = int(index) - 1 if index else -1
        oid = ""
        if 0 <= position < len(binds):
            oid = " on " + ".".join(map(str, binds[position][0].asTuple()))
        if name in _ACCESS_DENIED:
            return ProbeFailure(Phase.AUTH, f"{self.endpoint}: access denied{oid} ({name}): "
                                            f"the agent's access rules exclude these credentials")
        if name == "noSuchName":
            return ProbeFailure(Phase.CONTENT, f"{self.endpoint}: no such object{oid}")
        return ProbeFailure(Phase.RESPONSE, f"{self.endpoint}: the agent answered {name}{oid}")

    async def _timeout(self) -> ProbeFailure:
        """No answer: say what can be told apart, and admit what cannot."""
        tries = self.endpoint.retries + 1
        base = (f"no response from {self.endpoint} "
                f"({tries} × {format_duration(self.endpoint.timeout)})")
        alive = await self._agent_answers()
        v2c = isinstance(self.spec_auth, CommunityAuth)
        if alive and v2c:
            return ProbeFailure(Phase.AUTH, f"{base}, yet the agent answers SNMPv3 discovery: "
                                            "the community is probably wrong (or this address "
                                            "may not use it)")
        if alive:
            return ProbeFailure(Phase.AUTH, f"{base}, yet the agent answers SNMPv3 discovery: "
                                            "the privacy key or protocol is probably wrong (an "
                                            "agent drops what it cannot decrypt)")
        if v2c:
            return ProbeFailure(Phase.TIMEOUT, f"{base}: the device is unreachable, does not "
                                               "run SNMP, or the community is wrong (an SNMPv2c "
                                               "agent stays silent on a wrong community)")
        return ProbeFailure(Phase.TIMEOUT, f"{base}: the device is unreachable or does not run "
                                           "SNMP")

    async def _agent_answers(self) -> bool:
        """Whether the agent answers an SNMPv3 request from an unknown user (a Report)."""
        # A live agent answers within milliseconds; few distinct values, as pysnmp caches them.
        wait = round(min(self.endpoint.timeout, 0.5), 2)
        if self.time_left() < wait + 0.05:
            return False
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
