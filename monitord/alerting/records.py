"""Where what the pipeline produced is recorded: its batches and their outbox rows in one
SQLite transaction, its alert events in the log."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence

import structlog

from monitord import qualify_store
from monitord.model import AlertEvent
from monitord.notify import outbox as outbox_mod
from monitord.notify.ledger import Finished, Key
from monitord.qualify.pipeline import Batch

log = structlog.get_logger("monitord.alerting")


def log_events(events: Sequence[AlertEvent]) -> None:
    for event in events:
        log.info("alert_event", kind=event.kind.value, incident=event.incident_id,
                 check=event.check, status=event.status.name, summary=event.summary,
                 degraded=event.labels.get("degraded") == "true")


def write_batches(conn: sqlite3.Connection, batches: Sequence[Batch],
                  marks: Mapping[Key, Finished]) -> None:
    """Batches in the order they were taken (upserts: the newest state wins), their outbox
    rows, and the outcomes reached from memory while they could not be written."""
    for batch in batches:
        qualify_store.write(conn, batch)
        if batch.notifications:
            outbox_mod.enqueue(conn, batch.notifications)
    if marks:
        outbox_mod.mark_finished(conn, marks)
