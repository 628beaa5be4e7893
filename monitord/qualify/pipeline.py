"""Qualification, routing and grouping put together, with one batch to commit per step.

The daemon feeds results and time; every event the engine gives is routed (a callable, e.g.
``lambda e, now: router.decide(e.labels, now).targets``, held targets included) and queued in
its groups; :class:`~monitord.qualify.handover.HandOver` decides which receivers hear of it
(held routes get the open problems when they can deliver; recoveries go to those told). Then
:meth:`Pipeline.take_batch` hands over the notifications that are due together with every
state change, and the daemon writes them with the outbox rows in ONE transaction
(:mod:`monitord.qualify_store`)::

    batch = pipeline.take_batch(now)
    await store.transaction(lambda conn: (qualify_store.write(conn, batch),
                                          outbox.enqueue(conn, batch.notifications)))

Pure: ``now`` is passed in and nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitord.config.schema import CheckConfig
from monitord.model import AlertEvent, Notification, Result
from monitord.qualify.codec import QualifyChanges
from monitord.qualify.engine import Qualifier
from monitord.qualify.grouping import GroupChanges, Grouper
from monitord.qualify.handover import HandOver, HandoverRow, Target
from monitord.qualify.silences import MaintenanceWindow

RouteFn = Callable[[AlertEvent, datetime], Sequence[Target]]


@dataclass(frozen=True, slots=True)
class Batch:
    """What one step produced: notifications for the outbox and the state to save."""

    notifications: tuple[Notification, ...]
    qualify: QualifyChanges
    grouping: GroupChanges
    handover: tuple[HandoverRow, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.notifications or self.qualify or self.grouping or self.handover)


class Pipeline:
    """A Qualifier and a Grouper joined by routing."""

    def __init__(self, qualifier: Qualifier, grouper: Grouper, route: RouteFn,
                 handover: HandOver | None = None) -> None:
        self.qualifier = qualifier
        self.grouper = grouper
        self.route = route
        self.handover = handover or HandOver()

    def _queue(self, events: list[AlertEvent], now: datetime) -> list[AlertEvent]:
        for event in events:
            self._add(self.handover.deliveries(event, list(self.route(event, now))), now)
        return events

    def _add(self, pairs: Iterable[tuple[AlertEvent, Target]], now: datetime) -> None:
        for event, t in pairs:
            self.grouper.add(event, t.receiver, t.group_by, t.group_wait,
                             t.group_interval, now, t.repeat_interval)

    def hand_over(self, now: datetime) -> None:
        """Deliver open problems to targets that have become deliverable (a route's active
        hours began or its mute interval ended) and were not told yet."""
        self._add(self.handover.due(self.route, now), now)

    def process(self, result: Result, now: datetime) -> list[AlertEvent]:
        return self._queue(self.qualifier.process(result, now), now)

    def tick(self, now: datetime) -> list[AlertEvent]:
        return self._queue(self.qualifier.tick(now), now)

    def acknowledge(self, incident: str, by: str, comment: str,
                    now: datetime) -> list[AlertEvent]:
        return self._queue(self.qualifier.acknowledge(incident, by, comment, now), now)

    def expire_silence(self, silence_id: str, now: datetime) -> list[AlertEvent]:
        return self._queue(self.qualifier.expire_silence(silence_id, now), now)

    def update_checks(self, checks: Mapping[str, CheckConfig] | Iterable[CheckConfig],
                      now: datetime) -> list[AlertEvent]:
        return self._queue(self.qualifier.update_checks(checks, now), now)

    def set_maintenance(self, windows: Sequence[MaintenanceWindow],
                        now: datetime) -> list[AlertEvent]:
        return self._queue(self.qualifier.set_maintenance(windows, now), now)

    def next_wakeup(self, now: datetime) -> datetime | None:
        """When to call :meth:`tick` and :meth:`take_batch` next (None: on results only)."""
        times = [t for t in (self.qualifier.next_wakeup(now), self.grouper.next_due())
                 if t is not None]
        return min(times) if times else None

    def shift(self, delta: timedelta) -> None:
        """The wall clock stepped by ``delta`` (see :mod:`monitord.qualify.steps`)."""
        self.qualifier.shift(delta)
        self.grouper.shift(delta)

    def take_batch(self, now: datetime) -> Batch:
        notifications = tuple(self.grouper.flush_due(now))
        return Batch(notifications, self.qualifier.take_changes(), self.grouper.take_changes(),
                     tuple(self.handover.take_changes()))

