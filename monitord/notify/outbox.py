"""The durable outbox: notifications are written to SQLite first, then delivered by workers.

Writing: :func:`enqueue` is synchronous and takes the caller's connection, so the notification
rows commit in the same transaction as the state change that produced them (nothing lost,
nothing repeated). The notification ``id`` is the idempotency key: enqueuing an id a second
time for the same receiver does nothing.

Delivering: one worker per receiver sends that receiver's rows one at a time, oldest first, so
a recovery never overtakes its problem. A retryable failure keeps the row at the head of the
receiver's queue and retries it with exponential backoff and jitter until the notification is
``max_delivery_age`` old; a permanent failure gives up at once. That age is real elapsed
time: each notification's birth is kept on the monotonic clock while the process runs, and a
step of the wall clock moves the persisted wall times of pending rows with it (so that a
restart, which only has those, still measures the right age). A row whose send was under way
when the process died is sent again after the restart (at-least-once delivery; receivers fold
duplicates by Message-ID, dedup_key or Idempotency-Key).
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import TypeVar

import structlog

from monitord.clock import Clock, StepWatch
from monitord.compat import TaskGroup
from monitord.model import Notification
from monitord.notify.base import DeliveryResult, SendContext, Sender, Verdict
from monitord.notify.health import ReceiverAlert, ReceiverWatch
from monitord.notify.ledger import Finished, Key, Ledger, Plan
from monitord.notify.outbox_sql import (
    HOUSEKEEPING_INTERVAL,
    Row,
    enqueue,
    head,
    housekeep,
    mark_finished,
    migrate,
    pending_counts,
    rebase,
)
from monitord.notify.retry import RetryPolicy
from monitord.store import Store
from monitord.supervise import supervised

log = structlog.get_logger("monitord.notify.outbox")
T = TypeVar("T")

__all__ = ["Outbox", "ReceiverStats", "enqueue", "mark_finished", "migrate"]

@dataclass(frozen=True, slots=True)
class ReceiverStats:
    """For metrics: the queue of one receiver and what happened since the process started."""

    pending: int
    oldest_age: float  # seconds since the oldest pending notification was created; 0 if none
    sent: int
    failed: int  # given up (permanent failure or too old)
    retried: int  # failed attempts that will be retried
    failing_since: datetime | None


class Outbox:
    """Delivers queued notifications through ``senders`` (receiver name -> sender).

    Error handling: a store error is logged and the worker tries again after
    ``poll_interval``; an exception escaping a sender is a bug, logged with its traceback and
    treated as a retryable failure. :meth:`run` closes the senders when it ends.
    """

    def __init__(
        self,
        store: Store,
        senders: Mapping[str, Sender],
        clock: Clock,
        *,
        max_delivery_age: float = 86400.0,
        receiver_alert_after: float = 600.0,
        on_receiver_alert: ReceiverAlert | None = None,
        on_store_state: Callable[[], None] | None = None,
        retry: RetryPolicy | None = None,
        poll_interval: float = 5.0,
        retention: float = 7 * 86400.0,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.senders = dict(senders)
        self.clock = clock
        self.max_delivery_age = max_delivery_age
        self.retry = retry or RetryPolicy()
        self.poll_interval = poll_interval
        self.retention = retention
        self._rng = rng or random.Random()
        self._wakeups = {name: asyncio.Event() for name in self.senders}
        self._watch = ReceiverWatch(store, receiver_alert_after, on_receiver_alert)
        self._sent: Counter[str] = Counter()
        self._failed: Counter[str] = Counter()
        self._retried: Counter[str] = Counter()
        self.ledger = Ledger()
        self.store_error: str | None = None  # the last write failure, until a write works
        self._on_store_state = on_store_state
        # Monotonic birth of each notification this process knows (its real age), and the
        # wall-clock steps not yet applied to the stored rows.
        self._born: dict[Key, float] = {}
        self._steps = StepWatch(clock)
        self._unshifted = 0.0

    # -- public ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Deliver until cancelled: one worker per receiver, plus housekeeping; each is
        supervised (a failure is logged and the worker restarts after a pause)."""
        await migrate(self.store)
        await self._watch.load()
        try:
            async with TaskGroup() as group:
                group.create_task(supervised("outbox:housekeeping", self._housekeeping,
                                             self.clock), name="outbox:housekeeping")
                for name, sender in self.senders.items():
                    group.create_task(
                        supervised(f"outbox:{name}", partial(self._worker, name, sender),
                                   self.clock), name=f"outbox:{name}")
        finally:
            # A clean stop records what was delivered: a mark still in memory (its write was
            # cut short by the stop) would make the next start send it again.
            await self._record_all_finished()
            for sender in self.senders.values():
                await sender.close()

    async def _record_all_finished(self) -> None:
        marks = dict(self.ledger.finished)
        if marks:
            self.recorded(await self._write(lambda conn: mark_finished(conn, marks)) or ())

    def wake(self, receivers: Iterable[str] | None = None) -> None:
        """Tell workers that rows were committed (skips the wait for the next poll)."""
        for name in self._wakeups if receivers is None else receivers:
            if name in self._wakeups:
                self._wakeups[name].set()

    async def submit(self, notifications: Iterable[Notification]) -> int:
        """Enqueue in a transaction of its own, then wake the workers; when the store cannot
        be written the notifications are delivered from memory (returns 0 then)."""
        batch = list(notifications)
        try:
            added = await self.store.transaction(lambda conn: enqueue(conn, batch))
        except sqlite3.Error as exc:
            self._store_failed(exc)
            self.remember(batch)
            return 0
        self.wake({n.receiver for n in batch})
        return added

    def remember(self, notifications: Iterable[Notification]) -> None:
        """Deliver these from memory: their commit failed (see :mod:`.ledger`)."""
        batch = list(notifications)
        self._note_births(batch)
        self.ledger.remember(batch)
        self.wake({n.receiver for n in batch})

    def saved(self, notifications: Iterable[Notification]) -> None:
        """A commit holding these succeeded: the database has them now."""
        batch = list(notifications)
        self._note_births(batch)
        self.ledger.saved(batch)

    def finished_marks(self) -> dict[Key, Finished]:
        """Outcomes not yet recorded, to write with a commit (see :func:`mark_finished`)."""
        return dict(self.ledger.finished)

    def recorded(self, marks: Iterable[Key]) -> None:
        """These outcomes were written: forget them."""
        for key in marks:
            self.ledger.finished.pop(key, None)

    def store_works(self) -> None:
        """A write elsewhere (a commit) succeeded: the store takes writes again."""
        self._store_ok()

    def adopt(self, other: Outbox) -> None:
        """Take over the memory of the outbox this one replaces."""
        self.ledger.adopt(other.ledger)
        self._born.update(other._born)
        self._unshifted += other._unshifted

    async def stats(self) -> dict[str, ReceiverStats]:
        rows = await self.store.call(pending_counts)
        now = self.clock.now().timestamp()
        result: dict[str, ReceiverStats] = {}
        for name in sorted(set(self.senders) | set(rows)):
            pending, oldest = rows.get(name, (0, None))
            result[name] = ReceiverStats(
                pending=pending + self.ledger.pending(name),
                oldest_age=max(0.0, now - oldest) if oldest is not None else 0.0,
                sent=self._sent[name], failed=self._failed[name], retried=self._retried[name],
                failing_since=self._watch.get(name).failing_since,
            )
        return result

    # -- the store, guarded ---------------------------------------------------------------

    def _store_failed(self, exc: sqlite3.Error) -> None:
        if self.store_error is None:
            log.error("state_not_writable", component="outbox", error=str(exc))
        self.store_error = str(exc)
        if self._on_store_state is not None:
            self._on_store_state()

    def _store_ok(self) -> None:
        if self.store_error is not None:
            log.info("state_writable_again", component="outbox")
            self.store_error = None
            if self._on_store_state is not None:
                self._on_store_state()

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T | None:
        """Run a write; None (logged, remembered as a store problem) when it fails."""
        try:
            result = await self.store.call(fn)
        except sqlite3.Error as exc:
            self._store_failed(exc)
            return None
        self._store_ok()
        return result

    async def _record_finished(self, name: str) -> None:
        marks = {k: v for k, v in self.ledger.finished.items() if k[0] == name}
        if marks:
            self.recorded(await self._write(lambda conn: mark_finished(conn, marks)) or ())

    async def _next(self, name: str) -> Row | None:
        skip = self.ledger.skipped(name)
        try:
            row = await self.store.call(lambda conn: head(conn, name, skip))
        except sqlite3.Error as exc:
            log.error("outbox_store_failed", receiver=name, error=str(exc))
            row = None
        if row is None:
            unsaved = self.ledger.head(name)
            if unsaved is not None:
                row = Row(-1, unsaved.id, unsaved.created_at.timestamp(), 0, 0.0, None, "",
                           unsaved, "", {})
        if row is None:
            return None
        plan = self.ledger.plans.get((name, row.id))
        if plan is not None:
            row = replace(row, attempts=plan.attempts, parts=plan.parts,
                          last_error=plan.last_error, due=plan.due)
        return row

    # -- age: real elapsed time ----------------------------------------------------------

    def _note_births(self, batch: Iterable[Notification]) -> None:
        now, mono = self.clock.now().timestamp(), self.clock.monotonic()
        for n in batch:
            self._born.setdefault((n.receiver, n.id),
                                  mono - max(0.0, now - n.created_at.timestamp()))

    def _age(self, name: str, row: Row) -> float:
        """Seconds since the notification was created, on the monotonic clock from the
        first time this process saw it (before: the stored wall time, kept true by
        :meth:`_absorb_step`)."""
        mono = self.clock.monotonic()
        born = self._born.get((name, row.id))
        if born is None:
            age = max(0.0, self.clock.now().timestamp() - row.created_at)
            born = self._born[(name, row.id)] = mono - age
        return mono - born

    async def _absorb_step(self) -> None:
        """Notice a step of the wall clock; move the stored wall times of pending rows with
        it (retried at the next turn when the store cannot be written)."""
        step = self._steps.step()
        if step:
            log.warning("clock_step", component="outbox", seconds=round(step, 3),
                        detail="delivery ages and retries kept")
            self._unshifted += step
        if not self._unshifted:
            return
        delta, self._unshifted = self._unshifted, 0.0
        now, mono = self.clock.now().timestamp(), self.clock.monotonic()
        created = {key: now - (mono - born) for key, born in self._born.items()}
        planned = {key: now + (plan.due - mono) for key, plan in self.ledger.plans.items()}
        try:  # one transaction: a partial rebase retried would shift some rows twice
            await self.store.transaction(lambda conn: rebase(conn, delta, created, planned))
        except sqlite3.Error as exc:
            self._store_failed(exc)
            self._unshifted += delta
        else:
            self._store_ok()

    # -- workers --------------------------------------------------------------------------

    async def _worker(self, name: str, sender: Sender) -> None:
        wakeup = self._wakeups[name]
        while True:
            wakeup.clear()  # before reading, so a commit during the read is not missed
            await self._record_finished(name)
            await self._absorb_step()
            row = await self._next(name)
            if row is None:
                await self.clock.wait_until(self.clock.monotonic() + self.poll_interval, wakeup)
                continue
            await self._watch.check(name, self.clock.now())
            now, mono = self.clock.now(), self.clock.monotonic()
            # Retries planned by this process wait on the monotonic clock (a wall-clock
            # step changes nothing); a row planned before a restart has its wall time only.
            wait = (row.due - mono if row.due is not None
                    else row.next_attempt_at - now.timestamp())
            if wait > 0:
                # Wake up in time to raise the receiver alert while the row waits.
                alert_in = self._watch.alert_in(name, now)
                await self.clock.wait_until(mono + min(wait, alert_in, self.poll_interval * 12),
                                            wakeup)
                continue
            await self._deliver(name, sender, row, now)

    async def _deliver(self, name: str, sender: Sender, row: Row, now: datetime) -> None:
        bound = log.bind(receiver=name, notification=row.id)
        age = self._age(name, row)
        if row.notification is None:
            await self._give_up(name, row, f"unreadable outbox row: {row.problem}", now)
            return
        if age >= self.max_delivery_age:
            reason = (f"not delivered within max_delivery_age ({self.max_delivery_age:g}s)"
                      + (f"; last error: {row.last_error}" if row.last_error else ""))
            await self._give_up(name, row, reason, now)
            return
        if row.seq >= 0:  # the attempt counter is for the record: a failure to write it
            await self._write(lambda conn: conn.execute(  # does not hold the delivery up
                "UPDATE outbox SET attempts = attempts + 1 WHERE seq = ?", (row.seq,)))
        context = SendContext(parts=row.parts, threads=row.threads, attempt=row.attempts + 1)
        try:
            result = await sender.send(row.notification, context)
        except Exception as exc:  # a sender bug: keep the row, say so loudly
            bound.exception("sender raised", attempt=context.attempt)
            result = DeliveryResult.retry(f"internal error: {type(exc).__name__}: {exc}")
        now = self.clock.now()
        if result.verdict is Verdict.OK:
            await self._finish(name, row, "delivered", result.reason, now)
            self._sent[name] += 1
            if result.reason:
                bound.warning("notification delivered partially", reason=result.reason,
                              attempt=context.attempt)
            else:
                bound.info("notification delivered", attempt=context.attempt)
            await self._watch.succeeded(name, now)
        elif result.verdict is Verdict.PERMANENT:
            await self._give_up(name, row, result.reason, now, attempt=context.attempt)
        else:
            await self._reschedule(name, row, result, now, context.attempt)

    async def _finish(self, name: str, row: Row, state: str, reason: str,
                      now: datetime) -> None:
        # Memory first: the row is never sent again, whether or not the record is written.
        self.ledger.finish(name, row.id, Finished(state, reason, now.timestamp()))
        self._born.pop((name, row.id), None)
        await self._record_finished(name)

    async def _reschedule(self, name: str, row: Row, result: DeliveryResult, now: datetime,
                          attempt: int) -> None:
        delay = self.retry.delay(attempt, self._rng, result.retry_after)
        # The last attempt happens at the deadline rather than never.
        delay = max(0.0, min(delay, self.max_delivery_age - self._age(name, row)))
        parts = result.remaining or row.parts
        self.ledger.plans[(name, row.id)] = Plan(attempt, self.clock.monotonic() + delay,
                                                 parts, result.reason)
        if row.seq >= 0:
            await self._write(lambda conn: conn.execute(
                "UPDATE outbox SET next_attempt_at = ?, parts = ?, last_error = ? "
                "WHERE seq = ?", (now.timestamp() + delay,
                                  json.dumps(list(parts)) if parts is not None else None,
                                  result.reason, row.seq)))
        self._retried[name] += 1
        log.warning("delivery_retry_scheduled", receiver=name, notification=row.id,
                    reason=result.reason, attempt=attempt, retry_in=round(delay, 3))
        await self._watch.failed(name, result.reason, now)

    async def _give_up(self, name: str, row: Row, reason: str, now: datetime,
                       attempt: int | None = None) -> None:
        await self._finish(name, row, "failed", reason, now)
        self._failed[name] += 1
        log.error("notification_given_up", receiver=name, notification=row.id, reason=reason,
                  attempt=attempt if attempt is not None else row.attempts)
        await self._watch.failed(name, reason, now)

    # -- housekeeping ---------------------------------------------------------------------

    async def _housekeeping(self) -> None:
        while True:
            now, deadline = self.clock.now(), self.clock.monotonic() + HOUSEKEEPING_INTERVAL
            try:
                orphans = await self.store.transaction(
                    partial(housekeep, receivers=set(self.senders), now=now,
                            retention=self.retention))
            except sqlite3.Error as exc:
                log.error("outbox_store_failed", error=str(exc))
            else:
                for receiver, notification_id in orphans:
                    log.error("notification_given_up", receiver=receiver,
                              notification=notification_id, reason="receiver not configured")
            await self.clock.sleep(deadline - self.clock.monotonic())
