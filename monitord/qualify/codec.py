"""Qualification state to and from JSON text, for :mod:`monitord.qualify_store`.

The encoding is internal: rows written by one version are read by the same or a later one
(the schema version in ``qualify_store`` guards incompatible changes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitord.model import Phase, Status
from monitord.qualify.confirm import Confirmation
from monitord.qualify.flapping import FlapState
from monitord.qualify.incidents import Incident, Told
from monitord.qualify.silences import Silence
from monitord.qualify.state import CheckState
from monitord.route.matchers import Matcher

CheckRow = tuple[str, str]  # name, state
IncidentRow = tuple[str, str, str, str | None, str]  # id, check, started_at, ended_at, data
SilenceRow = tuple[str, str, str, str]  # id, starts_at, ends_at, data


@dataclass(frozen=True, slots=True)
class QualifyChanges:
    """Rows to write since the last :meth:`Qualifier.take_changes` (already encoded, so the
    store thread never touches live engine objects)."""

    checks: tuple[CheckRow, ...] = ()
    deleted_checks: tuple[str, ...] = ()
    incidents: tuple[IncidentRow, ...] = ()
    silences: tuple[SilenceRow, ...] = ()
    deleted_silences: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.checks or self.deleted_checks or self.incidents or self.silences
                    or self.deleted_silences)


def _dumps(data: object) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def check_row(state: CheckState) -> CheckRow:
    return state.name, _dumps({
        "status": int(state.status),
        "since": _iso(state.since),
        "history": state.flap.history,
        "flapping": state.flap.flapping,
        "last_incident_id": state.last_incident_id,
        "locations": {name: conf.to_list() for name, conf in state.locations.items()},
    })


def restore_check(state: CheckState, text: str) -> None:
    """Apply a saved row to a freshly configured state (unknown locations are dropped)."""
    data = json.loads(text)
    state.status = Status(data["status"])
    state.since = _dt(data["since"])
    state.flap = FlapState(data["history"], bool(data["flapping"]))
    state.last_incident_id = data["last_incident_id"]
    for name, saved in data["locations"].items():
        if name in state.locations:
            state.locations[name] = Confirmation.from_list(saved)
    state.refresh_down()


def incident_row(inc: Incident) -> IncidentRow:
    data = {
        "id": inc.id, "check": inc.check, "started_at": _iso(inc.started_at),
        "status": int(inc.status), "phase": inc.phase.value if inc.phase else None,
        "summary": inc.summary, "confirmations": inc.confirmations, "told": int(inc.told),
        "told_status": int(inc.told_status), "last_told_at": _iso(inc.last_told_at),
        "acked_by": inc.acked_by, "acked_at": _iso(inc.acked_at),
        "ack_comment": inc.ack_comment, "ended_at": _iso(inc.ended_at), "held": inc.held,
        "hold_until": _iso(inc.hold_until), "caused_by": list(inc.caused_by),
        "labels": dict(inc.labels), "degraded": [inc.degraded, inc.told_degraded],
    }
    return inc.id, inc.check, inc.started_at.isoformat(), _iso(inc.ended_at), _dumps(data)


def incident_from_json(text: str) -> Incident:
    data = json.loads(text)
    started_at = _dt(data["started_at"])
    assert started_at is not None  # always written
    degraded, told_degraded = data.get("degraded", (False, False))
    return Incident(
        degraded=bool(degraded), told_degraded=bool(told_degraded),
        id=data["id"], check=data["check"], started_at=started_at,
        status=Status(data["status"]),
        phase=Phase(data["phase"]) if data["phase"] else None,
        summary=data["summary"], confirmations=data["confirmations"],
        told=Told(data["told"]), told_status=Status(data["told_status"]),
        last_told_at=_dt(data["last_told_at"]), acked_by=data["acked_by"],
        acked_at=_dt(data["acked_at"]), ack_comment=data["ack_comment"],
        ended_at=_dt(data["ended_at"]), held=data["held"], hold_until=_dt(data["hold_until"]),
        caused_by=tuple(data["caused_by"]), labels=dict(data["labels"]),
    )


def silence_row(silence: Silence) -> SilenceRow:
    data = {
        "id": silence.id, "matchers": [str(m) for m in silence.matchers],
        "starts_at": silence.starts_at.isoformat(), "ends_at": silence.ends_at.isoformat(),
        "created_by": silence.created_by, "comment": silence.comment,
        "created_at": silence.created_at.isoformat(),
    }
    return silence.id, silence.starts_at.isoformat(), silence.ends_at.isoformat(), _dumps(data)


def silence_from_json(text: str) -> Silence:
    data = json.loads(text)
    return Silence(
        id=data["id"], matchers=tuple(Matcher.parse(m) for m in data["matchers"]),
        starts_at=datetime.fromisoformat(data["starts_at"]),
        ends_at=datetime.fromisoformat(data["ends_at"]), created_by=data["created_by"],
        comment=data["comment"], created_at=datetime.fromisoformat(data["created_at"]),
    )
