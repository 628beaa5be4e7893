"""The central daemon's side of probe agents: tokens, assignments, result batches, silence.

Batches are numbered per agent; the highest accepted number (the high-water mark) is kept in
the state database, so a batch re-sent after a lost answer, a replay, or a restart of either
side is acknowledged again and never counted twice. Decoding and validation run on a worker
thread, one batch at a time (bounded), so a 4 MiB batch never stalls the event loop; the
accepted results reach qualification together and are committed in one transaction.

Error handling: a refused batch (400/403) is logged without secrets and answered; the agent
drops it (it can never be accepted). A store error propagates as a 500: the agent re-sends.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog

from monitord.agent.batch import Decoded, Refused, decode_batch
from monitord.config.agents import AGENT_TYPE, AgentConfig
from monitord.config.secrets import read_secret
from monitord.model import Result, Status
from monitord.qualify.agents import AgentWatch
from monitord.qualify.diagnosis import duration_text
from monitord.store import Store

if TYPE_CHECKING:
    from monitord.clock import Clock
    from monitord.configfile import Config

log = structlog.get_logger("monitord.agents")

Sink = Callable[[Sequence[Result]], Awaitable[None]]
SilentFn = Callable[[frozenset[str], frozenset[str]], Awaitable[None]]

MIGRATIONS = [
    "CREATE TABLE agent_batches (location TEXT PRIMARY KEY, batch INTEGER NOT NULL,"
    " accepted INTEGER NOT NULL, refused INTEGER NOT NULL, dropped INTEGER NOT NULL,"
    " posted_at TEXT NOT NULL)",
]


@dataclass
class AgentCounters:
    """Per agent, since the state database was created: what its batches brought."""

    batch: int = 0  # the high-water mark
    accepted: int = 0
    refused: int = 0  # stamped in the future or beyond the buffer horizon
    dropped: int = 0  # reported by the agent: its buffer overflowed
    duplicates: int = 0  # batches acknowledged again (since start)
    batches: int = 0  # batches accepted (since start)
    batches_refused: int = 0  # batches refused: 400, 403, 408, 413 (since start)
    posted_at: datetime | None = None  # the last accepted batch


@dataclass(frozen=True, slots=True)
class AgentSample:
    """One agent as /metrics shows it (``api.views.AgentSample``)."""

    accepted: int
    refused: int
    dropped: int
    batches: int
    replayed: int
    batches_refused: int
    posted_at: datetime | None
    silent: bool


class Intake:
    def __init__(self, config: Config, clock: Clock, store: Store, sink: Sink,
                 on_silent: SilentFn) -> None:
        self._clock, self._store, self._sink, self._on_silent = clock, store, sink, on_silent
        self._agents: dict[str, AgentConfig] = {}
        self._tokens: list[tuple[bytes, str]] = []
        self._assignments: dict[str, tuple[str, bytes, frozenset[str]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._fresh: dict[str, float] = {}
        self._decode = asyncio.Semaphore(1)
        self._wake = asyncio.Event()
        self.counters: dict[str, AgentCounters] = {}
        self.central = config.monitord.location
        self.watch = AgentWatch({}, clock.now())
        self._config = config
        self._posted: set[str] = set()  # agents that posted since this daemon started

    def _holding(self) -> frozenset[str]:
        return frozenset(a for a in self._agents if a not in self._posted
                         and a not in self.watch.silent)

    async def open(self) -> None:
        await self._store.migrate("agents", MIGRATIONS)
        rows = await self._store.call(lambda c: c.execute(
            "SELECT location, batch, accepted, refused, dropped, posted_at FROM agent_batches"
        ).fetchall())
        for location, batch, accepted, refused, dropped, posted_at in rows:
            self.counters[location] = AgentCounters(
                batch, accepted, refused, dropped, posted_at=datetime.fromisoformat(posted_at))
        await self.reload(self._config)

    async def reload(self, config: Config) -> None:
        """Tokens are read again (rotation), assignments rebuilt; kept on a read error."""
        tokens: list[tuple[bytes, str]] = []
        for agent in config.agents:
            try:
                token = await read_secret(agent.token)
            except (OSError, KeyError, UnicodeDecodeError):
                log.error("agent_token_unreadable", location=agent.location,
                          source=agent.token.describe())
                continue
            tokens.append((_digest(token), agent.location))
        self._config = config
        self._agents = {a.location: a for a in config.agents}
        self._tokens = tokens
        self._assignments = {a.location: _assignment(config, a.location) for a in config.agents}
        # Results older than 3 x the shortest interval are stale (qualify.settings).
        self._fresh = {a.location: 3 * min((c.interval for c in config.assignment(a.location)),
                                           default=0.0) for a in config.agents}
        for location in self._agents:
            self.counters.setdefault(location, AgentCounters())
            self._locks.setdefault(location, asyncio.Lock())
        self.watch.configure({a.location: a.silent_after for a in config.agents},
                             self._clock.now())
        self._wake.set()

    # -- the API's view ------------------------------------------------------------------

    def location_for(self, token: str) -> str | None:
        given = _digest(token)
        found = None
        for digest, location in self._tokens:  # every token compared: constant time
            if hmac.compare_digest(given, digest) and token:
                found = location
        return found

    def assignment(self, location: str) -> tuple[str, bytes]:
        etag, body, _ = self._assignments[location]
        return etag, body

    async def post_results(self, location: str, body: bytes) -> tuple[int, dict[str, object]]:
        agent = self._agents.get(location)
        if agent is None:  # removed by a reload while the request was in flight
            return 403, {"error": "no such agent"}
        async with self._locks[location]:
            try:
                async with self._decode:
                    decoded = await asyncio.to_thread(
                        decode_batch, body, location, self._assignments[location][2],
                        self._clock.now(), agent.buffer_horizon)
            except Refused as exc:
                log.warning("agent_results_refused", location=location, status=exc.status,
                            reason=exc.reason)
                self.refused(location)
                return exc.status, {"error": exc.reason}
            return await self._take(location, decoded)

    def refused(self, location: str) -> None:
        """Count a batch refused as a whole (also by the API: too large, too slow)."""
        counters = self.counters.get(location)
        if counters is not None:
            counters.batches_refused += 1

    def samples(self) -> dict[str, AgentSample]:
        """Each configured agent's counters, for /metrics."""
        silent = self.watch.silent
        return {loc: AgentSample(c.accepted, c.refused, c.dropped, c.batches, c.duplicates,
                                 c.batches_refused, c.posted_at, loc in silent)
                for loc, c in sorted(self.counters.items()) if loc in self._agents}

    async def _take(self, location: str, decoded: Decoded) -> tuple[int, dict[str, object]]:
        counters = self.counters[location]
        if decoded.batch <= counters.batch:
            # Alive, but a replay says nothing of now: its last state keeps holding.
            await self._seen(location, caught_up=False)
            counters.duplicates += 1
            log.info("agent_batch_replayed", location=location, batch=decoded.batch,
                     accepted_up_to=counters.batch)
            return 200, {"batch": decoded.batch, "duplicate": True}
        await self._sink(decoded.results)
        # After its results (they decide, not their absence); the agent has caught up once
        # its newest result is fresh: until then its last state holds (see qualify.quorum).
        newest = max((r.at for r in decoded.results), default=None)
        fresh = self._fresh.get(location, 0.0)
        caught_up = newest is not None and (self._clock.now() - newest).total_seconds() < fresh
        await self._seen(location, caught_up=caught_up or not fresh)
        refused = decoded.future + decoded.too_old
        counters.batch = decoded.batch
        counters.accepted += len(decoded.results)
        counters.refused += refused
        counters.dropped += decoded.dropped
        counters.batches += 1
        counters.posted_at = self._clock.now()
        await self._store.call(lambda c: _save(c, location, counters, self._clock.now()))
        if refused or decoded.dropped:
            log.warning("agent_results_partly_refused", location=location, batch=decoded.batch,
                        future=decoded.future, too_old=decoded.too_old,
                        dropped_by_agent=decoded.dropped)
        return 200, {"batch": decoded.batch, "accepted": len(decoded.results),
                     "refused": {"future": decoded.future, "too_old": decoded.too_old}}

    # -- silence -------------------------------------------------------------------------

    async def _seen(self, location: str, caught_up: bool) -> None:
        now = self._clock.now()
        was_silent = self.watch.seen(location, now)
        first = caught_up and location not in self._posted
        if caught_up:
            self._posted.add(location)
        if was_silent:
            log.info("agent_back", location=location)
        if was_silent or first:  # the first post since the start closes an incident left open
            await self._on_silent(self.watch.silent, self._holding())
            await self._sink([self._agent_result(location, Status.OK,
                                                 f"agent at {location} posts results", now)])

    async def watch_silence(self) -> None:
        """Until cancelled: turn an agent's silence into a result of ``agent:LOCATION``."""
        while True:
            now = self._clock.now()
            for location in sorted(self.watch.update(now)):
                after = self._agents[location].silent_after
                summary = (f"no results from the agent at {location} for "
                           f"{duration_text(self.watch.silent_for(location, now))} "
                           f"(silent_after {duration_text(after)}); its results do not count")
                log.warning("agent_silent", location=location, summary=summary)
                await self._on_silent(self.watch.silent, self._holding())
                await self._sink([self._agent_result(location, Status.CRITICAL, summary, now)])
            due = self.watch.next_change(now)
            delay = 60.0 if due is None else min(60.0, (due - now).total_seconds() + 0.05)
            self._wake.clear()
            await self._clock.wait_until(self._clock.monotonic() + max(0.0, delay), self._wake)

    def _agent_result(self, location: str, status: Status, summary: str,
                      now: datetime) -> Result:
        return Result(check=f"agent:{location}", type=AGENT_TYPE, location=self.central,
                      status=status, phase=None, summary=summary, metrics={},
                      started_at=now, duration=0.0)


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).digest()


def _assignment(config: Config, location: str) -> tuple[str, bytes, frozenset[str]]:
    """ETag, body and check names; the version is a digest of the checks shipped."""
    checks = config.assignment(location)
    shipped: list[dict[str, Any]] = [dict(c.source) for c in checks]
    text = json.dumps(shipped, sort_keys=True, default=str)
    version = hashlib.sha256(text.encode()).hexdigest()[:16]
    body = json.dumps({"version": version, "location": location, "checks": shipped},
                      default=str).encode()
    return f'"{version}"', body, frozenset(c.name for c in checks)


def _save(conn: sqlite3.Connection, location: str, c: AgentCounters, now: datetime) -> None:
    conn.execute(
        "INSERT INTO agent_batches(location, batch, accepted, refused, dropped, posted_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(location) DO UPDATE SET batch = excluded.batch,"
        " accepted = excluded.accepted, refused = excluded.refused,"
        " dropped = excluded.dropped, posted_at = excluded.posted_at",
        (location, c.batch, c.accepted, c.refused, c.dropped, now.isoformat()))
