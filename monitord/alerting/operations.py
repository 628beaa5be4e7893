"""The operator's side of the alerting edge: acknowledgements and silences (committed at
once, then the loop is woken for the deadlines they move), and the read views the API and
the status pages see.

A mixin of :class:`monitord.alerting.edge.Alerting`. What it uses of its host is written
out in :class:`AlertingHost`, the self-type of every method, so mypy checks that the host
provides it — without this module importing the host (no import circle).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from monitord.clock import Clock
    from monitord.configfile import Config
    from monitord.evidence.desk import EvidenceDesk
    from monitord.model import AlertEvent, Evidence
    from monitord.notify.outbox import ReceiverStats
    from monitord.qualify.pipeline import Pipeline
    from monitord.qualify.silences import Silence
    from monitord.qualify.snapshot import CheckView, IncidentView


class AlertingHost(Protocol):
    """What :class:`Operations` uses of the alerting edge it is mixed into."""

    config: Config
    clock: Clock
    pipeline: Pipeline | None
    evidence: EvidenceDesk
    _wake: asyncio.Event
    _stats: dict[str, ReceiverStats]
    _outbox_task: asyncio.Task[None] | None

    def _now(self) -> datetime: ...

    async def commit(self, now: datetime) -> None: ...

    def _state_problem(self) -> str | None: ...


class Operations:
    """Operator actions and read views of the alerting edge (a mixin: see AlertingHost)."""

    # -- operator actions --------------------------------------------------------------

    async def acknowledge(self: AlertingHost, incident: str, by: str,
                          comment: str) -> list[AlertEvent]:
        assert self.pipeline is not None
        now = self._now()
        events = self.pipeline.acknowledge(incident, by, comment, now)
        await self.commit(now)
        self._wake.set()
        return events

    async def add_silence(self: AlertingHost, matchers: Sequence[str],
                          starts_at: datetime | None, ends_at: datetime, by: str,
                          comment: str) -> Any:
        assert self.pipeline is not None
        now = self._now()
        silence = self.pipeline.qualifier.add_silence(matchers, starts_at or now, ends_at, by,
                                                      comment, now, uuid.uuid4().hex)
        await self.commit(now)
        self._wake.set()
        return silence

    async def expire_silence(self: AlertingHost, silence_id: str) -> None:
        assert self.pipeline is not None
        now = self._now()
        self.pipeline.expire_silence(silence_id, now)
        await self.commit(now)
        self._wake.set()

    # -- views -------------------------------------------------------------------------------

    def health_problem(self: AlertingHost) -> str | None:
        problem = self._state_problem()
        if problem is not None:
            return f"state not writable: {problem}"
        task = self._outbox_task
        if task is not None and task.done() and not task.cancelled():
            return "outbox: delivery workers stopped"
        stuck = [n for n, s in self._stats.items()
                 if s.pending and s.oldest_age > self.config.alerting.max_delivery_age]
        if stuck:
            return f"outbox: notifications older than max_delivery_age for {', '.join(stuck)}"
        return None

    def receiver_stats(self: AlertingHost) -> dict[str, ReceiverStats]:
        """The outbox statistics by receiver, as of the last refresh (STATS_EVERY)."""
        return self._stats

    def incidents(self: AlertingHost) -> list[IncidentView]:
        if self.pipeline is None:
            return []
        return self.pipeline.qualifier.incidents()

    def diagnosis(self: AlertingHost, incident: str) -> tuple[Sequence[Evidence], Sequence[str]]:
        """The evidence gathered for an incident and what changed (empty until it settles)."""
        return self.evidence.incident(incident)

    def silences(self: AlertingHost, now: datetime) -> list[Silence]:
        if self.pipeline is None:
            return []
        return self.pipeline.qualifier.silences(now)

    def check_states(self: AlertingHost) -> dict[str, CheckView]:
        if self.pipeline is None:
            return {}
        return dict(self.pipeline.qualifier.snapshot(self.clock.now()))
