"""The store edge of qualification: its state <-> SQLite rows, saved incrementally, rebuilt
after a restart.

The core (:mod:`monitord.qualify`) does no I/O: it hands out its changes as rows
(``take_changes``, :class:`~monitord.qualify.pipeline.Batch`) and restores itself from rows;
this module runs the SQL. Every write function is synchronous and takes the connection, so the
daemon commits the engine's changes, the grouper's changes and the outbox rows in ONE
transaction: after a crash (kill -9 included) either all of them are there or none, which is
what keeps a notified problem from being notified twice and a recovery from being lost.

Tables (component ``qualify``, versioned by ``Store.migrate``): per-check confirmation and
flap state, incidents (open and closed, with what was told and acknowledgements), silences,
pending group state and entries, and the log of notifications handed to the outbox.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from monitord.config.schema import CheckConfig
from monitord.model import Notification
from monitord.qualify import codec
from monitord.qualify.codec import QualifyChanges
from monitord.qualify.engine import Qualifier
from monitord.qualify.grouping import GroupChanges, Grouper
from monitord.qualify.handover import HandOver, HandoverRow
from monitord.qualify.incidents import Incident
from monitord.qualify.pipeline import Batch, Pipeline, RouteFn
from monitord.qualify.settings import QualifySettings
from monitord.qualify.silences import MaintenanceWindow
from monitord.qualify.times import as_utc
from monitord.store import Migration, Store

COMPONENT = "qualify"

MIGRATIONS: list[Migration] = [
    """
    CREATE TABLE qualify_check (name TEXT PRIMARY KEY, state TEXT NOT NULL);
    CREATE TABLE qualify_incident (
        id TEXT PRIMARY KEY, check_name TEXT NOT NULL, started_at TEXT NOT NULL,
        ended_at TEXT, data TEXT NOT NULL);
    CREATE INDEX qualify_incident_open ON qualify_incident(id) WHERE ended_at IS NULL;
    CREATE INDEX qualify_incident_check ON qualify_incident(check_name, started_at);
    CREATE TABLE qualify_silence (
        id TEXT PRIMARY KEY, starts_at TEXT NOT NULL, ends_at TEXT NOT NULL,
        data TEXT NOT NULL);
    CREATE TABLE qualify_group (
        receiver TEXT NOT NULL, group_key TEXT NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY (receiver, group_key));
    CREATE TABLE qualify_group_entry (
        id INTEGER PRIMARY KEY, receiver TEXT NOT NULL, group_key TEXT NOT NULL,
        event TEXT NOT NULL);
    CREATE TABLE qualify_notification (
        id TEXT PRIMARY KEY, receiver TEXT NOT NULL, group_key TEXT NOT NULL,
        created_at TEXT NOT NULL, events TEXT NOT NULL);
    CREATE INDEX qualify_notification_created ON qualify_notification(created_at)
    """,
    # 2: which receivers were told of each open incident, for the hand-over and recoveries.
    """
    CREATE TABLE qualify_handover (
        incident_id TEXT PRIMARY KEY, receivers TEXT NOT NULL, event TEXT)
    """,
]


async def migrate(store: Store) -> int:
    return await store.migrate(COMPONENT, MIGRATIONS)


def save_qualifier(conn: sqlite3.Connection, changes: QualifyChanges) -> None:
    conn.executemany(
        "INSERT INTO qualify_check(name, state) VALUES (?, ?) "
        "ON CONFLICT(name) DO UPDATE SET state = excluded.state", changes.checks)
    conn.executemany("DELETE FROM qualify_check WHERE name = ?",
                     [(n,) for n in changes.deleted_checks])
    conn.executemany(
        "INSERT INTO qualify_incident(id, check_name, started_at, ended_at, data) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET ended_at = excluded.ended_at, "
        "data = excluded.data", changes.incidents)
    conn.executemany(
        "INSERT INTO qualify_silence(id, starts_at, ends_at, data) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET starts_at = excluded.starts_at, "
        "ends_at = excluded.ends_at, data = excluded.data", changes.silences)
    conn.executemany("DELETE FROM qualify_silence WHERE id = ?",
                     [(s,) for s in changes.deleted_silences])


def save_grouper(conn: sqlite3.Connection, changes: GroupChanges) -> None:
    conn.executemany("DELETE FROM qualify_group_entry WHERE id = ?",
                     [(e,) for e in changes.deleted_entries])
    conn.executemany("DELETE FROM qualify_group WHERE receiver = ? AND group_key = ?",
                     changes.deleted_groups)
    conn.executemany(
        "INSERT INTO qualify_group(receiver, group_key, data) VALUES (?, ?, ?) "
        "ON CONFLICT(receiver, group_key) DO UPDATE SET data = excluded.data", changes.groups)
    conn.executemany(
        # An upsert: a batch written again (its first write committed, the caller cancelled
        # before it knew) must not fail on its own rows.
        "INSERT INTO qualify_group_entry(id, receiver, group_key, event) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET receiver = excluded.receiver, "
        "group_key = excluded.group_key, event = excluded.event", changes.entries)


def log_notifications(conn: sqlite3.Connection, notifications: Iterable[Notification]) -> None:
    """Record what was handed to the outbox (idempotent: a notification id is logged once)."""
    conn.executemany(
        "INSERT INTO qualify_notification(id, receiver, group_key, created_at, events) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
        [(n.id, n.receiver, n.group_key, n.created_at.isoformat(),
          json.dumps([[e.incident_id, e.kind.value, e.status.name] for e in n.events],
                     separators=(",", ":")))
         for n in notifications])


def save(conn: sqlite3.Connection, qualify: QualifyChanges | None = None,
         grouping: GroupChanges | None = None,
         notifications: Sequence[Notification] = ()) -> None:
    """Everything of this component in one call, inside the caller's transaction."""
    if qualify:
        save_qualifier(conn, qualify)
    if grouping:
        save_grouper(conn, grouping)
    if notifications:
        log_notifications(conn, notifications)


