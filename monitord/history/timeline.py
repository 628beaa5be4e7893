"""An incident's story for the check page: problem, acknowledgement, every notification
handed to a receiver (and whether it was delivered), recovery.

Read from the alerting tables (``qualify_incident``, ``qualify_notification``, ``outbox``)
at the store edge; nothing here writes. The diagnosis of an open incident comes from the
newest alert event the daemon saw for it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from monitord import qualify_store as persist
from monitord.qualify.snapshot import IncidentView
from monitord.store import Store

NOTIFICATIONS_PER_INCIDENT = 50


@dataclass(frozen=True, slots=True)
class Entry:
    at: datetime
    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class Story:
    incident: IncidentView
    entries: tuple[Entry, ...]


def _notifications(conn: sqlite3.Connection, incident: str,
                   ) -> list[tuple[str, str, str, str | None, str | None, float | None]]:
    """(receiver, created_at, kind, outbox state, last error, finished_at) oldest first."""
    # Notification ids start with the incident id for incident events; the LIKE narrows
    # the scan before json_each confirms the incident.
    return conn.execute(
        "SELECT n.receiver, n.created_at, json_extract(e.value, '$[1]'), o.state, "
        "o.last_error, o.finished_at FROM qualify_notification n "
        "JOIN json_each(n.events) e ON json_extract(e.value, '$[0]') = ? "
        "LEFT JOIN outbox o ON o.receiver = n.receiver AND o.id = n.id "
        "WHERE n.events LIKE ? ORDER BY n.created_at LIMIT ?",
        (incident, f'%"{incident}"%', NOTIFICATIONS_PER_INCIDENT)).fetchall()


def _entries(view: IncidentView,
             sent: Sequence[tuple[str, str, str, str | None, str | None, float | None]],
             ) -> tuple[Entry, ...]:
    entries = [Entry(view.started_at, "problem", f"{view.status.name}: {view.summary}")]
    if view.acknowledged_at is not None:
        comment = f" — {view.ack_comment}" if view.ack_comment else ""
        entries.append(Entry(view.acknowledged_at, "acknowledged",
                             f"acknowledged by {view.acknowledged_by}{comment}"))
    for receiver, created, kind, state, error, finished in sent:
        when = datetime.fromisoformat(created)
        outcome = {"delivered": "delivered", "failed": f"failed ({error})" if error else "failed",
                   "pending": "waiting for delivery"}.get(state or "", "queued")
        if state == "delivered" and finished is not None:
            when = datetime.fromtimestamp(finished, timezone.utc)
        entries.append(Entry(when, "failed" if state == "failed" else "notified",
                             f"{kind} notification to {receiver}: {outcome}"))
    if view.ended_at is not None:
        entries.append(Entry(view.ended_at, "recovery", "recovered"))
    return tuple(sorted(entries, key=lambda e: e.at))


class IncidentJournal:
    """``api.views.IncidentLog`` over the store and the daemon's open incidents."""

    def __init__(self, store: Store, open_incidents: Callable[[], Sequence[IncidentView]],
                 diagnoses: Mapping[str, str]) -> None:
        self.store = store
        self._open = open_incidents
        self._diagnoses = diagnoses

    def diagnosis(self, incident: str) -> str:
        return self._diagnoses.get(incident, "")

    async def stories(self, check: str, limit: int) -> list[Story]:
        opened = [i for i in self._open() if i.check == check]

        def read(conn: sqlite3.Connection) -> list[Story]:
            closed = [IncidentView.of(i)
                      for i in persist.closed_incidents(conn, check, limit)]
            views = sorted([*opened, *closed], key=lambda v: v.started_at, reverse=True)
            return [Story(v, _entries(v, _notifications(conn, v.id))) for v in views[:limit]]

        return await self.store.call(read)
