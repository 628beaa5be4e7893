"""Incidents: one confirmed problem from its start to its recovery, and what was told of it.

The engine keeps, per incident, what receivers have been told (nothing, the problem at some
status, or that the check is flapping). :func:`next_event` compares that with the truth and
says which single event, if any, brings receivers up to date. Running it again after any
change (a result, a silence ending, a parent recovering, time passing) is all it takes to
release held problems and send repeats: nothing is scheduled, everything is reconciled.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from monitord.model import EventKind, Phase, Status


class Told(enum.IntEnum):
    NOTHING = 0  # recorded only (held, or closed before it could be told)
    PROBLEM = 1  # a firing event went out; ``told_status`` is the status it announced
    FLAPPING = 2  # "flapping started" went out


@dataclass(slots=True)
class Incident:
    """One confirmed problem of one check (mutable state owned by the engine)."""

    id: str
    check: str
    started_at: datetime
    status: Status
    phase: Phase | None
    summary: str
    confirmations: int  # consecutive non-OK results when it was confirmed
    told: Told = Told.NOTHING
    told_status: Status = Status.OK
    last_told_at: datetime | None = None
    acked_by: str | None = None
    acked_at: datetime | None = None
    ack_comment: str = ""
    ended_at: datetime | None = None
    held: str = ""  # why it is not notified right now ("" = not held)
    hold_until: datetime | None = None  # when the hold should be looked at again
    caused_by: tuple[str, ...] = ()
    # The alert labels at the last update: a closing event still routes to the same receivers
    # after the check itself was removed from the configuration.
    labels: Mapping[str, str] = field(default_factory=dict)
    # Fewer locations than the quorum fail: routable (label degraded="true"), not a problem.
    degraded: bool = False
    told_degraded: bool = False

    @property
    def open(self) -> bool:
        return self.ended_at is None

    def told_event(self, kind: EventKind, now: datetime) -> None:
        """Remember what an emitted event told receivers."""
        if kind is EventKind.FLAPPING_STARTED:
            self.told = Told.FLAPPING
        elif kind in (EventKind.PROBLEM, EventKind.SEVERITY, EventKind.REPEAT) or (
            kind is EventKind.FLAPPING_STOPPED and self.open
        ):
            self.told, self.told_status = Told.PROBLEM, self.status
            self.told_degraded = self.degraded
        if kind is not EventKind.ACKNOWLEDGED:
            self.last_told_at = now

    def repeat_due(self, repeat_interval: float) -> datetime | None:
        """When the next REPEAT is due, or None when none will be (acked, not firing)."""
        if self.told is not Told.PROBLEM or self.acked_by is not None or not self.open:
            return None
        assert self.last_told_at is not None  # set whenever told becomes PROBLEM
        return self.last_told_at + timedelta(seconds=repeat_interval)


def next_event(incident: Incident, *, flapping: bool, held: bool, now: datetime,
               repeat_interval: float) -> EventKind | None:
    """The one event that brings receivers up to date with ``incident``, if any.

    Closing news (a recovery, the end of flapping) of something that was told is never held:
    a silence or a parent failure that began later must not swallow it.
    """
    told = incident.told
    if not incident.open:
        if told is Told.PROBLEM:
            return EventKind.RECOVERY
        if told is Told.FLAPPING:
            return EventKind.FLAPPING_STOPPED
        return None
    if flapping:
        if told is Told.FLAPPING or held:
            return None
        return EventKind.FLAPPING_STARTED
    if told is Told.FLAPPING:
        return EventKind.FLAPPING_STOPPED
    if held:
        return None
    if told is Told.NOTHING:
        return EventKind.PROBLEM
    if incident.told_degraded != incident.degraded:
        # Quorum reached: a problem for the routes that page. Back to degraded: news too.
        return EventKind.SEVERITY if incident.degraded else EventKind.PROBLEM
    if incident.told_status is not incident.status:
        return EventKind.SEVERITY
    due = incident.repeat_due(repeat_interval)
    if due is not None and now >= due:
        return EventKind.REPEAT
    return None


def incident_id(check: str, started_at: datetime, previous: str) -> str:
    """``<check>-<UTC start, to the second>``: stable, readable, and the same on two daemons
    that saw the same results; a suffix keeps it unique if a new incident starts within the
    same second as the previous one."""
    base = f"{check}-{started_at.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}"
    if previous == base or previous.startswith(base + "."):
        number = int(previous.rsplit(".", 1)[1]) + 1 if previous != base else 2
        return f"{base}.{number}"
    return base
