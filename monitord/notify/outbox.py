"""The durable outbox: notifications are written to SQLite first, then delivered by workers.

Writing: :func:`enqueue` is synchronous and takes the caller's connection, so the notification
rows commit in the same transaction as the state change that produced them (nothing lost,
nothing repeated). The notification ``id`` is the idempotency key: enqueuing an id a second
time for the same receiver does nothing.

Delivering: one worker per receiver sends that receiver's rows one at a time, oldest first, so
a recovery never overtakes its problem. A retryable failure keeps the row at the head of the
receiver's queue and retries it with exponential backoff and jitter until the notification is
``max_delivery_age`` old; a permanent failure gives up at once. A row whose send was under way
when the process died is sent again after the restart (at-least-once delivery; receivers fold
duplicates by Message-ID, dedup_key or Idempotency-Key).
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import structlog

from monitord import eventcodec
from monitord.clock import Clock
from monitord.compat import TaskGroup
from monitord.model import Notification
from monitord.notify.base import DeliveryResult, SendContext, Sender, Verdict
from monitord.notify.health import ReceiverAlert, ReceiverWatch
from monitord.notify.retry import RetryPolicy
from monitord.store import Store

log = structlog.get_logger("monitord.notify.outbox")

COMPONENT = "outbox"
MIGRATIONS: list[str] = [
    """
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        receiver TEXT NOT NULL,
        id TEXT NOT NULL,
        notification TEXT NOT NULL,
        created_at REAL NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL DEFAULT 0,
        parts TEXT,
        last_error TEXT NOT NULL DEFAULT '',
        finished_at REAL,
        UNIQUE (receiver, id)
    );
    CREATE INDEX outbox_queue ON outbox (receiver, state, seq);
    CREATE TABLE outbox_thread (
        receiver TEXT NOT NULL,
        incident_id TEXT NOT NULL,
        notification_id TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (receiver, incident_id)
    );
    CREATE TABLE outbox_receiver (
        receiver TEXT PRIMARY KEY,
        failing_since REAL NOT NULL,
        alerted INTEGER NOT NULL,
        last_error TEXT NOT NULL
    )
    """,
]
HOUSEKEEPING_INTERVAL = 3600.0
THREAD_RETENTION = 90 * 86400.0  # incidents rarely stay open this long; recoveries then unthread

async def migrate(store: Store) -> None:
    """Create or upgrade the outbox tables (call once at start, before any enqueue)."""
    await store.migrate(COMPONENT, MIGRATIONS)


def enqueue(conn: sqlite3.Connection, notifications: Iterable[Notification]) -> int:
    """Queue ``notifications`` inside the caller's transaction; returns how many were new."""
    added = 0
    for notification in notifications:
        created = notification.created_at.timestamp()
        cursor = conn.execute(
            "INSERT INTO outbox (receiver, id, notification, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (receiver, id) DO NOTHING",
            (notification.receiver, notification.id, eventcodec.dumps(notification), created),
        )
        if cursor.rowcount == 0:
            continue
        added += 1
        # The first message about an incident to a receiver is the one later ones thread under.
        conn.executemany(
            "INSERT OR IGNORE INTO outbox_thread (receiver, incident_id, notification_id, "
            "created_at) VALUES (?, ?, ?, ?)",
            [(notification.receiver, e.incident_id, notification.id, created)
             for e in notification.events],
        )
    return added


@dataclass(frozen=True, slots=True)
class ReceiverStats:
    """For metrics: the queue of one receiver and what happened since the process started."""

    pending: int
    oldest_age: float  # seconds since the oldest pending notification was created; 0 if none
    sent: int
    failed: int  # given up (permanent failure or too old)
    retried: int  # failed attempts that will be retried
    failing_since: datetime | None


