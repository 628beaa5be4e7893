"""The evidence tables: each check's last OK fingerprint, and each incident's evidence.

Baselines survive a restart, so "what changed" still compares with the last OK result seen
before it; incident evidence survives too, for repeats and the API. Rows are small JSON.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping

from monitord.model import Evidence

COMPONENT = "evidence"
MIGRATIONS = [
    """
    CREATE TABLE evidence_baseline (
        check_name TEXT NOT NULL, location TEXT NOT NULL, facts TEXT NOT NULL,
        at REAL NOT NULL, PRIMARY KEY (check_name, location));
    CREATE TABLE evidence_incident (
        incident_id TEXT PRIMARY KEY, check_name TEXT NOT NULL, evidence TEXT NOT NULL,
        changes TEXT NOT NULL, at REAL NOT NULL);
    """,
]
KEEP_INCIDENTS = 2000  # newest incidents whose evidence is kept

Key = tuple[str, str]  # (check, location)


def save_baselines(conn: sqlite3.Connection, rows: Mapping[Key, tuple[dict[str, str], float]]
                   ) -> None:
    conn.executemany(
        "INSERT INTO evidence_baseline (check_name, location, facts, at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (check_name, location) DO UPDATE SET facts = excluded.facts, "
        "at = excluded.at",
        [(c, loc, json.dumps(facts, sort_keys=True), at) for (c, loc), (facts, at)
         in rows.items()])


def load_baselines(conn: sqlite3.Connection) -> dict[Key, dict[str, str]]:
    rows = conn.execute("SELECT check_name, location, facts FROM evidence_baseline")
    return {(c, loc): dict(json.loads(facts)) for c, loc, facts in rows}


def save_incident(conn: sqlite3.Connection, incident_id: str, check: str,
                  evidence: tuple[Evidence, ...], changes: tuple[str, ...], at: float) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO evidence_incident (incident_id, check_name, evidence, changes, "
        "at) VALUES (?, ?, ?, ?, ?)",
        (incident_id, check, json.dumps([e.to_json() for e in evidence]),
         json.dumps(list(changes)), at))
    conn.execute(
        "DELETE FROM evidence_incident WHERE incident_id NOT IN (SELECT incident_id FROM "
        "evidence_incident ORDER BY at DESC LIMIT ?)", (KEEP_INCIDENTS,))


def load_incidents(conn: sqlite3.Connection
                   ) -> dict[str, tuple[tuple[Evidence, ...], tuple[str, ...]]]:
    rows = conn.execute("SELECT incident_id, evidence, changes FROM evidence_incident")
    return {
        incident: (tuple(Evidence(e["probe"], e["target"], e["status"], e["detail"])
                         for e in json.loads(evidence)), tuple(json.loads(changes)))
        for incident, evidence, changes in rows
    }
