"""The heartbeat board: what each ``heartbeat`` check has heard from its job, kept in SQLite.

The API records pings (success, start, failure) here; the ``heartbeat`` checks read it when
they run. Every change is written through the :class:`~monitord.store.Store` so a restart
remembers a job that pinged fifty minutes ago, a failure it reported, or a start it is still
waiting on.

``first_seen`` is when this state directory first watched the check: the clock of a job that
never pinged starts there, and it survives restarts (a daemon restarted every night still
notices a daily job that never pinged).

Table (component ``heartbeat``): ``heartbeat(check, first_seen, last_ping, last_start,
last_fail, fail_body)``, times as ISO 8601 UTC.
"""

from __future__ import annotations

import asyncio
import enum
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import structlog

from monitord.clock import Clock, StepWatch
from monitord.store import Migration, Store

log = structlog.get_logger("monitord.heartbeat")

COMPONENT = "heartbeat"
RESOURCE = "heartbeats"  # the CheckEnv resource key under which the daemon shares its board
MAX_BODY = 10 * 1024  # characters of a /fail body kept (the API reads at most this many bytes)

MIGRATIONS: list[Migration] = [
    "CREATE TABLE heartbeat ("
    " check_name TEXT PRIMARY KEY,"
    " first_seen TEXT NOT NULL,"
    " last_ping TEXT,"
    " last_start TEXT,"
    " last_fail TEXT,"
    " fail_body TEXT NOT NULL DEFAULT '')",
]


class Signal(str, enum.Enum):
    """What a job can tell: it succeeded (a plain ping), it started, or it failed."""

    PING = "ping"
    START = "start"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Beat:
    """Everything the board knows about one check's job."""

    first_seen: datetime
    last_ping: datetime | None = None
    last_start: datetime | None = None
    last_fail: datetime | None = None
    fail_body: str = ""

    def with_signal(self, signal: Signal, at: datetime, body: str = "") -> Beat:
        if signal is Signal.PING:
            return replace(self, last_ping=at)
        if signal is Signal.START:
            return replace(self, last_start=at)
        return replace(self, last_fail=at, fail_body=body[:MAX_BODY])

    def shifted(self, delta: timedelta) -> Beat:
        """Every instant moved by a step of the wall clock: the ages stay what they were."""
        def move(when: datetime | None) -> datetime | None:
            return when + delta if when is not None else None

        return replace(self, first_seen=self.first_seen + delta, last_ping=move(self.last_ping),
                       last_start=move(self.last_start), last_fail=move(self.last_fail))


# -- persistence: synchronous, so a caller may fold them into a larger transaction ---------


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


def save_beat(conn: sqlite3.Connection, check: str, beat: Beat) -> None:
    conn.execute(
        "INSERT INTO heartbeat(check_name, first_seen, last_ping, last_start, last_fail, "
        "fail_body) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(check_name) DO UPDATE SET "
        "first_seen = excluded.first_seen, last_ping = excluded.last_ping, "
        "last_start = excluded.last_start, last_fail = excluded.last_fail, "
        "fail_body = excluded.fail_body",
        (check, beat.first_seen.isoformat(), _iso(beat.last_ping), _iso(beat.last_start),
         _iso(beat.last_fail), beat.fail_body),
    )


def load_beats(conn: sqlite3.Connection) -> dict[str, Beat]:
    rows = conn.execute(
        "SELECT check_name, first_seen, last_ping, last_start, last_fail, fail_body "
        "FROM heartbeat").fetchall()
    return {
        name: Beat(first_seen=datetime.fromisoformat(first), last_ping=_time(ping),
                   last_start=_time(start), last_fail=_time(fail), fail_body=body)
        for name, first, ping, start, fail, body in rows
    }


class HeartbeatBoard:
    """The in-memory view, written through to the store on every change.

    Error handling: a failing store write is logged and the change is kept in memory (the
    verdict stays right until the next restart); it never fails the ping or the check.
    """

    def __init__(self, clock: Clock, store: Store | None = None,
                 beats: Mapping[str, Beat] | None = None) -> None:
        self.clock = clock
        self.store = store
        self._beats: dict[str, Beat] = dict(beats or {})
        self._steps = StepWatch(clock)
        self.changed = asyncio.Event()  # set on every recorded signal (deadlines move)

    async def absorb_step(self) -> None:
        """A step of the wall clock moves every beat with it: a job that pinged a minute ago
        is not five hours late because the clock jumped five hours forward."""
        step = self._steps.step()
        if not step:
            return
        delta = timedelta(seconds=step)
        log.warning("clock_step", seconds=round(step, 3), component="heartbeat")
        for check, beat in list(self._beats.items()):
            self._beats[check] = beat.shifted(delta)
            await self._persist(check, self._beats[check])

    @classmethod
    async def open(cls, store: Store, clock: Clock) -> HeartbeatBoard:
        """Migrate the table and load what earlier runs recorded."""
        await store.migrate(COMPONENT, MIGRATIONS)
        return cls(clock, store, await store.call(load_beats))

    def get(self, check: str) -> Beat | None:
        return self._beats.get(check)

    async def watch(self, check: str) -> Beat:
        """The check's beat, starting its clock now if the board has never seen it."""
        await self.absorb_step()
        beat = self._beats.get(check)
        if beat is None:
            beat = self._beats[check] = Beat(first_seen=self.clock.now())
            await self._persist(check, beat)
        return beat

    async def record(self, check: str, signal: Signal, body: str = "",
                     at: datetime | None = None) -> Beat:
        """Record what the job said at ``at`` (default: now); returns the new beat."""
        await self.absorb_step()
        now = at or self.clock.now()
        current = self._beats.get(check) or Beat(first_seen=now)
        # Memory first, then the store: the store's single thread applies writes in order,
        # so two pings racing each other still leave the newest full row on disk.
        beat = self._beats[check] = current.with_signal(signal, now, body)
        self.changed.set()
        await self._persist(check, beat)
        return beat

    async def _persist(self, check: str, beat: Beat) -> None:
        if self.store is None:
            return
        try:
            await self.store.call(lambda conn: save_beat(conn, check, beat))
        except sqlite3.Error as exc:
            log.error("heartbeat_persist_failed", check=check, error=str(exc))
