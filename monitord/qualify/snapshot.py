"""Read-only views of qualification state, for the status API and the status page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitord.model import Phase, Status
from monitord.qualify.incidents import Incident, Told
from monitord.qualify.state import CheckState


@dataclass(frozen=True, slots=True)
class LocationView:
    location: str
    status: Status  # of the newest result
    hard: Status  # confirmed state at this location
    phase: Phase | None
    summary: str
    at: datetime | None
    pending: int  # non-OK results of a confirmation in progress (0 = none)
    streak: int
    stale: bool
    duration: float | None = None


@dataclass(frozen=True, slots=True)
class IncidentView:
    id: str
    check: str
    status: Status
    phase: Phase | None
    summary: str
    started_at: datetime
    ended_at: datetime | None
    notified: bool  # receivers have been told of it
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    ack_comment: str
    held: str  # why it is not notified now ("" when not held)
    caused_by: tuple[str, ...]

    @classmethod
    def of(cls, inc: Incident) -> IncidentView:
        return cls(inc.id, inc.check, inc.status, inc.phase, inc.summary, inc.started_at,
                   inc.ended_at, inc.told is not Told.NOTHING, inc.acked_by, inc.acked_at,
                   inc.ack_comment, inc.held, inc.caused_by)


@dataclass(frozen=True, slots=True)
class CheckView:
    """One check: ``state`` is ``ok``, ``confirming``, ``degraded``, ``problem`` or
    ``flapping``."""

    check: str
    state: str
    status: Status
    since: datetime | None
    confirm: int
    flapping: bool
    percent_state_change: float
    locations: tuple[LocationView, ...]
    incident: IncidentView | None


def check_view(state: CheckState, cutoff: datetime,
               silent: frozenset[str] = frozenset()) -> CheckView:
    """The view of one check; results older than ``cutoff`` (or of a silent agent) are
    stale."""
    locations = tuple(
        LocationView(n, c.status, c.hard, c.phase, c.summary, c.at, c.pending, c.streak,
                     c.at is None or c.at < cutoff or n in silent, c.duration)
        for n, c in state.locations.items())
    if state.flap.flapping:
        label = "flapping"
    elif state.status.is_problem:
        label = "problem"
    elif state.incident is not None and state.incident.degraded:
        label = "degraded"
    elif any(c.confirming for c in state.locations.values()):
        label = "confirming"
    else:
        label = "ok"
    return CheckView(
        state.name, label, state.status, state.since, state.config.confirm,
        state.flap.flapping, state.flap.percent, locations,
        IncidentView.of(state.incident) if state.incident is not None else None)
