"""Alert events and notifications to and from JSON text, so they survive restarts.

Both sides of the house keep them: the outbox stores notifications, qualification stores
pending group entries and the hand-over's newest event. Hence this module sits on the ground
floor and imports only the model.

The encoding is internal (rows written by one version are read by the next): every field of
:class:`~monitord.model.Notification` and its events, datetimes as ISO 8601 with offset.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from monitord.model import (
    AlertEvent,
    EventKind,
    Evidence,
    LocationState,
    Notification,
    Phase,
    Status,
)


def dumps(notification: Notification) -> str:
    return json.dumps(encode(notification), separators=(",", ":"), sort_keys=True)


def loads(text: str) -> Notification:
    return decode(json.loads(text))


def encode(notification: Notification) -> dict[str, Any]:
    return {
        "id": notification.id,
        "receiver": notification.receiver,
        "group_key": notification.group_key,
        "group_labels": dict(notification.group_labels),
        "created_at": notification.created_at.isoformat(),
        "events": [_encode_event(e) for e in notification.events],
    }


def decode(data: dict[str, Any]) -> Notification:
    return Notification(
        id=data["id"],
        receiver=data["receiver"],
        group_key=data["group_key"],
        group_labels=dict(data["group_labels"]),
        events=tuple(_decode_event(e) for e in data["events"]),
        created_at=datetime.fromisoformat(data["created_at"]),
    )


def _encode_event(event: AlertEvent) -> dict[str, Any]:
    return {
        "kind": event.kind.value,
        "incident_id": event.incident_id,
        "check": event.check,
        "status": event.status.name,
        "phase": event.phase.value if event.phase else None,
        "summary": event.summary,
        "labels": dict(event.labels),
        "started_at": event.started_at.isoformat(),
        "ended_at": event.ended_at.isoformat() if event.ended_at else None,
        "at": event.at.isoformat(),
        "diagnosis": event.diagnosis,
        "locations": [
            {"location": s.location, "status": s.status.name, "summary": s.summary,
             "at": s.at.isoformat()}
            for s in event.locations
        ],
        "impacted": list(event.impacted),
        "caused_by": list(event.caused_by),
        "target": event.target,
        "description": event.description,
        "evidence": [e.to_json() for e in event.evidence],
        "changes": list(event.changes),
    }


def _decode_event(data: dict[str, Any]) -> AlertEvent:
    return AlertEvent(
        kind=EventKind(data["kind"]),
        incident_id=data["incident_id"],
        check=data["check"],
        status=Status[data["status"]],
        phase=Phase(data["phase"]) if data["phase"] else None,
        summary=data["summary"],
        labels=dict(data["labels"]),
        started_at=datetime.fromisoformat(data["started_at"]),
        ended_at=datetime.fromisoformat(data["ended_at"]) if data["ended_at"] else None,
        at=datetime.fromisoformat(data["at"]),
        diagnosis=data["diagnosis"],
        locations=tuple(
            LocationState(s["location"], Status[s["status"]], s["summary"],
                          datetime.fromisoformat(s["at"]))
            for s in data["locations"]
        ),
        impacted=tuple(data["impacted"]),
        caused_by=tuple(data["caused_by"]),
        # Rows written before evidence existed have none of these.
        target=data.get("target", ""),
        description=data.get("description", ""),
        evidence=tuple(Evidence(e["probe"], e["target"], e["status"], e["detail"])
                       for e in data.get("evidence", ())),
        changes=tuple(data.get("changes", ())),
    )


def dumps_event(event: AlertEvent) -> str:
    """One event on its own (pending group entries, the hand-over's newest event)."""
    return dumps(Notification("", "", "", {}, (event,), event.at))


def loads_event(text: str) -> AlertEvent:
    return loads(text).events[0]
