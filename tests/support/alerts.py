"""Builders of AlertEvent / Notification values for notification tests, and a waiter."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from monitord.compat import timeout as compat_timeout
from monitord.model import AlertEvent, EventKind, LocationState, Notification, Phase, Status

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def event(check: str = "shop-fr", kind: EventKind = EventKind.PROBLEM, *,
          incident: str | None = None, status: Status | None = None,
          summary: str = "HTTP 503 Service Unavailable", at: datetime | None = None,
          diagnosis: str = "", labels: dict[str, str] | None = None) -> AlertEvent:
    recovered = kind is EventKind.RECOVERY
    at = at or (T0 + timedelta(minutes=30) if recovered else T0)
    return AlertEvent(
        kind=kind,
        incident_id=incident or f"inc-{check}",
        check=check,
        status=status if status is not None else (Status.OK if recovered else Status.CRITICAL),
        phase=None if recovered else Phase.RESPONSE,
        summary=summary,
        labels={"check": check, "type": "http", "severity": "critical", **(labels or {})},
        started_at=T0 - timedelta(minutes=2),
        ended_at=at if recovered else None,
        at=at,
        diagnosis=diagnosis,
        locations=(LocationState("paris", Status.OK if recovered else Status.CRITICAL,
                                 summary, at),),
    )


def notification(receiver: str, *events: AlertEvent, nid: str = "n1",
                 group_key: str = "{}:{service=\"shop\"}") -> Notification:
    return Notification(
        id=nid, receiver=receiver, group_key=group_key, group_labels={"service": "shop"},
        events=events or (event(),), created_at=max(e.at for e in events) if events else T0,
    )


async def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Let background work (store thread, servers) progress until ``predicate`` holds."""
    async with compat_timeout(timeout):
        # Polling: the state observed is written by the store thread and by servers, which
        # offer no event to wait on.
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
