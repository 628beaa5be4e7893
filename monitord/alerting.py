"""Alerting wired into the daemon: results -> qualification -> routing -> grouping -> outbox.

This is the edge around the pure core: it owns the SQLite store, feeds each result to the
pipeline, and commits the pipeline's state changes *and* the outbox rows they produce in one
transaction, so a crash (kill -9 included) neither loses a notification nor repeats one. It
wakes up for the pipeline's own deadlines (group_wait, repeats, silence ends) and for the
instants a route's time intervals change (the morning hand-over).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog

from monitord.config.schema import CheckConfig
from monitord.model import AlertEvent, Notification, Result
from monitord.notify import outbox as outbox_mod
from monitord.notify.base import SenderEnv
from monitord.notify.outbox import Outbox, ReceiverStats
from monitord.notify.registry import build_senders
from monitord.qualify import QualifySettings, persist
from monitord.qualify.handover import Target
from monitord.qualify.pipeline import Batch, Pipeline, load
from monitord.route.routes import Router
from monitord.store import Store

if TYPE_CHECKING:
    from monitord.api.metrics import Exposition
    from monitord.clock import Clock
    from monitord.compat import TaskGroup
    from monitord.config.load import Config

log = structlog.get_logger("monitord.alerting")

MAX_SLEEP = 60.0  # re-evaluate at least this often (clock jumps, maintenance windows)
STATS_EVERY = 5.0  # outbox statistics for /metrics and /healthz are refreshed this often
# State that only moved (streaks, flap history, last results) is written at most this late, in
# one transaction for every result of the period: one per result cost a thread hop and a
# commit each at 1,000 results/s. Alert events are written at once; a clean stop writes all.
STATE_FLUSH_EVERY = 1.0


def qualify_settings(config: Config) -> QualifySettings:
    a = config.alerting
    # The engine repeats at the shortest interval any route asks for; the grouper then holds
    # back repeats that come sooner than a route's own repeat_interval.
    repeat = min([a.repeat_interval, *(r.repeat_interval for r in config.routes)])
    return QualifySettings(repeat_interval=repeat, flap_low=a.flap_low, flap_high=a.flap_high)


class Alerting:
    """The alerting half of a running daemon.

    Error handling: a store error while committing a batch is logged and the batch's
    notifications are retried at the next wake-up (the pipeline keeps them queued until a
    batch commits); a sender failure is the outbox's business (retries, give-up, receiver
    alert).
    """

    def __init__(self, config: Config, clock: Clock, store: Store) -> None:
        self.config = config
        self.clock = clock
        self.store = store
        self.router = Router(config.routes, config.alerting)
        self.pipeline: Pipeline | None = None
        self.outbox: Outbox | None = None
        self._outbox_task: asyncio.Task[None] | None = None
        self._group: TaskGroup | None = None
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._stats: dict[str, ReceiverStats] = {}
        self._stats_due = 0.0
        # The pending state write: when it is due (for the loop's plan), and the timer that
        # wakes the loop then.
        self._flush_due: float | None = None
        self._flush_timer: asyncio.TimerHandle | None = None
        self.commits = 0
        self.notifications = 0

    # -- set-up -------------------------------------------------------------------------

    def _targets(self, event: AlertEvent, now: datetime) -> Sequence[Target]:
        return self.router.decide(event.labels, now).targets

    async def open(self) -> None:
        """Migrate the schema and resume the pipeline from the store."""
        await persist.migrate(self.store)
        await outbox_mod.migrate(self.store)
        config = self.config
        settings = qualify_settings(config)

        def resume(conn: sqlite3.Connection) -> Pipeline:
            return load(conn, config.checks, self._targets, settings, config.maintenance)

        self.pipeline = await self.store.call(resume)
        self.outbox = self._build_outbox(config)
        # A restart may have crossed a route's opening time, or a silence's end.
        now = self.clock.now()
        self.pipeline.tick(now)
        self.pipeline.hand_over(now)
        await self.commit(now)

    def _build_outbox(self, config: Config) -> Outbox:
        env = SenderEnv(self.clock, config.smtp, external_url=config.api.external_url)
        return Outbox(self.store, build_senders(config.receivers, env), self.clock,
                      max_delivery_age=config.alerting.max_delivery_age,
                      receiver_alert_after=config.alerting.receiver_alert_after,
                      on_receiver_alert=self._receiver_alert)

    # -- the flow ---------------------------------------------------------------------------

    async def on_result(self, result: Result) -> None:
        assert self.pipeline is not None
        now = self.clock.now()
        events = self.pipeline.process(result, now)
        for event in events:
            log.info("alert_event", kind=event.kind.value, incident=event.incident_id,
                     check=event.check, status=event.status.name, summary=event.summary)
        if events:
            await self.commit(now)
            self._wake.set()  # a new group may be due sooner than the loop planned
        elif self._flush_due is None:  # the loop wakes then and writes what is pending
            self._flush_due = self.clock.monotonic() + STATE_FLUSH_EVERY
            self._flush_timer = asyncio.get_running_loop().call_later(
                STATE_FLUSH_EVERY, self._wake.set)

    def next_delay(self, config: CheckConfig, result: Result) -> float:
        """The scheduler's cadence: retry_interval while a problem is being confirmed."""
        if self.pipeline is not None and self.pipeline.qualifier.retrying(
                config.name, result.location):
            return config.retry_interval
        return config.interval

    async def commit(self, now: datetime) -> None:
        """Write what the pipeline produced (state + outbox rows) in one transaction."""
        assert self.pipeline is not None
        async with self._lock:  # batches commit in the order they were taken
            if self._flush_timer is not None:
                self._flush_timer.cancel()
            self._flush_due = self._flush_timer = None
            batch = self.pipeline.take_batch(now)
            if not batch:
                return
            await self.store.transaction(lambda conn: _write(conn, batch))
        self.commits += 1
        if batch.notifications:
            self.notifications += len(batch.notifications)
            for n in batch.notifications:
                log.info("notification_queued", id=n.id, receiver=n.receiver,
                         events=len(n.events), firing=n.firing)
            if self.outbox is not None:
                self.outbox.wake({n.receiver for n in batch.notifications})

    async def run(self, group: TaskGroup) -> None:
        """Wake for deadlines and route changes until cancelled; owns the outbox task."""
        self._group = group
        self._start_outbox()
        try:
            await self._loop()
        finally:  # the outbox task lives in the daemon's group but ends with us
            if self._outbox_task is not None:
                self._outbox_task.cancel()
            if self._flush_due is not None:  # state not written yet: a clean stop keeps it
                try:
                    await self.commit(self.clock.now())
                except sqlite3.Error:
                    log.exception("alerting_commit_failed")

    async def _loop(self) -> None:
        assert self.pipeline is not None
        while True:
            now = self.clock.now()
            deadlines = [t for t in (self.pipeline.next_wakeup(now),
                                     self.router.next_change(now)) if t is not None]
            delay = MAX_SLEEP
            if deadlines:
                delay = min(MAX_SLEEP, max(0.0, (min(deadlines) - now).total_seconds()))
            if self._flush_due is not None:  # its timer may have fired while we were busy
                delay = min(delay, max(0.0, self._flush_due - self.clock.monotonic()))
            self._wake.clear()
            # asyncio.TimeoutError is not the builtin one before Python 3.11
            with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            now = self.clock.now()
            self.pipeline.tick(now)
            self.pipeline.hand_over(now)
            try:
                await self.commit(now)
            except sqlite3.Error:
                log.exception("alerting_commit_failed")
            if self.outbox is not None and self.clock.monotonic() >= self._stats_due:
                self._stats = await self.outbox.stats()
                self._stats_due = self.clock.monotonic() + STATS_EVERY

    def _start_outbox(self) -> None:
        if self._group is not None and self.outbox is not None:
            self._outbox_task = self._group.create_task(self.outbox.run(), name="outbox")

    async def reload(self, config: Config) -> None:
        """Swap in a new config: routes, checks, maintenance, settings; senders if changed."""
        assert self.pipeline is not None
        now = self.clock.now()
        self.router = Router(config.routes, config.alerting)
        self.pipeline.qualifier.settings = qualify_settings(config)
        self.pipeline.update_checks(config.checks, now)
        self.pipeline.set_maintenance(config.maintenance, now)
        if (config.receivers, config.smtp) != (self.config.receivers, self.config.smtp):
            if self._outbox_task is not None:
                self._outbox_task.cancel()
                # Let the old workers end (a send cut short is re-sent: same idempotency key).
                await asyncio.wait({self._outbox_task})
            self.outbox = self._build_outbox(config)
            self._start_outbox()
        self.config = config
        self.pipeline.hand_over(now)
        await self.commit(now)
        self._wake.set()

    async def _receiver_alert(self, event: AlertEvent) -> None:
        """A receiver keeps failing (or works again): tell every other receiver, at once."""
        failing = event.labels.get("receiver", "")
        others = [r.name for r in self.config.receivers if r.name != failing]
        notes = [
            Notification(
                id=f"{event.incident_id}:{event.kind.value}:{name}", receiver=name,
                group_key="{receiver_health}", group_labels={"receiver": failing},
                events=(event,), created_at=event.at,
            )
            for name in others
        ]
        log.warning("receiver_alert", receiver=failing, kind=event.kind.value,
                    summary=event.summary, told=others)
        if notes and self.outbox is not None:
            await self.outbox.submit(notes)

    # -- operator actions --------------------------------------------------------------

    async def acknowledge(self, incident: str, by: str, comment: str) -> list[AlertEvent]:
        assert self.pipeline is not None
        now = self.clock.now()
        events = self.pipeline.acknowledge(incident, by, comment, now)
        await self.commit(now)
        self._wake.set()
        return events

    async def add_silence(self, matchers: Sequence[str], starts_at: datetime | None,
                          ends_at: datetime, by: str, comment: str) -> Any:
        assert self.pipeline is not None
        now = self.clock.now()
        silence = self.pipeline.qualifier.add_silence(matchers, starts_at or now, ends_at, by,
                                                      comment, now)
        await self.commit(now)
        self._wake.set()
        return silence

    async def expire_silence(self, silence_id: str) -> None:
        assert self.pipeline is not None
        now = self.clock.now()
        self.pipeline.expire_silence(silence_id, now)
        await self.commit(now)
        self._wake.set()

    # -- views -------------------------------------------------------------------------------

    def health_problem(self) -> str | None:
        task = self._outbox_task
        if task is not None and task.done() and not task.cancelled():
            return "outbox: delivery workers stopped"
        stuck = [n for n, s in self._stats.items()
                 if s.pending and s.oldest_age > self.config.alerting.max_delivery_age]
        if stuck:
            return f"outbox: notifications older than max_delivery_age for {', '.join(stuck)}"
        return None

    def metrics(self, out: Exposition) -> None:
        stats = self._stats
        out.metric("monitord_outbox_pending", "gauge", "Notifications waiting for delivery.",
                   [({"receiver": n}, s.pending) for n, s in stats.items()])
        out.metric("monitord_outbox_oldest_seconds", "gauge",
                   "Age of the oldest pending notification.",
                   [({"receiver": n}, s.oldest_age) for n, s in stats.items()])
        out.metric("monitord_notifications_sent_total", "counter", "Delivered notifications.",
                   [({"receiver": n}, s.sent) for n, s in stats.items()])
        out.metric("monitord_notifications_failed_total", "counter",
                   "Notifications given up.", [({"receiver": n}, s.failed)
                                              for n, s in stats.items()])
        out.metric("monitord_receiver_failing", "gauge", "1 while a receiver keeps failing.",
                   [({"receiver": n}, 1.0 if s.failing_since else 0.0)
                    for n, s in stats.items()])
        if self.pipeline is not None:
            open_incidents = [i for i in self.pipeline.qualifier.incidents() if not i.ended_at]
            out.metric("monitord_incidents_open", "gauge", "Open incidents.",
                       [({}, len(open_incidents))])

    def incidents_json(self) -> list[dict[str, Any]]:
        if self.pipeline is None:
            return []
        return [_incident_json(i) for i in self.pipeline.qualifier.incidents()]

    def silences_json(self) -> list[dict[str, Any]]:
        if self.pipeline is None:
            return []
        now = self.clock.now()
        return [{
            "id": s.id, "matchers": [str(m) for m in s.matchers],
            "starts_at": _iso(s.starts_at), "ends_at": _iso(s.ends_at),
            "created_by": s.created_by, "comment": s.comment, "active": s.active(now),
        } for s in self.pipeline.qualifier.silences(now)]

    def check_states(self) -> dict[str, Any]:
        if self.pipeline is None:
            return {}
        return dict(self.pipeline.qualifier.snapshot(self.clock.now()))


def _write(conn: sqlite3.Connection, batch: Batch) -> None:
    batch.write(conn)
    if batch.notifications:
        outbox_mod.enqueue(conn, batch.notifications)


def _iso(when: datetime | None) -> str | None:
    return when.isoformat().replace("+00:00", "Z") if when else None


def _incident_json(view: Any) -> dict[str, Any]:
    return {
        "id": view.id, "check": view.check, "status": view.status.name,
        "phase": view.phase.value if view.phase else None, "summary": view.summary,
        "started_at": _iso(view.started_at), "ended_at": _iso(view.ended_at),
        "notified": view.notified, "acknowledged_by": view.acknowledged_by,
        "acknowledged_at": _iso(view.acknowledged_at), "ack_comment": view.ack_comment,
        "held": view.held, "caused_by": list(view.caused_by),
    }

