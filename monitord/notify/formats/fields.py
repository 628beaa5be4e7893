"""How events map to the words every payload uses (state, status, timestamps)."""

from __future__ import annotations

from datetime import datetime, timezone

from monitord.model import AlertEvent, EventKind, Notification

_STATE = {
    EventKind.PROBLEM: "firing",
    EventKind.SEVERITY: "firing",
    EventKind.REPEAT: "firing",
    EventKind.RECOVERY: "resolved",
    EventKind.ACKNOWLEDGED: "acknowledged",
    EventKind.FLAPPING_STARTED: "flapping",
    EventKind.TEST: "test",
}


def incidents(notification: Notification) -> list[AlertEvent]:
    """The newest event of each incident, in the order incidents first appear.

    A group may carry several events of one incident (a problem and its acknowledgement in
    the same flush); a payload speaks once per incident, of its latest state.
    """
    latest: dict[str, AlertEvent] = {}
    for event in notification.events:
        current = latest.get(event.incident_id)
        if current is None or event.at >= current.at:
            latest[event.incident_id] = event
    return list(latest.values())


def state(event: AlertEvent) -> str:
    """firing | acknowledged | resolved | flapping | test."""
    if event.kind is EventKind.FLAPPING_STOPPED:
        return "firing" if event.status.is_problem else "resolved"
    return _STATE[event.kind]


def group_status(notification: Notification) -> str:
    """firing while any event of the group fires, else resolved."""
    return "firing" if notification.firing else "resolved"


def severity(event: AlertEvent) -> str:
    return event.labels.get("severity", "critical")


def iso(when: datetime) -> str:
    """RFC 3339 in UTC with a Z, the form Alertmanager and PagerDuty print."""
    return when.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def incident_url(external_url: str, event: AlertEvent) -> str:
    """A link to the check on the status page, or "" when no external URL is configured."""
    if not external_url:
        return ""
    return f"{external_url.rstrip('/')}/?check={event.check}"
