"""Who has been told of each open incident, and the morning hand-over.

Routing may *hold* a target: its route matches but is outside its active time intervals (or
inside a mute interval). The contract says that when such a route becomes deliverable again,
the problems still open that it has not delivered are delivered then, without waiting for the
next repeat. And a recovery must reach every receiver that was told of the problem, even if
the route that told it is muted by now (a night-time page is resolved in the morning).

So for each open incident this keeps the receivers that were told of it and its newest firing
event. Pure: ``now`` is passed in; :meth:`HandOver.take_changes` gives the rows to save in the
same transaction as the rest of the qualification state.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from monitord import eventcodec
from monitord.model import AlertEvent, EventKind


class Target(Protocol):
    """Where an event goes (``monitord.route.routes.Target`` has these fields)."""

    @property
    def receiver(self) -> str: ...
    @property
    def group_by(self) -> tuple[str, ...]: ...
    @property
    def group_wait(self) -> float: ...
    @property
    def group_interval(self) -> float: ...
    @property
    def repeat_interval(self) -> float: ...
    @property
    def deliverable(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class FallbackTarget:
    """Grouping for a receiver that must hear of an incident outside any matching route."""

    receiver: str
    group_by: tuple[str, ...] = ()
    group_wait: float = 30.0
    group_interval: float = 300.0
    repeat_interval: float = 4 * 3600.0
    deliverable: bool = True


TargetsFn = Callable[[AlertEvent, datetime], Sequence[Target]]
HandoverRow = tuple[str, str | None, str | None]  # incident id, receivers JSON, event (None: gone)

# Events that tell receivers something new about a problem that is (still) open.
_FIRING_NEWS = {EventKind.PROBLEM, EventKind.SEVERITY, EventKind.REPEAT,
                EventKind.FLAPPING_STARTED}


class HandOver:
    def __init__(self, fallback: Callable[[str], Target] = FallbackTarget) -> None:
        self._told: dict[str, set[str]] = {}
        self._latest: dict[str, AlertEvent] = {}
        self._fallback = fallback
        self._dirty: set[str] = set()

    def deliveries(self, event: AlertEvent, targets: Sequence[Target]
                   ) -> list[tuple[AlertEvent, Target]]:
        """Which (event, target) pairs to queue for ``event``, given routing's targets."""
        incident = event.incident_id
        told = self._told.setdefault(incident, set())
        self._dirty.add(incident)
        if event.kind in _FIRING_NEWS or (event.kind is EventKind.FLAPPING_STOPPED
                                          and event.firing):
            self._latest[incident] = event
            out = []
            for target in targets:
                if not target.deliverable:
                    continue  # held: the hand-over delivers it when the route can
                if target.receiver in told:
                    out.append((event, target))
                else:  # first news for this receiver: it is a problem to it, not a repeat
                    out.append((_as_problem(event), target))
                    told.add(target.receiver)
            return out
        # Acknowledgement, recovery, flapping stopped while OK: to those who were told.
        by_receiver = {t.receiver: t for t in targets}
        out = [(event, by_receiver.get(r) or self._fallback(r)) for r in sorted(told)]
        if not event.firing:
            self._told.pop(incident, None)
            self._latest.pop(incident, None)
        return out

    def due(self, targets: TargetsFn, now: datetime) -> list[tuple[AlertEvent, Target]]:
        """Open problems that a now-deliverable target has not been told of."""
        out = []
        for incident, event in self._latest.items():
            told = self._told.setdefault(incident, set())
            for target in targets(event, now):
                if target.deliverable and target.receiver not in told:
                    out.append((replace(_as_problem(event), at=now), target))
                    told.add(target.receiver)
                    self._dirty.add(incident)
        return out

    def forget(self, incidents: Iterable[str]) -> None:
        for incident in incidents:
            if incident in self._told or incident in self._latest:
                self._told.pop(incident, None)
                self._latest.pop(incident, None)
                self._dirty.add(incident)

    def open_incidents(self) -> set[str]:
        return set(self._latest)

    def told(self, incident: str) -> frozenset[str]:
        return frozenset(self._told.get(incident, ()))

    def take_changes(self) -> list[HandoverRow]:
        rows: list[HandoverRow] = []
        for incident in sorted(self._dirty):
            event = self._latest.get(incident)
            if event is None and not self._told.get(incident):
                rows.append((incident, None, None))
            else:
                rows.append((incident, json.dumps(sorted(self._told.get(incident, ()))),
                             eventcodec.dumps_event(event) if event is not None else None))
        self._dirty.clear()
        return rows

    def restore(self, rows: Iterable[tuple[str, str, str | None]]) -> None:
        for incident, receivers, event in rows:
            self._told[incident] = set(json.loads(receivers))
            if event is not None:
                self._latest[incident] = eventcodec.loads_event(event)


def _as_problem(event: AlertEvent) -> AlertEvent:
    if event.kind in (EventKind.REPEAT, EventKind.SEVERITY):
        return replace(event, kind=EventKind.PROBLEM)
    return event


