"""Receiver health: the alert raised when a receiver keeps failing, and its recovery.

A receiver is failing from its first failed attempt until its next successful delivery. When
it is still failing ``receiver_alert_after`` later, the outbox reports a PROBLEM event for the
pseudo-check ``receiver:<name>``; the first successful delivery afterwards reports its
RECOVERY. Routing sends these to the other receivers. The state lives in the outbox's
``outbox_receiver`` table.
"""

from __future__ import annotations

import inspect
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone

import structlog

from monitord.model import AlertEvent, EventKind, Status
from monitord.store import Store

log = structlog.get_logger("monitord.notify.health")

# Called with the PROBLEM / RECOVERY event of a receiver; may be a coroutine function.
ReceiverAlert = Callable[[AlertEvent], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class ReceiverHealth:
    failing_since: datetime | None = None
    alerted: bool = False
    last_error: str = ""

    @property
    def failing(self) -> bool:
        return self.failing_since is not None

    def due(self, now: datetime, alert_after: float) -> bool:
        """Whether the alert should be raised now."""
        return (self.failing_since is not None and not self.alerted
                and (now - self.failing_since).total_seconds() >= alert_after)


def check_name(receiver: str) -> str:
    return f"receiver:{receiver}"


def _event(kind: EventKind, receiver: str, health: ReceiverHealth, now: datetime, *,
           summary: str, diagnosis: str = "") -> AlertEvent:
    since = health.failing_since or now
    recovered = kind is EventKind.RECOVERY
    check = check_name(receiver)
    return AlertEvent(
        kind=kind,
        incident_id=f"receiver:{receiver}:{int(since.timestamp())}",
        check=check,
        status=Status.OK if recovered else Status.CRITICAL,
        phase=None,
        summary=summary,
        labels={"check": check, "type": "receiver", "severity": "critical",
                "receiver": receiver},
        started_at=since,
        ended_at=now if recovered else None,
        at=now,
        diagnosis=diagnosis,
    )


def _stamp(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


def undeliverable(receiver: str, health: ReceiverHealth, now: datetime,
                  pending: int) -> AlertEvent:
    since = health.failing_since or now
    return _event(EventKind.PROBLEM, receiver, health, now,
                  summary=f"{receiver} undeliverable since {_stamp(since)}: {health.last_error}",
                  diagnosis=f"{pending if pending >= 0 else 'some'} notification(s) waiting "
                            f"for {receiver}; "
                            f"last error: {health.last_error}")


def delivers_again(receiver: str, health: ReceiverHealth, now: datetime) -> AlertEvent:
    since = health.failing_since or now
    return _event(EventKind.RECOVERY, receiver, health, now,
                  summary=f"{receiver} delivers again (undeliverable from {_stamp(since)} "
                          f"to {_stamp(now)})")


class ReceiverWatch:
    """Each receiver's failing streak, kept in the store so a restart neither forgets an
    outage nor raises its alert twice.

    Error handling: an exception from the alert callback is logged and the alert is tried
    again at the next check (the state is not marked as alerted).
    """

    def __init__(self, store: Store, alert_after: float, callback: ReceiverAlert | None) -> None:
        self.store = store
        self.alert_after = alert_after
        self.callback = callback
        self._states: dict[str, ReceiverHealth] = {}

    async def load(self) -> None:
        self._states = await self.store.call(_load)

    def get(self, name: str) -> ReceiverHealth:
        return self._states.get(name, ReceiverHealth())

    def alert_in(self, name: str, now: datetime) -> float:
        """Seconds until the alert of ``name`` is due (infinite when none is coming)."""
        state = self.get(name)
        if state.failing_since is None or state.alerted:
            return float("inf")
        return max(0.0, self.alert_after - (now - state.failing_since).total_seconds())

    async def failed(self, name: str, reason: str, now: datetime) -> None:
        state = self.get(name)
        await self._set(name, ReceiverHealth(state.failing_since or now, state.alerted, reason))
        await self.check(name, now)

    async def succeeded(self, name: str, now: datetime) -> None:
        state = self.get(name)
        if not state.failing:
            return
        if state.alerted and not await self._emit(delivers_again(name, state, now)):
            return  # still marked: the recovery is reported after the next success
        await self._set(name, ReceiverHealth())

    async def check(self, name: str, now: datetime) -> None:
        """Raise the alert of ``name`` if it is due."""
        state = self.get(name)
        if not state.due(now, self.alert_after):
            return
        try:
            pending = await self.store.call(lambda conn: _pending(conn, name))
        except sqlite3.Error:
            pending = -1  # unknown; the alert matters more than the count
        if await self._emit(undeliverable(name, state, now, pending)):
            await self._set(name, ReceiverHealth(state.failing_since, True, state.last_error))

    async def _emit(self, event: AlertEvent) -> bool:
        try:
            if self.callback is not None:
                outcome = self.callback(event)
                if inspect.isawaitable(outcome):
                    await outcome
        except Exception:
            log.exception("receiver_alert_failed", check=event.check)
            return False
        log.warning("receiver_alert_raised", check=event.check, kind=event.kind.value,
                    summary=event.summary)
        return True

    async def _set(self, name: str, state: ReceiverHealth) -> None:
        self._states[name] = state
        try:
            await self.store.call(lambda conn: _save(conn, name, state))
        except sqlite3.Error as exc:  # memory stays right; a restart may alert once more
            log.error("receiver_health_not_saved", receiver=name, error=str(exc))


def _pending(conn: sqlite3.Connection, receiver: str) -> int:
    row = conn.execute("SELECT COUNT(*) FROM outbox WHERE receiver = ? AND state = 'pending'",
                       (receiver,)).fetchone()
    return int(row[0])


def _load(conn: sqlite3.Connection) -> dict[str, ReceiverHealth]:
    rows = conn.execute("SELECT receiver, failing_since, alerted, last_error "
                        "FROM outbox_receiver").fetchall()
    return {name: ReceiverHealth(datetime.fromtimestamp(since, timezone.utc), bool(alerted),
                                 error)
            for name, since, alerted, error in rows}


def _save(conn: sqlite3.Connection, name: str, state: ReceiverHealth) -> None:
    if state.failing_since is None:
        conn.execute("DELETE FROM outbox_receiver WHERE receiver = ?", (name,))
        return
    conn.execute(
        "INSERT INTO outbox_receiver (receiver, failing_since, alerted, last_error) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (receiver) DO UPDATE SET "
        "failing_since = excluded.failing_since, alerted = excluded.alerted, "
        "last_error = excluded.last_error",
        (name, state.failing_since.timestamp(), int(state.alerted), state.last_error))


STATE_CHECK = "monitord:state"


def _state_event(kind: EventKind, since: datetime, now: datetime, summary: str) -> AlertEvent:
    recovered = kind is EventKind.RECOVERY
    return AlertEvent(
        kind=kind, incident_id=f"{STATE_CHECK}:{int(since.timestamp())}", check=STATE_CHECK,
        status=Status.OK if recovered else Status.CRITICAL, phase=None, summary=summary,
        labels={"check": STATE_CHECK, "type": "state", "severity": "critical"},
        started_at=since, ended_at=now if recovered else None, at=now,
        diagnosis=summary if recovered else (
            f"{summary}; alerting goes on from memory (notifications are delivered, state "
            "changes are written once the state directory takes writes again); a restart "
            "now would forget them"),
    )


def state_unwritable(reason: str, since: datetime, now: datetime) -> AlertEvent:
    """The daemon's state cannot be written (a full disk, a read-only file system)."""
    return _state_event(EventKind.PROBLEM, since, now, f"state not writable: {reason}")


def state_writable(since: datetime, now: datetime) -> AlertEvent:
    return _state_event(EventKind.RECOVERY, since, now,
                        f"state writable again (not writable from {_stamp(since)} "
                        f"to {_stamp(now)})")
