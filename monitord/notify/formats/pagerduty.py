"""``format = "pagerduty"``: PagerDuty Events API v2, one event per incident.

The Events API takes one event per request, so a group of N incidents becomes N events, each
with ``dedup_key`` = the incident id: PagerDuty folds repeats and retries into one alert, and
acknowledge / resolve reach the alert the trigger opened.
"""

from __future__ import annotations

from typing import Any

from monitord.model import AlertEvent, EventKind, Notification, Status
from monitord.notify.formats.fields import incident_url, incidents, iso, state

SUMMARY_LIMIT = 1024  # PagerDuty truncates longer summaries; we cut first and say so
_SEVERITY = {
    Status.CRITICAL: "critical",
    Status.WARNING: "warning",
    Status.UNKNOWN: "error",
    Status.OK: "info",
}


def event_action(event: AlertEvent) -> str:
    if event.kind is EventKind.ACKNOWLEDGED:
        return "acknowledge"
    return "resolve" if state(event) == "resolved" else "trigger"


def render(notification: Notification, routing_key: str, *,
           external_url: str = "") -> list[dict[str, Any]]:
    """One Events API v2 body per incident, in the group's order."""
    return [_event(e, notification, routing_key, external_url)
            for e in incidents(notification)]


def _event(event: AlertEvent, notification: Notification, routing_key: str,
           external_url: str) -> dict[str, Any]:
    summary = f"{event.check}: {event.status.name} - {event.summary}"
    if event.kind is EventKind.TEST:
        summary = f"[TEST] {event.summary}"
    if len(summary) > SUMMARY_LIMIT:
        summary = summary[: SUMMARY_LIMIT - 1] + "…"
    payload: dict[str, Any] = {
        "summary": summary,
        "source": event.check,
        "severity": _SEVERITY[event.status],
        "timestamp": iso(event.at),
        "component": event.check,
        "class": event.labels.get("type", ""),
        "custom_details": {
            "incident_id": event.incident_id,
            "event": event.kind.value,
            "state": state(event),
            "status": event.status.name,
            "severity": event.labels.get("severity", "critical"),
            "phase": event.phase.value if event.phase else None,
            "summary": event.summary,
            "diagnosis": event.diagnosis,
            "labels": dict(event.labels),
            "started_at": iso(event.started_at),
            "ended_at": iso(event.ended_at) if event.ended_at else None,
            "locations": {s.location: f"{s.status.name}: {s.summary}" for s in event.locations},
            "caused_by": list(event.caused_by),
            "impacted": list(event.impacted),
            "group_key": notification.group_key,
            "target": event.target,
            "description": event.description,
            "evidence": [e.to_json() for e in event.evidence],
            "changes": list(event.changes),
        },
    }
    if "service" in event.labels:
        payload["group"] = event.labels["service"]
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": event_action(event),
        "dedup_key": event.incident_id,
        "payload": payload,
        "client": "monitord",
    }
    url = incident_url(external_url, event)
    if url:
        body["client_url"] = url
    return body
