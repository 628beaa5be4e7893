"""The JSON views of the daemon's state: status (also behind the status page), incidents,
silences. Times of incidents and silences are ISO 8601 with a ``Z``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from monitord.api.views import (
    CheckDescription,
    CheckResults,
    Checks,
    CheckStates,
    IncidentRecord,
    Incidents,
    LocationEntry,
    SilenceRecord,
)
from monitord.model import LocationState
from monitord.model import location_table as model_table


def iso(when: datetime | None) -> str | None:
    return when.isoformat().replace("+00:00", "Z") if when else None


def incident_json(view: IncidentRecord, incidents: Incidents | None = None) -> dict[str, Any]:
    """An incident as JSON; with ``incidents``, its evidence and what changed as well."""
    evidence, changes = incidents.diagnosis(view.id) if incidents is not None else ((), ())
    return {
        "id": view.id, "check": view.check, "status": view.status.name,
        "phase": view.phase.value if view.phase else None, "summary": view.summary,
        "started_at": iso(view.started_at), "ended_at": iso(view.ended_at),
        "notified": view.notified, "acknowledged_by": view.acknowledged_by,
        "acknowledged_at": iso(view.acknowledged_at), "ack_comment": view.ack_comment,
        "held": view.held, "caused_by": list(view.caused_by),
        "evidence": [e.to_json() for e in evidence], "changes": list(changes),
    }


def silence_json(silence: SilenceRecord, now: datetime) -> dict[str, Any]:
    return {
        "id": silence.id, "matchers": [str(m) for m in silence.matchers],
        "starts_at": iso(silence.starts_at), "ends_at": iso(silence.ends_at),
        "created_by": silence.created_by, "comment": silence.comment,
        "active": silence.active(now),
    }


def _check_json(config: CheckDescription, state: CheckResults | None) -> dict[str, Any]:
    status = state.status if state is not None else None
    since = state.since if state is not None else None
    return {
        "check": config.name,
        "type": config.type,
        "labels": config.alert_labels(),
        "status": status.name if status is not None else "PENDING",
        "since": since.isoformat() if since else None,
        "results": [r.to_json() for r in state.last.values()] if state is not None else [],
    }


def location_json(entry: LocationEntry, now: datetime) -> dict[str, Any]:
    return {"location": entry.location, "status": entry.status.name,
            "phase": entry.phase.value if entry.phase else None, "summary": entry.summary,
            "at": iso(entry.at), "duration_ms": None if entry.duration is None
            else round(entry.duration * 1000, 1), "stale": entry.stale,
            "age_s": None if entry.at is None else round((now - entry.at).total_seconds(), 1)}


def location_states(entries: Sequence[LocationEntry]) -> list[LocationState]:
    """The locations that have a result, as the model's per-location table has them."""
    return [LocationState(e.location, e.status, e.summary, e.at, e.phase, e.duration, e.stale)
            for e in entries if e.at]


def location_table(entries: Sequence[LocationEntry], now: datetime) -> str:
    """``london CRITICAL connect "refused" 12s ago · paris OK 95 ms`` (failing first)."""
    return model_table(location_states(entries), now)


def status_json(checks: Checks, states: CheckStates, incidents: Incidents,
                now: datetime | None = None) -> dict[str, Any]:
    """Every check with its state and last result per location, and the open incidents."""
    results = checks.results()
    entries = [_check_json(c, results.get(c.name)) for c in checks.checks()]
    open_incidents = [incident_json(i, incidents) for i in incidents.incidents()]
    qualified = states.check_states()
    for entry in entries:
        view = qualified.get(str(entry["check"]))
        if view is not None:
            entry["state"] = view.state
            entry["flapping"] = view.flapping
            if now is not None:
                entry["locations"] = [location_json(loc, now) for loc in view.locations]
                entry["location_table"] = location_table(view.locations, now)
    return {"location": checks.location, "checks": entries,
            "incidents": [i for i in open_incidents if i["ended_at"] is None]}