@dataclass(frozen=True, slots=True)
class _Row:
    seq: int
    id: str
    created_at: float
    attempts: int
    next_attempt_at: float
    parts: tuple[str, ...] | None
    last_error: str
    notification: Notification | None
    problem: str  # why the row cannot be read, when notification is None
    threads: Mapping[str, str]


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

    # -- public ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Deliver until cancelled: one worker per receiver, plus housekeeping."""
        await migrate(self.store)
        await self._watch.load()
        try:
            async with TaskGroup() as group:
                group.create_task(self._housekeeping(), name="outbox:housekeeping")
                for name, sender in self.senders.items():
                    group.create_task(self._worker(name, sender), name=f"outbox:{name}")
        finally:
            for sender in self.senders.values():
                await sender.close()

    def wake(self, receivers: Iterable[str] | None = None) -> None:
        """Tell workers that rows were committed (skips the wait for the next poll)."""
        for name in self._wakeups if receivers is None else receivers:
            if name in self._wakeups:
                self._wakeups[name].set()

    async def submit(self, notifications: Iterable[Notification]) -> int:
        """Enqueue in a transaction of its own, then wake the workers."""
        batch = list(notifications)
        added = await self.store.transaction(lambda conn: enqueue(conn, batch))
        self.wake({n.receiver for n in batch})
        return added

    async def stats(self) -> dict[str, ReceiverStats]:
        rows = await self.store.call(_pending_counts)
        now = self.clock.now().timestamp()
        result: dict[str, ReceiverStats] = {}
        for name in sorted(set(self.senders) | set(rows)):
            pending, oldest = rows.get(name, (0, None))
            result[name] = ReceiverStats(
                pending=pending,
                oldest_age=max(0.0, now - oldest) if oldest is not None else 0.0,
                sent=self._sent[name], failed=self._failed[name], retried=self._retried[name],
                failing_since=self._watch.get(name).failing_since,
            )
        return result

    # -- workers --------------------------------------------------------------------------

    async def _worker(self, name: str, sender: Sender) -> None:
        wakeup = self._wakeups[name]
        while True:
            wakeup.clear()  # before reading, so a commit during the read is not missed
            try:
                row = await self.store.call(lambda conn: _head(conn, name))
            except sqlite3.Error as exc:
                log.error("outbox_store_failed", receiver=name, error=str(exc))
                await self.clock.wait_until(self.clock.monotonic() + self.poll_interval, wakeup)
                continue
            if row is None:
                await self.clock.wait_until(self.clock.monotonic() + self.poll_interval, wakeup)
                continue
            await self._watch.check(name, self.clock.now())
            now, mono = self.clock.now(), self.clock.monotonic()
            wait = row.next_attempt_at - now.timestamp()
            if wait > 0:
                # Wake up in time to raise the receiver alert while the row waits.
                alert_in = self._watch.alert_in(name, now)
                await self.clock.wait_until(mono + min(wait, alert_in), wakeup)
                continue
            await self._deliver(name, sender, row, now)


    async def _deliver(self, name: str, sender: Sender, row: _Row, now: datetime) -> None:
        bound = log.bind(receiver=name, notification=row.id)
        age = now.timestamp() - row.created_at
        if row.notification is None:
            await self._give_up(name, row, f"unreadable outbox row: {row.problem}", now)
            return
        if age >= self.max_delivery_age:
            reason = (f"not delivered within max_delivery_age ({self.max_delivery_age:g}s)"
                      + (f"; last error: {row.last_error}" if row.last_error else ""))
            await self._give_up(name, row, reason, now)
            return
        await self.store.call(lambda conn: conn.execute(
            "UPDATE outbox SET attempts = attempts + 1 WHERE seq = ?", (row.seq,)))
        context = SendContext(parts=row.parts, threads=row.threads, attempt=row.attempts + 1)
        try:
            result = await sender.send(row.notification, context)
        except Exception as exc:  # a sender bug: keep the row, say so loudly
            bound.exception("sender raised", attempt=context.attempt)
            result = DeliveryResult.retry(f"internal error: {type(exc).__name__}: {exc}")
        now = self.clock.now()
        if result.verdict is Verdict.OK:
            await self.store.call(lambda conn: _finish(conn, row.seq, "delivered",
                                                       result.reason, now))
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

    async def _reschedule(self, name: str, row: _Row, result: DeliveryResult, now: datetime,
                          attempt: int) -> None:
        deadline = row.created_at + self.max_delivery_age
        delay = self.retry.delay(attempt, self._rng, result.retry_after)
        # The last attempt happens at the deadline rather than never.
        next_at = min(now.timestamp() + delay, deadline)
        parts = result.remaining or row.parts
        await self.store.call(lambda conn: conn.execute(
            "UPDATE outbox SET next_attempt_at = ?, parts = ?, last_error = ? WHERE seq = ?",
            (next_at, json.dumps(list(parts)) if parts is not None else None, result.reason,
             row.seq)))
        self._retried[name] += 1
        log.warning("delivery_retry_scheduled", receiver=name, notification=row.id,
                    reason=result.reason, attempt=attempt,
                    retry_in=round(next_at - now.timestamp(), 3))
        await self._watch.failed(name, result.reason, now)

    async def _give_up(self, name: str, row: _Row, reason: str, now: datetime,
                       attempt: int | None = None) -> None:
        await self.store.call(lambda conn: _finish(conn, row.seq, "failed", reason, now))
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
                    partial(_housekeep, receivers=set(self.senders), now=now,
                            retention=self.retention))
            except sqlite3.Error as exc:
                log.error("outbox_store_failed", error=str(exc))
            else:
                for receiver, notification_id in orphans:
                    log.error("notification_given_up", receiver=receiver,
                              notification=notification_id, reason="receiver not configured")
            await self.clock.sleep(deadline - self.clock.monotonic())


