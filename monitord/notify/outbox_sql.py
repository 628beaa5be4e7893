"""The outbox's tables and the synchronous functions that read and write them (run on the
store thread; :func:`enqueue` and :func:`mark_finished` inside the caller's transaction)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from monitord import eventcodec
from monitord.model import Notification
from monitord.notify.ledger import Finished, Key
from monitord.store import Store

COMPONENT = "outbox"
MIGRATIONS: list[str] = [
    """
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        receiver TEXT NOT NULL,
        id TEXT NOT NULL,
        notification TEXT NOT NULL,
        created_at REAL NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL DEFAULT 0,
        parts TEXT,
        last_error TEXT NOT NULL DEFAULT '',
        finished_at REAL,
        UNIQUE (receiver, id)
    );
    CREATE INDEX outbox_queue ON outbox (receiver, state, seq);
    CREATE TABLE outbox_thread (
        receiver TEXT NOT NULL,
        incident_id TEXT NOT NULL,
        notification_id TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (receiver, incident_id)
    );
    CREATE TABLE outbox_receiver (
        receiver TEXT PRIMARY KEY,
        failing_since REAL NOT NULL,
        alerted INTEGER NOT NULL,
        last_error TEXT NOT NULL
    )
    """,
]
HOUSEKEEPING_INTERVAL = 3600.0
THREAD_RETENTION = 90 * 86400.0  # incidents rarely stay open this long; recoveries then unthread

async def migrate(store: Store) -> None:
    """Create or upgrade the outbox tables (call once at start, before any enqueue)."""
    await store.migrate(COMPONENT, MIGRATIONS)


def enqueue(conn: sqlite3.Connection, notifications: Iterable[Notification]) -> int:
    """Queue ``notifications`` inside the caller's transaction; returns how many were new."""
    added = 0
    for notification in notifications:
        created = notification.created_at.timestamp()
        cursor = conn.execute(
            "INSERT INTO outbox (receiver, id, notification, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (receiver, id) DO NOTHING",
            (notification.receiver, notification.id, eventcodec.dumps(notification), created),
        )
        if cursor.rowcount == 0:
            continue
        added += 1
        # The first message about an incident to a receiver is the one later ones thread under.
        conn.executemany(
            "INSERT OR IGNORE INTO outbox_thread (receiver, incident_id, notification_id, "
            "created_at) VALUES (?, ?, ?, ?)",
            [(notification.receiver, e.incident_id, notification.id, created)
             for e in notification.events],
        )
    return added


@dataclass(frozen=True, slots=True)
class Row:
    seq: int
    id: str
    created_at: float
    attempts: int
    next_attempt_at: float
    parts: tuple[str, ...] | None
    last_error: str
    notification: Notification | None
    problem: str  # why the row cannot be read, when notification is None
    threads: Mapping[str, str]
    due: float | None = None  # the retry planned by this process (monotonic)


# -- synchronous store functions (run on the store thread) --------------------------------


def head(conn: sqlite3.Connection, receiver: str, skip: Sequence[str] = ()) -> Row | None:
    marks = ",".join("?" * len(skip))
    found = conn.execute(
        "SELECT seq, id, created_at, attempts, next_attempt_at, parts, last_error, "
        "notification FROM outbox WHERE receiver = ? AND state = 'pending' "
        f"AND id NOT IN ({marks}) ORDER BY seq LIMIT 1", (receiver, *skip)).fetchone()
    if found is None:
        return None
    seq, nid, created_at, attempts, next_attempt_at, parts, last_error, text = found
    notification: Notification | None = None
    problem = ""
    threads: dict[str, str] = {}
    try:
        notification = eventcodec.loads(text)
    except (ValueError, KeyError, TypeError) as exc:
        problem = f"{type(exc).__name__}: {exc}"
    else:
        incidents = sorted({e.incident_id for e in notification.events})
        marks = ",".join("?" * len(incidents))
        threads = dict(conn.execute(
            f"SELECT incident_id, notification_id FROM outbox_thread "
            f"WHERE receiver = ? AND incident_id IN ({marks})", (receiver, *incidents),
        ).fetchall())
    return Row(seq, nid, created_at, attempts, next_attempt_at,
                tuple(json.loads(parts)) if parts is not None else None, last_error,
                notification, problem, threads)


def mark_finished(conn: sqlite3.Connection, marks: Mapping[Key, Finished]) -> list[Key]:
    """Record outcomes reached from memory (inside the caller's transaction, e.g. the
    commit that finally writes the notifications they are about); the keys whose row was
    there to take them (a row not written yet keeps its mark for a later commit)."""
    done = []
    for (receiver, nid), f in marks.items():
        cursor = conn.execute(
            "UPDATE outbox SET state = ?, last_error = ?, finished_at = ? "
            "WHERE receiver = ? AND id = ?", (f.state, f.reason, f.at, receiver, nid))
        if cursor.rowcount:
            done.append((receiver, nid))
    return done


def pending_counts(conn: sqlite3.Connection) -> dict[str, tuple[int, float | None]]:
    rows = conn.execute("SELECT receiver, COUNT(*), MIN(created_at) FROM outbox "
                        "WHERE state = 'pending' GROUP BY receiver").fetchall()
    return {receiver: (count, oldest) for receiver, count, oldest in rows}


def housekeep(conn: sqlite3.Connection, receivers: set[str], now: datetime,
               retention: float) -> list[tuple[str, str]]:
    """Forget old finished rows; give up rows of receivers no longer configured."""
    stamp = now.timestamp()
    orphans = [
        (receiver, nid) for receiver, nid in conn.execute(
            "SELECT receiver, id FROM outbox WHERE state = 'pending' ORDER BY seq")
        if receiver not in receivers
    ]
    conn.executemany(
        "UPDATE outbox SET state = 'failed', last_error = 'receiver not configured', "
        "finished_at = ? WHERE receiver = ? AND id = ?",
        [(stamp, receiver, nid) for receiver, nid in orphans])
    conn.execute("DELETE FROM outbox WHERE state != 'pending' AND finished_at < ?",
                 (stamp - retention,))
    conn.execute("DELETE FROM outbox_thread WHERE created_at < ?", (stamp - THREAD_RETENTION,))
    return orphans



def rebase(conn: sqlite3.Connection, step: float, created: Mapping[Key, float],
           planned: Mapping[Key, float]) -> int:
    """The wall clock stepped by ``step`` seconds: move the wall times of pending rows with
    it, so that after a restart their age and next attempt are what really elapsed. Rows this
    process knows get their exact values (``created``/``planned``: wall times recomputed from
    the monotonic clock), which also corrects a row written between the step and its notice."""
    cursor = conn.execute(
        "UPDATE outbox SET created_at = created_at + ?, next_attempt_at = CASE "
        "WHEN next_attempt_at > 0 THEN next_attempt_at + ? ELSE 0 END WHERE state = 'pending'",
        (step, step))
    conn.executemany(
        "UPDATE outbox SET created_at = ? WHERE receiver = ? AND id = ? AND state = 'pending'",
        [(at, receiver, nid) for (receiver, nid), at in created.items()])
    conn.executemany(
        "UPDATE outbox SET next_attempt_at = ? WHERE receiver = ? AND id = ? "
        "AND state = 'pending'",
        [(at, receiver, nid) for (receiver, nid), at in planned.items()])
    return cursor.rowcount  # rows moved (the caller tells a failed write by None)
