"""The agent's durable result buffer (SQLite in ``state_dir``, through :class:`Store`).

Results are appended in the order they were produced and leave only once the central
daemon has acknowledged the batch that carried them, so a crash or restart of either side
loses nothing and a flush is in order. The batch in flight is recorded with its number before
it is sent: after a crash it is re-sent with the same number, and the central daemon, which
keeps the highest number it accepted, acknowledges it without counting it twice.

The buffer holds at most ``buffer_max`` results; beyond that the oldest are dropped and
counted, and the count travels with the next batch (``dropped``). Batch numbers of a new
buffer start at the current Unix time in milliseconds, so an agent whose ``state_dir`` was
wiped never reuses a number the central daemon already accepted.

Ids are contiguous (rows leave only from the head), so the size is ``max(id) - min(id) + 1``
without counting rows.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from monitord.store import Store

MIGRATIONS = [
    "CREATE TABLE buffered (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);"
    "CREATE TABLE in_flight (batch INTEGER PRIMARY KEY, last_id INTEGER NOT NULL,"
    " dropped INTEGER NOT NULL);"
    "CREATE TABLE agent_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
]


@dataclass(frozen=True, slots=True)
class Outgoing:
    batch: int
    bodies: tuple[str, ...]  # probe --json objects, encoded
    dropped: int


class ResultBuffer:
    def __init__(self, store: Store, buffer_max: int) -> None:
        self.store = store
        self.buffer_max = buffer_max
        self.dropped_total = 0  # since the agent started

    async def open(self) -> None:
        await self.store.migrate("agent_buffer", MIGRATIONS)

    async def add(self, bodies: list[str]) -> int:
        """Append in order (one transaction); the number dropped to stay within bounds."""
        limit = self.buffer_max

        def write(conn: sqlite3.Connection) -> int:
            conn.executemany("INSERT INTO buffered(body) VALUES (?)", [(b,) for b in bodies])
            low, high = conn.execute("SELECT min(id), max(id) FROM buffered").fetchone()
            excess = (high - low + 1) - limit if low is not None else 0
            if excess <= 0:
                return 0
            conn.execute("DELETE FROM buffered WHERE id < ?", (low + excess,))
            _add_meta(conn, "dropped", excess)
            return int(excess)

        dropped = await self.store.transaction(write)
        self.dropped_total += dropped
        return dropped

    async def size(self) -> int:
        def count(conn: sqlite3.Connection) -> int:
            low, high = conn.execute("SELECT min(id), max(id) FROM buffered").fetchone()
            return 0 if low is None else int(high - low + 1)

        return await self.store.call(count)

    async def take(self, limit: int) -> Outgoing | None:
        """The batch in flight, else the oldest ``limit`` results as a new numbered batch."""

        def take(conn: sqlite3.Connection) -> Outgoing | None:
            row = conn.execute("SELECT batch, last_id, dropped FROM in_flight").fetchone()
            if row is not None:
                batch, last_id, dropped = row
                bodies = conn.execute("SELECT body FROM buffered WHERE id <= ? ORDER BY id",
                                      (last_id,)).fetchall()
                return Outgoing(batch, tuple(b for (b,) in bodies), dropped)
            rows = conn.execute("SELECT id, body FROM buffered ORDER BY id LIMIT ?",
                                (limit,)).fetchall()
            dropped = int(_meta(conn, "dropped") or 0)
            if not rows and not dropped:
                return None
            batch = int(_meta(conn, "next_batch") or int(time.time() * 1000))
            _set_meta(conn, "next_batch", batch + 1)
            _set_meta(conn, "dropped", 0)
            last_id = rows[-1][0] if rows else 0
            conn.execute("INSERT INTO in_flight(batch, last_id, dropped) VALUES (?, ?, ?)",
                         (batch, last_id, dropped))
            return Outgoing(batch, tuple(b for _, b in rows), dropped)

        return await self.store.transaction(take)

    async def done(self, batch: int) -> None:
        """The central daemon acknowledged (or refused for good) ``batch``: forget it."""

        def forget(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT last_id FROM in_flight WHERE batch = ?",
                               (batch,)).fetchone()
            if row is not None:
                conn.execute("DELETE FROM buffered WHERE id <= ?", (row[0],))
                conn.execute("DELETE FROM in_flight WHERE batch = ?", (batch,))

        await self.store.transaction(forget)

    async def save_assignment(self, body: str) -> None:
        await self.store.transaction(lambda c: _set_meta(c, "assignment", body))

    async def load_assignment(self) -> str | None:
        return await self.store.call(lambda c: _meta(c, "assignment"))


def _meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM agent_meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def _set_meta(conn: sqlite3.Connection, key: str, value: object) -> None:
    conn.execute("INSERT INTO agent_meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE"
                 " SET value = excluded.value", (key, str(value)))


def _add_meta(conn: sqlite3.Connection, key: str, amount: int) -> None:
    _set_meta(conn, key, int(_meta(conn, key) or 0) + amount)
