"""The SNMP trap receiver: a trap is a hint about the device that sent it.

A trap from a device that an ``snmp`` check polls (matched by the check's ``host``: its
address, or the addresses its name resolves to) asks for an immediate re-poll of that
device's checks, and a trap reporting a problem also becomes a result of those checks (see
:mod:`monitord.snmp.trapmap` for which trap means what). Traps from unknown senders are
counted and logged (at most once a minute per sender, and a few lines a minute in all), never
alerted on. pysnmp is imported by :meth:`TrapReceiver.start`, not before.

Wiring, for the daemon::

    receiver = TrapReceiver(config.snmp_traps, config.local_checks(), daemon.handle_result,
                            daemon.scheduler.poke, env=daemon.env)
    await receiver.start()          # TrapListenError: a clear start-up error
    group.create_task(receiver.serve())
    ...
    await receiver.close()

Error handling: a failing ``on_result`` is logged and the next trap is handled; a full queue
drops traps (counted in :attr:`stats`) rather than growing without bound.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

import structlog

from monitord.checks._net import shared_resolver
from monitord.checks._options import is_ip
from monitord.checks.base import CheckEnv
from monitord.config.schema import CheckConfig
from monitord.model import Phase, Result
from monitord.snmp.spec import SnmpSpec
from monitord.snmp.trap_config import SnmpTrapsConfig
from monitord.snmp.trapmap import Trap, interpret, recipients

if TYPE_CHECKING:
    from monitord.snmp.listener import Listener

log = structlog.get_logger("monitord.traps")

QUEUE_SIZE = 1000
RESOLVE_EVERY = 300.0  # seconds between re-resolutions of check host names
LOG_EVERY = 60.0  # per unknown sender
LOGS_PER_MINUTE = 10  # unknown senders and rejected traps, all together
REMEMBERED_SENDERS = 1024


class _LogGate:
    """Whether a line about ``key`` may be logged now (bounded memory, bounded rate)."""

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self.monotonic = monotonic
        self.last: OrderedDict[str, float] = OrderedDict()
        self.window_start = monotonic()
        self.in_window = 0
        self.suppressed = 0

    def allow(self, key: str) -> bool:
        now = self.monotonic()
        if now - self.window_start >= 60.0:
            self.window_start, self.in_window = now, 0
        seen = self.last.get(key)
        if (seen is not None and now - seen < LOG_EVERY) or self.in_window >= LOGS_PER_MINUTE:
            self.suppressed += 1
            return False
        self.last[key] = now
        self.last.move_to_end(key)
        while len(self.last) > REMEMBERED_SENDERS:
            self.last.popitem(last=False)
        self.in_window += 1
        return True


def normalize(address: str) -> str:
    """One spelling per address (IPv4-mapped IPv6 as IPv4, IPv6 compressed)."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return ip.compressed