def write(conn: sqlite3.Connection, batch: Batch) -> None:
    """Save a pipeline step's state changes and log its notifications (inside the caller's
    transaction, next to the outbox insert)."""
    save(conn, batch.qualify, batch.grouping, batch.notifications)
    if batch.handover:
        save_handover(conn, batch.handover)


def load(conn: sqlite3.Connection, checks: Mapping[str, CheckConfig] | Iterable[CheckConfig],
         route: RouteFn, settings: QualifySettings | None = None,
         maintenance: Sequence[MaintenanceWindow] = ()) -> Pipeline:
    """A pipeline resumed from the database (run on the store thread)."""
    return Pipeline(load_qualifier(conn, checks, settings, maintenance),
                    load_grouper(conn), route, load_handover(conn))


def load_qualifier(conn: sqlite3.Connection,
                   checks: Mapping[str, CheckConfig] | Iterable[CheckConfig],
                   settings: QualifySettings | None = None,
                   maintenance: Sequence[MaintenanceWindow] = ()) -> Qualifier:
    """A Qualifier for ``checks`` that resumes from the saved state.

    Saved checks no longer configured are dropped; their open incidents are closed by the
    first ``tick`` (with a RECOVERY where receivers were told of them).
    """
    silences = [codec.silence_from_json(row[0])
                for row in conn.execute("SELECT data FROM qualify_silence")]
    qualifier = Qualifier(checks, settings, maintenance, silences)
    saved = dict(conn.execute("SELECT name, state FROM qualify_check").fetchall())
    incidents = [codec.incident_from_json(row[0]) for row in conn.execute(
        "SELECT data FROM qualify_incident WHERE ended_at IS NULL ORDER BY started_at, id")]
    qualifier.restore(saved, incidents)
    return qualifier


def save_handover(conn: sqlite3.Connection, rows: Iterable[HandoverRow]) -> None:
    rows = list(rows)
    conn.executemany("DELETE FROM qualify_handover WHERE incident_id = ?",
                     [(r[0],) for r in rows if r[1] is None])
    conn.executemany(
        "INSERT INTO qualify_handover(incident_id, receivers, event) VALUES (?, ?, ?) "
        "ON CONFLICT(incident_id) DO UPDATE SET receivers = excluded.receivers, "
        "event = excluded.event", [r for r in rows if r[1] is not None])


def load_handover(conn: sqlite3.Connection) -> HandOver:
    handover = HandOver()
    handover.restore(conn.execute(
        "SELECT incident_id, receivers, event FROM qualify_handover").fetchall())
    return handover


def load_grouper(conn: sqlite3.Connection) -> Grouper:
    grouper = Grouper()
    grouper.restore(
        conn.execute("SELECT receiver, group_key, data FROM qualify_group").fetchall(),
        conn.execute("SELECT id, receiver, group_key, event FROM qualify_group_entry"
                     " ORDER BY id").fetchall())
    return grouper


def notification_log(conn: sqlite3.Connection, limit: int = 1000,
                     ) -> list[tuple[str, str, str, str, list[list[str]]]]:
    """The newest logged notifications: id, receiver, group key, created_at, events
    as [incident id, kind, status]."""
    rows = conn.execute(
        "SELECT id, receiver, group_key, created_at, events FROM qualify_notification "
        "ORDER BY created_at DESC, rowid DESC LIMIT ?", (limit,)).fetchall()
    return [(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]


def closed_incidents(conn: sqlite3.Connection, check: str | None = None,
                     limit: int = 100) -> list[Incident]:
    """Recent closed incidents, newest first (for the API's incident history)."""
    rows = conn.execute(
        "SELECT data FROM qualify_incident WHERE ended_at IS NOT NULL "
        "AND (? IS NULL OR check_name = ?) ORDER BY ended_at DESC LIMIT ?",
        (check, check, limit)).fetchall()
    return [codec.incident_from_json(r[0]) for r in rows]


def prune(conn: sqlite3.Connection, before: datetime) -> int:
    """Forget closed incidents and logged notifications older than ``before``."""
    cut = as_utc(before).isoformat()  # stored times are UTC ISO text: they sort as text
    gone = conn.execute("DELETE FROM qualify_incident WHERE ended_at IS NOT NULL "
                        "AND ended_at < ?", (cut,)).rowcount
    gone += conn.execute("DELETE FROM qualify_notification WHERE created_at < ?",
                         (cut,)).rowcount
    return gone
