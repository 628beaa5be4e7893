"""The history tables (component ``history``): synchronous SQL over one connection.

``history_series(id, check_name, location)`` names each series once, so the chunk rows
carry a small integer instead of two strings. ``history_raw(series, hour, data)`` holds one
packed :class:`~monitord.history.chunks.RawHour` per series and hour;
``history_rollup(series, day, count, failures, data)`` one packed
:class:`~monitord.history.chunks.DayRollup` per series and UTC day, with its totals in plain
columns so availability over 30 days is one indexed SUM, not 30 decompressions.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from monitord.store import Migration

COMPONENT = "history"

MIGRATIONS: list[Migration] = [
    """
    CREATE TABLE history_series (
        id INTEGER PRIMARY KEY, check_name TEXT NOT NULL, location TEXT NOT NULL,
        UNIQUE (check_name, location));
    CREATE TABLE history_raw (
        series INTEGER NOT NULL, hour INTEGER NOT NULL, data BLOB NOT NULL,
        PRIMARY KEY (series, hour));
    CREATE INDEX history_raw_hour ON history_raw(hour);
    CREATE TABLE history_rollup (
        series INTEGER NOT NULL, day INTEGER NOT NULL, count INTEGER NOT NULL,
        failures INTEGER NOT NULL, data BLOB NOT NULL,
        PRIMARY KEY (series, day));
    CREATE INDEX history_rollup_day ON history_rollup(day)
    """,
]

RawRow = tuple[int, int, bytes]  # series, hour, data
RollupRow = tuple[int, int, int, int, bytes]  # series, day, count, failures, data


def series(conn: sqlite3.Connection) -> dict[tuple[str, str], int]:
    rows = conn.execute("SELECT id, check_name, location FROM history_series").fetchall()
    return {(check, location): sid for sid, check, location in rows}


def add_series(conn: sqlite3.Connection, check: str, location: str) -> int:
    conn.execute("INSERT OR IGNORE INTO history_series(check_name, location) VALUES (?, ?)",
                 (check, location))
    row = conn.execute("SELECT id FROM history_series WHERE check_name = ? AND location = ?",
                       (check, location)).fetchone()
    return int(row[0])


def write(conn: sqlite3.Connection, raw: Iterable[RawRow], rollups: Iterable[RollupRow]) -> None:
    conn.executemany(
        "INSERT INTO history_raw(series, hour, data) VALUES (?, ?, ?) "
        "ON CONFLICT(series, hour) DO UPDATE SET data = excluded.data", list(raw))
    conn.executemany(
        "INSERT INTO history_rollup(series, day, count, failures, data) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(series, day) DO UPDATE SET count = excluded.count, "
        "failures = excluded.failures, data = excluded.data", list(rollups))


def day_totals(conn: sqlite3.Connection, since: int) -> list[tuple[str, int, int, int]]:
    """(check, day, count, failures) summed over locations, for days from ``since``."""
    return conn.execute(
        "SELECT s.check_name, r.day, SUM(r.count), SUM(r.failures) FROM history_rollup r "
        "JOIN history_series s ON s.id = r.series WHERE r.day >= ? "
        "GROUP BY s.check_name, r.day", (since,)).fetchall()


def rollups(conn: sqlite3.Connection, ids: Sequence[int], since: int,
            until: int) -> list[tuple[int, int, bytes]]:
    """(series, day, data) of days overlapping [since, until)."""
    marks = ",".join("?" * len(ids))
    return conn.execute(
        f"SELECT series, day, data FROM history_rollup WHERE series IN ({marks}) "
        "AND day > ? AND day < ? ORDER BY day", (*ids, since - 86400, until)).fetchall()


def raw(conn: sqlite3.Connection, ids: Sequence[int], since: int,
        until: int) -> list[tuple[int, int, bytes]]:
    """(series, hour, data) of hours overlapping [since, until)."""
    marks = ",".join("?" * len(ids))
    return conn.execute(
        f"SELECT series, hour, data FROM history_raw WHERE series IN ({marks}) "
        "AND hour > ? AND hour < ? ORDER BY hour", (*ids, since - 3600, until)).fetchall()


def prune(conn: sqlite3.Connection, raw_before: int, rollup_before: int) -> int:
    """Delete hours that end at or before ``raw_before`` and days that end at or before
    ``rollup_before`` (epoch seconds); returns how many chunks went."""
    gone = conn.execute("DELETE FROM history_raw WHERE hour <= ?",
                        (raw_before - 3600,)).rowcount
    gone += conn.execute("DELETE FROM history_rollup WHERE day <= ?",
                         (rollup_before - 86400,)).rowcount
    return gone
