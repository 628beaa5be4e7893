"""The UDP socket and pysnmp notification receiver behind the trap receiver.

The socket is bound here, synchronously, so a port that is taken or privileged fails at
start-up with a clear error (pysnmp's own server mode binds in a background future whose
error nobody sees). Datagrams are screened before pysnmp parses them: oversized ones and
those beyond the rate limit are dropped and counted, so a flood costs little CPU.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from pyasn1.type import univ
from pysnmp.carrier.asyncio.dgram import udp, udp6
from pysnmp.entity import config as snmp_config
from pysnmp.entity.engine import SnmpEngine
from pysnmp.entity.rfc3413 import ntfrcv
from pysnmp.proto import errind
from pysnmp.proto.api import v2c

from monitord.clock import Clock
from monitord.snmp.engine import AUTH_PROTOCOLS, PRIV_PROTOCOLS, attach, convert
from monitord.snmp.oids import SNMP_TRAP_OID
from monitord.snmp.trap_config import SnmpTrapsConfig
from monitord.snmp.trapmap import Trap
from monitord.snmp.values import Value

_VERSIONS = {0: "1", 1: "2c", 3: "3"}
_HANDSHAKE = (errind.UnknownEngineID, errind.NotInTimeWindow)
MAX_VARBINDS = 64  # kept per trap; the rest are not needed to understand it


class TrapListenError(Exception):
    """The receiver cannot start: address in use, privileged port, unusable credentials."""


class Counters:
    def __init__(self) -> None:
        self.received = 0
        self.oversized = 0
        self.rate_limited = 0
        self.rejected = 0  # wrong community, unknown user, bad digest
        self.malformed = 0


class TokenBucket:
    """``rate`` events a second on average, bursts up to ``rate``."""

    def __init__(self, rate: float, monotonic: Callable[[], float]) -> None:
        self.rate = rate
        self.tokens = rate
        self.monotonic = monotonic
        self.last = monotonic()

    def take(self) -> bool:
        now = self.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def _screening(base: type[Any]) -> type[Any]:
    class Screened(base):  # type: ignore[misc]
        def __init__(self, max_size: int, bucket: TokenBucket, counters: Counters) -> None:
            super().__init__()
            self.max_size = max_size
            self.bucket = bucket
            self.counters = counters

        def datagram_received(self, datagram: bytes, address: Any) -> None:
            if len(datagram) > self.max_size:
                self.counters.oversized += 1
            elif not self.bucket.take():
                self.counters.rate_limited += 1
            else:
                super().datagram_received(datagram, address)

    return Screened


_SCREENED_UDP = _screening(udp.UdpAsyncioTransport)
_SCREENED_UDP6 = _screening(udp6.Udp6AsyncioTransport)


class Listener:
    """Receives notifications on ``config.listen`` and hands each one to ``on_trap``."""

    def __init__(self, config: SnmpTrapsConfig, clock: Clock,
                 on_trap: Callable[[Trap], None],
                 on_rejected: Callable[[str], None]) -> None:
        self.config = config
        self.on_trap = on_trap
        self.on_rejected = on_rejected
        self.counters = Counters()
        self.bucket = TokenBucket(config.max_rate, clock.monotonic)
        self.engine: SnmpEngine | None = None
        self.transport: Any = None
        self.address: tuple[str, int] | None = None

    async def open(self) -> None:
        listen = self.config.listen
        v6 = ":" in listen.host
        sock = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((listen.host, listen.port))
        except OSError as exc:
            sock.close()
            hint = " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" \
                if exc.errno == 13 else ""
            raise TrapListenError(f"cannot listen for SNMP traps on {listen}: "
                                  f"{exc.strerror or exc}{hint}") from None
        self.address = sock.getsockname()[:2]
        engine = SnmpEngine()
        try:
            self._credentials(engine)
        except Exception as exc:  # unreadable secrets; pysnmp raises plain errors on bad keys
            sock.close()
            engine.close_dispatcher()
            if isinstance(exc, OSError):
                reason = exc.strerror or str(exc)
            elif isinstance(exc, KeyError):
                reason = f"environment variable {exc} is not set"
            else:
                reason = str(exc)
            raise TrapListenError(f"cannot use the SNMP trap credentials: {reason}") from None
        transport = (_SCREENED_UDP6 if v6 else _SCREENED_UDP)(
            self.config.max_packet_size, self.bucket, self.counters)
        await attach(engine, udp6.DOMAIN_NAME if v6 else udp.DOMAIN_NAME, transport, sock)
        engine.observer.register_observer(
            self._rejected, "rfc2576.prepareDataElements:sm-failure",
            "rfc3412.prepareDataElements:sm-failure")
        ntfrcv.NotificationReceiver(engine, self._received)
        self.engine, self.transport = engine, transport

    def _credentials(self, engine: SnmpEngine) -> None:
        if self.config.communities is not None:
            text = self.config.communities.read()
            separators = text.replace(",", "\n").split()
            for number, community in enumerate(dict.fromkeys(separators)):
                snmp_config.add_v1_system(engine, f"trap-community-{number}", community)
        for user in self.config.users:
            auth_key = user.auth_key.read() if user.auth_key else None
            priv_key = user.priv_key.read() if user.priv_key else None
            options: dict[str, Any] = {}
            if auth_key is not None:
                options["authProtocol"] = AUTH_PROTOCOLS[user.auth_protocol]
                options["authKey"] = auth_key
            if priv_key is not None:
                options["privProtocol"] = PRIV_PROTOCOLS[user.priv_protocol]
                options["privKey"] = priv_key
            snmp_config.add_v3_user(engine, user.name, **options)  # informs
            for engine_id in user.engine_ids:  # traps: keyed by the sender's engine id
                snmp_config.add_v3_user(engine, user.name, securityEngineId=v2c.OctetString(
                    hexValue=engine_id), **options)

    def _received(self, engine: SnmpEngine, state: Any, context_engine_id: Any,
                  context_name: Any, varbinds: Any, cb_ctx: Any) -> None:
        self.counters.received += 1
        try:
            trap = self._trap(engine, varbinds)
        except Exception:  # called from pysnmp's datagram handling: never raise there
            self.counters.malformed += 1
            return
        self.on_trap(trap)

    def _trap(self, engine: SnmpEngine, varbinds: Any) -> Trap:
        context = engine.observer.get_execution_context("rfc3412.receiveMessage:request")
        sender = str(context["transportAddress"][0])
        pdu = context.get("pdu")
        inform = pdu is not None and pdu.tagSet == v2c.InformRequestPDU.tagSet
        values: list[tuple[str, Value]] = []
        trap_oid = ""
        for name, value in varbinds:
            oid = ".".join(map(str, name.asTuple()))
            if oid == SNMP_TRAP_OID and isinstance(value, univ.ObjectIdentifier):
                trap_oid = ".".join(map(str, value.asTuple()))
            elif len(values) < MAX_VARBINDS:
                values.append((oid, convert(value)))
        version = _VERSIONS.get(int(context.get("messageProcessingModel", 1)), "?")
        return Trap(sender, trap_oid, tuple(values), version, inform)

    def _rejected(self, engine: SnmpEngine, point: str, variables: Any, cb_ctx: Any) -> None:
        status = variables.get("statusInformation") or {}
        if isinstance(status.get("errorIndication"), _HANDSHAKE):
            return  # SNMPv3 discovery and clock sync of an inform: not a rejection
        self.counters.rejected += 1
        address = variables.get("transportAddress")
        self.on_rejected(str(address[0]) if address else "?")

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close_transport()
        if self.engine is not None:
            self.engine.close_dispatcher()
        self.engine = self.transport = None