class TrapReceiver:
    def __init__(self, config: SnmpTrapsConfig, checks: Sequence[CheckConfig],
                 on_result: Callable[[Result], Awaitable[None]],
                 request_repoll: Callable[[str], object], *, env: CheckEnv) -> None:
        self.config = config
        self.on_result = on_result
        self.request_repoll = request_repoll
        self.env = env
        self.enterprise = {trap.oid: trap for trap in config.traps}
        self._checks: list[CheckConfig] = []
        self._by_address: dict[str, list[CheckConfig]] = {}
        self._resolved_at: float | None = None
        self._queue: asyncio.Queue[Trap] = asyncio.Queue(QUEUE_SIZE)
        self._listener: Listener | None = None
        self._last_repoll: dict[str, float] = {}
        self._gate = _LogGate(env.clock.monotonic)
        self.unknown_senders = 0  # traps from devices no check polls
        self.ignored = 0  # traps of a kind monitord does not interpret
        self.queue_full = 0
        self.results = 0
        self.repolls = 0
        self.set_checks(checks)

    # -- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        """Bind the port and accept traps; raises
        :class:`~monitord.snmp.listener.TrapListenError`."""
        from monitord.snmp.listener import Listener  # imports pysnmp

        await self._resolve()
        listener = Listener(self.config, self.env.clock, self._enqueue, self._rejected)
        await listener.open()
        self._listener = listener
        log.info("snmp_traps_listening", address=f"{self.address[0]}:{self.address[1]}",
                 devices=len(self._by_address))

    async def serve(self) -> None:
        """Handle received traps until cancelled."""
        while True:
            trap = await self._queue.get()
            try:
                await self._handle(trap)
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad trap or listener must not stop the others
                log.exception("snmp_trap_failed", sender=trap.sender, trap=trap.name)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def set_checks(self, checks: Sequence[CheckConfig]) -> None:
        """The checks traps are matched against (after a reload, call :meth:`refresh`)."""
        self._checks = [c for c in checks if isinstance(c.spec, SnmpSpec)]
        self._resolved_at = None
        self._by_address = {}
        for check in self._checks:
            assert isinstance(check.spec, SnmpSpec)
            if is_ip(check.spec.host):
                self._by_address.setdefault(normalize(check.spec.host), []).append(check)

    async def refresh(self) -> None:
        await self._resolve()

    @property
    def address(self) -> tuple[str, int]:
        if self._listener is None or self._listener.address is None:
            raise RuntimeError("the trap receiver is not started")
        return self._listener.address

    @property
    def stats(self) -> dict[str, int]:
        counters = self._listener.counters if self._listener else None
        return {
            "received": counters.received if counters else 0,
            "rejected": counters.rejected if counters else 0,
            "oversized": counters.oversized if counters else 0,
            "rate_limited": counters.rate_limited if counters else 0,
            "malformed": counters.malformed if counters else 0,
            "queue_full": self.queue_full,
            "unknown_senders": self.unknown_senders,
            "ignored": self.ignored,
            "results": self.results,
            "repolls": self.repolls,
            "logs_suppressed": self._gate.suppressed,
        }

    # -- handling ---------------------------------------------------------------------

    def _enqueue(self, trap: Trap) -> None:
        try:
            self._queue.put_nowait(trap)
        except asyncio.QueueFull:
            self.queue_full += 1

    def _rejected(self, sender: str) -> None:
        if self._gate.allow(f"rejected {sender}"):
            log.warning("snmp_trap_rejected", sender=sender,
                        reason="unknown community or SNMPv3 user, or a wrong key")

    async def _handle(self, trap: Trap) -> None:
        sender = normalize(trap.sender)
        checks = self._by_address.get(sender)
        if checks is None and self._stale():
            await self._resolve()
            checks = self._by_address.get(sender)
        if not checks:
            self.unknown_senders += 1
            if self._gate.allow(sender):
                log.warning("snmp_trap_unknown_sender", sender=sender, trap=trap.name,
                            version=trap.version, unknown_senders=self.unknown_senders)
            return
        hint = interpret(trap, self.enterprise)
        if hint is None:
            self.ignored += 1
            log.debug("snmp_trap_ignored", sender=sender, trap=trap.name)
            return
        targets = recipients(hint, checks)
        log.info("snmp_trap", sender=sender, trap=hint.trap, summary=hint.summary,
                 checks=[c.name for c in checks], results=[c.name for c in targets])
        now = self.env.clock.now()
        for check in targets:
            assert hint.status is not None  # recipients() is empty for re-poll-only hints
            self.results += 1
            await self.on_result(Result(
                check=check.name, type=check.type, location=self.env.location,
                status=hint.status, phase=Phase.SNMP, summary=hint.summary,
                metrics={}, started_at=now, duration=0.0,
            ))
        moment = self.env.clock.monotonic()
        for check in checks:
            last = self._last_repoll.get(check.name)
            if last is None or moment - last >= self.config.repoll_interval:
                self._last_repoll[check.name] = moment
                self.repolls += 1
                self.request_repoll(check.name)

    def _stale(self) -> bool:
        has_names = any(not is_ip(c.spec.host) for c in self._checks
                        if isinstance(c.spec, SnmpSpec))
        return has_names and (self._resolved_at is None
                              or self.env.clock.monotonic() - self._resolved_at >= RESOLVE_EVERY)

    async def _resolve(self) -> None:
        """Map every check's host (address, or the addresses of its name) to the check."""
        by_address: dict[str, list[CheckConfig]] = {}
        resolver = None
        for check in self._checks:
            assert isinstance(check.spec, SnmpSpec)
            host = check.spec.host
            addresses = [host]
            if not is_ip(host):
                resolver = resolver or await shared_resolver(self.env)
                try:
                    found = await resolver.resolve(host, 0, family=socket.AF_UNSPEC)
                except OSError as exc:
                    log.warning("snmp_trap_host_unresolved", check=check.name, host=host,
                                error=str(exc))
                    found = []
                addresses = [str(entry["host"]) for entry in found]
            for address in dict.fromkeys(normalize(a) for a in addresses):
                by_address.setdefault(address, []).append(check)
        self._by_address = by_address
        self._resolved_at = self.env.clock.monotonic()

