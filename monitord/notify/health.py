"""Receiver health: the alert raised when a receiver keeps failing, and its recovery.

A receiver is failing from its first failed attempt until its next successful delivery. When
it is still failing ``receiver_alert_after`` later, the outbox reports a PROBLEM event for the
pseudo-check ``receiver:<name>``; the first successful delivery afterwards reports its
RECOVERY. Routing sends these to the other receivers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitord.model import AlertEvent, EventKind, Status


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


def _labels(receiver: str) -> dict[str, str]:
    return {"check": check_name(receiver), "type": "receiver", "severity": "critical",
            "receiver": receiver}


def _incident_id(receiver: str, since: datetime) -> str:
    return f"receiver:{receiver}:{int(since.timestamp())}"


def _stamp(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


def undeliverable(receiver: str, health: ReceiverHealth, now: datetime,
                  pending: int) -> AlertEvent:
    since = health.failing_since or now
    return AlertEvent(
        kind=EventKind.PROBLEM,
        incident_id=_incident_id(receiver, since),
        check=check_name(receiver),
        status=Status.CRITICAL,
        phase=None,
        summary=f"{receiver} undeliverable since {_stamp(since)}: {health.last_error}",
        labels=_labels(receiver),
        started_at=since,
        ended_at=None,
        at=now,
        diagnosis=f"{pending} notification(s) waiting for {receiver}; "
                  f"last error: {health.last_error}",
    )


def delivers_again(receiver: str, health: ReceiverHealth, now: datetime) -> AlertEvent:
    since = health.failing_since or now
    return AlertEvent(
        kind=EventKind.RECOVERY,
        incident_id=_incident_id(receiver, since),
        check=check_name(receiver),
        status=Status.OK,
        phase=None,
        summary=f"{receiver} delivers again (undeliverable from {_stamp(since)} "
                f"to {_stamp(now)})",
        labels=_labels(receiver),
        started_at=since,
        ended_at=now,
        at=now,
    )
