"""``format = "json"``: monitord's own schema (documented in docs/notifications.md)."""

from __future__ import annotations

from typing import Any

from monitord.model import AlertEvent, Notification
from monitord.notify.formats.fields import (
    group_status,
    incident_url,
    incidents,
    iso,
    severity,
    state,
)

VERSION = "1"


def render(notification: Notification, *, external_url: str = "") -> dict[str, Any]:
    return {
        "version": VERSION,
        "id": notification.id,
        "status": group_status(notification),
        "receiver": notification.receiver,
        "group_key": notification.group_key,
        "group_labels": dict(notification.group_labels),
        "created_at": iso(notification.created_at),
        "incidents": [_incident(e, external_url) for e in incidents(notification)],
    }


def _incident(event: AlertEvent, external_url: str) -> dict[str, Any]:
    return {
        "id": event.incident_id,
        "check": event.check,
        "status": event.status.name,
        "severity": severity(event),
        "state": state(event),
        "event": event.kind.value,
        "summary": event.summary,
        "phase": event.phase.value if event.phase else None,
        "labels": dict(event.labels),
        "started_at": iso(event.started_at),
        "ended_at": iso(event.ended_at) if event.ended_at else None,
        "locations": [
            {"location": s.location, "status": s.status.name, "summary": s.summary,
             "at": iso(s.at)}
            for s in event.locations
        ],
        "diagnosis": event.diagnosis,
        "caused_by": list(event.caused_by),
        "impacted": list(event.impacted),
        "url": incident_url(external_url, event),
        "target": event.target,
        "description": event.description,
        "evidence": [e.to_json() for e in event.evidence],
        "changes": list(event.changes),
    }