# -- synchronous store functions (run on the store thread) --------------------------------


def _head(conn: sqlite3.Connection, receiver: str) -> _Row | None:
    found = conn.execute(
        "SELECT seq, id, created_at, attempts, next_attempt_at, parts, last_error, "
        "notification FROM outbox WHERE receiver = ? AND state = 'pending' "
        "ORDER BY seq LIMIT 1", (receiver,)).fetchone()
    if found is None:
        return None
    seq, nid, created_at, attempts, next_attempt_at, parts, last_error, text = found
    notification: Notification | None = None
    problem = ""
    threads: dict[str, str] = {}
    try:
        notification = eventcodec.loads(text)
    except (ValueError, KeyError, TypeError) as exc:
        problem = f"{type(exc).__name__}: {exc}"
    else:
        incidents = sorted({e.incident_id for e in notification.events})
        marks = ",".join("?" * len(incidents))
        threads = dict(conn.execute(
            f"SELECT incident_id, notification_id FROM outbox_thread "
            f"WHERE receiver = ? AND incident_id IN ({marks})", (receiver, *incidents),
        ).fetchall())
    return _Row(seq, nid, created_at, attempts, next_attempt_at,
                tuple(json.loads(parts)) if parts is not None else None, last_error,
                notification, problem, threads)


def _finish(conn: sqlite3.Connection, seq: int, state: str, reason: str, now: datetime) -> None:
    conn.execute("UPDATE outbox SET state = ?, last_error = ?, finished_at = ? WHERE seq = ?",
                 (state, reason, now.timestamp(), seq))


def _pending_counts(conn: sqlite3.Connection) -> dict[str, tuple[int, float | None]]:
    rows = conn.execute("SELECT receiver, COUNT(*), MIN(created_at) FROM outbox "
                        "WHERE state = 'pending' GROUP BY receiver").fetchall()
    return {receiver: (count, oldest) for receiver, count, oldest in rows}


def _housekeep(conn: sqlite3.Connection, receivers: set[str], now: datetime,
               retention: float) -> list[tuple[str, str]]:
    """Forget old finished rows; give up rows of receivers no longer configured."""
    stamp = now.timestamp()
    orphans = [
        (receiver, nid) for receiver, nid in conn.execute(
            "SELECT receiver, id FROM outbox WHERE state = 'pending' ORDER BY seq")
        if receiver not in receivers
    ]
    conn.executemany(
        "UPDATE outbox SET state = 'failed', last_error = 'receiver not configured', "
        "finished_at = ? WHERE receiver = ? AND id = ?",
        [(stamp, receiver, nid) for receiver, nid in orphans])
    conn.execute("DELETE FROM outbox WHERE state != 'pending' AND finished_at < ?",
                 (stamp - retention,))
    conn.execute("DELETE FROM outbox_thread WHERE created_at < ?", (stamp - THREAD_RETENTION,))
    return orphans
