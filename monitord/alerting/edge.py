"""The Alerting class: the edge around the pure core (see the package's docstring).

It resumes the pipeline from the store, feeds it each result, commits what it produced
(``commit``: one transaction, or kept in memory while the store fails), and runs the loop
that wakes for the pipeline's deadlines and the routes' changes, the outbox and retention.
Operator actions and read views are mixed in from :mod:`monitord.alerting.operations`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

import structlog

from monitord import qualify_store
from monitord.alerting.operations import Operations
from monitord.alerting.records import log_events, write_batches
from monitord.alerting.settings import delivery_settings, qualify_settings
from monitord.clock import StepWatch
from monitord.config.schema import CheckConfig
from monitord.evidence.desk import EvidenceDesk
from monitord.model import AlertEvent, Notification, Result
from monitord.notify import outbox as outbox_mod
from monitord.notify.base import SenderEnv
from monitord.notify.health import state_unwritable, state_writable
from monitord.notify.outbox import Outbox, ReceiverStats
from monitord.notify.registry import build_senders
from monitord.qualify.handover import Target
from monitord.qualify.pipeline import Batch, Pipeline
from monitord.route.routes import Router
from monitord.store import Store
from monitord.supervise import Supervision, supervised

if TYPE_CHECKING:
    from monitord.clock import Clock
    from monitord.compat import TaskGroup
    from monitord.configfile import Config

log = structlog.get_logger("monitord.alerting")

MAX_SLEEP = 60.0  # re-evaluate at least this often (clock jumps, maintenance windows)
STATE_RETRY = 5.0  # a commit that failed (a full disk) is tried again this often
RETENTION_EVERY = 3600.0  # closed incidents and the notification log are pruned this often
STATS_EVERY = 5.0  # outbox statistics for /metrics and /healthz are refreshed this often
# State that only moved (streaks, flap history, last results) is written at most this late, in
# one transaction for every result of the period: one per result cost a thread hop and a
# commit each at 1,000 results/s. Alert events are written at once; a clean stop writes all.
STATE_FLUSH_EVERY = 1.0


class Alerting(Operations):
    """The alerting half of a running daemon.

    Error handling: when a commit fails (a full disk, a read-only file system) its batch is
    kept in memory and written with the next commit (tried every STATE_RETRY seconds), its
    notifications are delivered from memory meanwhile (same ids: at-least-once), every
    receiver gets a "state not writable" alert and /healthz says so. A sender failure is the
    outbox's business (retries, give-up, receiver alert). The loops are supervised: an
    unexpected exception is logged and the loop starts again.
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
        # Evidence and "what changed" for confirmed problems (monitord.evidence).
        self.evidence = EvidenceDesk(clock, store, config.alerting.evidence_timeout,
                                     config.checks)
        # The newest diagnosis of each open incident, for the status page.
        self.diagnoses: dict[str, str] = {}
        self._unsaved: list[Batch] = []  # batches whose commit failed, oldest first
        self._commit_error: str | None = None
        self._state_alert: datetime | None = None  # since when receivers know of it
        self._steps = StepWatch(clock)
        self._retention_task: asyncio.Task[None] | None = None
        self.supervision: Supervision | None = None  # told of loops that failed

    # -- set-up -------------------------------------------------------------------------

    def _targets(self, event: AlertEvent, now: datetime) -> Sequence[Target]:
        return self.router.decide(event.labels, now).targets

    def _now(self) -> datetime:
        """The time of a decision; a step of the wall clock since the last one is first
        absorbed by the core (its stored instants move with it) and logged."""
        step = self._steps.step()
        if step and self.pipeline is not None:
            log.warning("clock_step", seconds=round(step, 3),
                        detail="the wall clock jumped; durations and deadlines kept")
            self.pipeline.shift(timedelta(seconds=step))
        return self.clock.now()

    async def open(self) -> None:
        """Migrate the schema and resume the pipeline from the store."""
        await qualify_store.migrate(self.store)
        await outbox_mod.migrate(self.store)
        await self.evidence.open()
        config = self.config
        settings = qualify_settings(config)

        def resume(conn: sqlite3.Connection) -> Pipeline:
            return qualify_store.load(conn, config.qualified_checks(), self._targets, settings,
                                      config.maintenance)

        self.pipeline = await self.store.call(resume)
        # Until each agent posts again, its last known state holds (see qualify.quorum).
        self.pipeline.qualifier.holding = frozenset(a.location for a in config.agents)
        self.outbox = self._build_outbox(config)
        self._steps = StepWatch(self.clock)
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
                      on_receiver_alert=self._receiver_alert,
                      on_store_state=self._state_changed)

    # -- the flow ---------------------------------------------------------------------------

    async def on_result(self, result: Result) -> None:
        assert self.pipeline is not None
        now = self._now()
        await self.evidence.observe(result)
        events = self.pipeline.process(result, now)
        self._note(events)
        if events:
            await self.commit(now)
            self._wake.set()  # a new group may be due sooner than the loop planned
        elif self._flush_due is None:  # the loop wakes then and writes what is pending
            self._flush_due = self.clock.monotonic() + STATE_FLUSH_EVERY
            self._flush_timer = asyncio.get_running_loop().call_later(
                STATE_FLUSH_EVERY, self._wake.set)

    async def on_results(self, results: Sequence[Result]) -> None:
        """A batch from a probe agent: qualified together, committed in one transaction."""
        assert self.pipeline is not None
        now = self._now()
        events: list[AlertEvent] = []
        for result in results:
            await self.evidence.observe(result)
            events += self.pipeline.process(result, now)
        self._note(events)
        await self.commit(now)
        if events:
            self._wake.set()

    def _note(self, events: Sequence[AlertEvent]) -> None:
        """Log the events, start evidence for confirmed problems, keep the newest diagnosis
        of each open incident for the status page."""
        self.evidence.confirmed(events)
        log_events(events)
        for event in events:
            if event.ended_at is None:
                self.diagnoses[event.incident_id] = event.diagnosis
            else:
                self.diagnoses.pop(event.incident_id, None)

    async def set_silent(self, locations: frozenset[str], holding: frozenset[str]) -> None:
        """Agents gone silent (or back): their locations' results stop (or start) counting;
        ``holding``: agents not heard from since the start."""
        assert self.pipeline is not None
        now = self._now()
        self.pipeline.qualifier.silent = locations
        self.pipeline.qualifier.holding = holding
        self._note(self.pipeline.tick(now))
        await self.commit(now)
        self._wake.set()

    def next_delay(self, config: CheckConfig, result: Result) -> float:
        """The scheduler's cadence: retry_interval while a problem is being confirmed."""
        if self.pipeline is not None and self.pipeline.qualifier.retrying(
                config.name, result.location):
            return config.retry_interval
        return config.interval

    async def commit(self, now: datetime) -> None:
        """Write what the pipeline produced (state + outbox rows) in one transaction; when
        that fails, keep the batch for the next commit and deliver from memory."""
        assert self.pipeline is not None
        async with self._lock:  # batches commit in the order they were taken
            if self._flush_timer is not None:
                self._flush_timer.cancel()
            self._flush_due = self._flush_timer = None
            batch = self.pipeline.take_batch(now)
            if batch:
                # Kept before any await: a caller cancelled while the evidence settles (a
                # reload stopping its check, a stop) must not take the batch with it.
                self._unsaved.append(batch)
            if batch.notifications:  # evidence, changes, what was checked
                batch = replace(batch, notifications=await self.evidence.settle(
                    batch.notifications))
                self._unsaved[-1] = batch  # the same batch, settled (the lock keeps it last)
            if not self._unsaved:
                return
            batches = list(self._unsaved)
            marks = self.outbox.finished_marks() if self.outbox is not None else {}
            try:
                await self.store.transaction(lambda conn: write_batches(conn, batches, marks))
            except sqlite3.Error as exc:
                # Every queued batch's notifications (one kept by a cancelled caller was
                # never remembered); remembering is idempotent by notification id.
                pending = [n for b in batches for n in b.notifications]
                if self.outbox is not None and pending:
                    self.outbox.remember(pending)
                if self._commit_error is None:
                    log.error("state_not_writable", component="alerting", error=str(exc),
                              detail="kept in memory, written when possible")
                self._commit_error = str(exc)
                self._state_changed()
                return
            self._unsaved.clear()
            notes = [n for b in batches for n in b.notifications]
            if self.outbox is not None:
                self.outbox.saved(notes)
                self.outbox.recorded(marks)
                self.outbox.store_works()
        self.commits += len(batches)
        if self._commit_error is not None:
            log.info("state_writable_again", component="alerting", batches=len(batches))
            self._commit_error = None
            self._state_changed()
        if notes:
            self.notifications += len(notes)
            for n in notes:
                log.info("notification_queued", id=n.id, receiver=n.receiver,
                         events=len(n.events), firing=n.firing)
            if self.outbox is not None:
                self.outbox.wake({n.receiver for n in notes})

    def _state_problem(self) -> str | None:
        outbox = self.outbox.store_error if self.outbox is not None else None
        return self._commit_error or outbox

    def _state_changed(self) -> None:
        """Tell every receiver when the state stops or starts being writable (from memory:
        the store is the thing that fails)."""
        problem, now = self._state_problem(), self.clock.now()
        if problem is not None and self._state_alert is None:
            self._state_alert = now
            self._tell_all(state_unwritable(problem, now, now))
        elif problem is None and self._state_alert is not None:
            self._tell_all(state_writable(self._state_alert, now))
            self._state_alert = None
        self._wake.set()

    def _tell_all(self, event: AlertEvent) -> None:
        log.warning("state_alert", kind=event.kind.value, summary=event.summary)
        if self.outbox is not None:
            self.outbox.remember(self._notes(event, [r.name for r in self.config.receivers],
                                             "{state}", {}))

    @staticmethod
    def _notes(event: AlertEvent, receivers: Sequence[str], group_key: str,
               group_labels: dict[str, str]) -> list[Notification]:
        return [Notification(id=f"{event.incident_id}:{event.kind.value}:{name}",
                             receiver=name, group_key=group_key, group_labels=group_labels,
                             events=(event,), created_at=event.at)
                for name in receivers]

    async def run(self, group: TaskGroup) -> None:
        """Wake for deadlines and route changes until cancelled; owns the outbox task and
        the retention task (all supervised)."""
        self._group = group
        self.evidence.group = group
        self._start_outbox()
        self._retention_task = group.create_task(
            supervised("retention", self._retention, self.clock, watch=self.supervision),
            name="retention")
        try:
            await supervised("alerting", self._loop, self.clock, watch=self.supervision)
        finally:  # the outbox task lives in the daemon's group but ends with us
            if self._outbox_task is not None:
                self._outbox_task.cancel()
            self._retention_task.cancel()
            if self._flush_due is not None or self._unsaved:  # a clean stop keeps what is left
                try:
                    await self.commit(self._now())
                except sqlite3.Error:
                    log.exception("alerting_commit_failed")

    async def _loop(self) -> None:
        assert self.pipeline is not None
        while True:
            now = self._now()
            deadlines = [t for t in (self.pipeline.next_wakeup(now),
                                     self.router.next_change(now)) if t is not None]
            delay = STATE_RETRY if self._unsaved else MAX_SLEEP
            if deadlines:
                delay = min(delay, max(0.0, (min(deadlines) - now).total_seconds()))
            if self._flush_due is not None:  # its timer may have fired while we were busy
                delay = min(delay, max(0.0, self._flush_due - self.clock.monotonic()))
            self._wake.clear()
            await self.clock.wait_until(self.clock.monotonic() + delay, self._wake)
            now = self._now()
            self._note(self.pipeline.tick(now))
            self.pipeline.hand_over(now)
            await self.commit(now)
            if self.outbox is not None and self.clock.monotonic() >= self._stats_due:
                self._stats_due = self.clock.monotonic() + STATS_EVERY
                with contextlib.suppress(sqlite3.Error):  # a read; the next one may work
                    self._stats = await self.outbox.stats()

    async def _retention(self) -> None:
        """Forget closed incidents and logged notifications older than the retention, so
        the database stays bounded (docs/alerting.md)."""
        while True:
            cut = self.clock.now() - timedelta(seconds=self.config.alerting.retention)
            try:
                gone = await self.store.transaction(partial(qualify_store.prune, before=cut))
            except sqlite3.Error as exc:
                log.error("retention_failed", error=str(exc))
            else:
                if gone:
                    log.info("retention_pruned", rows=gone, before=cut.isoformat())
            # Pages freed by this prune, the outbox's and the history's go back to the disk.
            try:
                freed = await self.store.reclaim()
            except sqlite3.Error as exc:
                log.warning("vacuum_failed", error=str(exc))
            else:
                if freed:
                    log.info("database_shrunk", pages=freed)
            await self.clock.sleep(RETENTION_EVERY)

    def _start_outbox(self) -> None:
        if self._group is not None and self.outbox is not None:
            self._outbox_task = self._group.create_task(
                supervised("outbox", self.outbox.run, self.clock, watch=self.supervision),
                name="outbox")

    def prepare(self, config: Config) -> Outbox | None:
        """What a reload to ``config`` must build first (it may raise: a sender's TLS
        context, …): the new outbox when delivery settings changed, else None."""
        if delivery_settings(config) == delivery_settings(self.config):
            return None
        return self._build_outbox(config)

    async def reload(self, config: Config, outbox: Outbox | None = None) -> None:
        """Swap in a new config: routes, checks, maintenance, settings; senders if changed
        (``outbox``, from :meth:`prepare`, so that nothing fails half-way)."""
        assert self.pipeline is not None
        if outbox is None and delivery_settings(config) != delivery_settings(self.config):
            outbox = self._build_outbox(config)
        now = self._now()
        self.router = Router(config.routes, config.alerting)
        self.pipeline.qualifier.settings = qualify_settings(config)
        self.pipeline.update_checks(config.qualified_checks(), now)
        self.pipeline.set_maintenance(config.maintenance, now)
        self.evidence.update_checks(config.checks)
        self.evidence.timeout = config.alerting.evidence_timeout
        if outbox is not None:
            if self._outbox_task is not None:
                self._outbox_task.cancel()
                # Let the old workers end (a send cut short is re-sent: same idempotency key).
                await asyncio.wait({self._outbox_task})
            old, self.outbox = self.outbox, outbox
            if old is not None:  # what it holds in memory only (a full disk) goes on
                self.outbox.adopt(old)
            self._start_outbox()
        self.config = config
        self.pipeline.hand_over(now)
        await self.commit(now)
        self._wake.set()

    async def _receiver_alert(self, event: AlertEvent) -> None:
        """A receiver keeps failing (or works again): tell every other receiver, at once."""
        failing = event.labels.get("receiver", "")
        others = [r.name for r in self.config.receivers if r.name != failing]
        notes = self._notes(event, others, "{receiver_health}", {"receiver": failing})
        log.warning("receiver_alert", receiver=failing, kind=event.kind.value,
                    summary=event.summary, told=others)
        if notes and self.outbox is not None:
            await self.outbox.submit(notes)
