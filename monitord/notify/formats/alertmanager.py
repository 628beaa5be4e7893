"""``format = "alertmanager"``: the Alertmanager webhook payload, version "4".

Any tool that ingests Alertmanager webhooks reads it as is. One alert per incident, with the
incident's latest state; labels are the alert's labels (check, type, severity, the check's own);
monitord's extra facts (incident id, status, phase, diagnosis) go into annotations.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from monitord.model import AlertEvent, Notification
from monitord.notify.evidence_text import changes_text, evidence_text
from monitord.notify.formats.fields import group_status, incident_url, incidents, iso, state

VERSION = "4"
ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time: what Alertmanager sends for "not ended"

_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_SEPARATOR = 0xFF


def fingerprint(labels: Mapping[str, str]) -> str:
    """Prometheus' label-set fingerprint (FNV-1a 64 over sorted name/value pairs), as hex.

    The same labels give the same fingerprint as Prometheus and Alertmanager compute, so tools
    that key alerts by fingerprint treat our alerts like theirs.
    """
    value = _FNV_OFFSET
    for name in sorted(labels):
        for byte in (*name.encode(), _SEPARATOR, *labels[name].encode(), _SEPARATOR):
            value = ((value ^ byte) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{value:016x}"


def render(notification: Notification, *, external_url: str = "") -> dict[str, Any]:
    alerts = [_alert(e, external_url) for e in incidents(notification)]
    return {
        "version": VERSION,
        "groupKey": notification.group_key,
        "truncatedAlerts": 0,
        "status": group_status(notification),
        "receiver": notification.receiver,
        "groupLabels": dict(notification.group_labels),
        "commonLabels": _common([a["labels"] for a in alerts]),
        "commonAnnotations": _common([a["annotations"] for a in alerts]),
        "externalURL": external_url,
        "alerts": alerts,
    }


def _alert(event: AlertEvent, external_url: str) -> dict[str, Any]:
    labels = dict(event.labels)
    resolved = state(event) == "resolved"
    annotations = {
        "summary": event.summary,
        "description": event.diagnosis,
        "incident_id": event.incident_id,
        "status": event.status.name,
        "state": state(event),
        "phase": event.phase.value if event.phase else "",
        "target": event.target,
        "check_description": event.description,  # "description" is the diagnosis, as before
        "evidence": evidence_text(event.evidence),
        "changes": changes_text(event.changes),
    }
    return {
        # Alertmanager knows two states; acknowledged or flapping incidents still fire.
        "status": "resolved" if resolved else "firing",
        "labels": labels,
        "annotations": {k: v for k, v in annotations.items() if v},
        "startsAt": iso(event.started_at),
        "endsAt": iso(event.ended_at or event.at) if resolved else ZERO_TIME,
        "generatorURL": incident_url(external_url, event),
        "fingerprint": fingerprint(labels),
    }


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    """The pairs every map has (Alertmanager's commonLabels / commonAnnotations)."""
    if not maps:
        return {}
    first, *rest = maps
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in rest)}
