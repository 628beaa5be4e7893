"""``monitord test-notify --receiver NAME``: one clearly marked notification, sent for real.

It goes straight through the receiver's sender, without the outbox: the point is to see at
once whether the receiver works, with the reason when it does not.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from monitord.clock import SystemClock
from monitord.config.schema import ApiSection, MonitordSection
from monitord.model import AlertEvent, EventKind, Notification, Status
from monitord.notify.base import SenderEnv
from monitord.notify.config import ReceiverConfig, SmtpSection
from monitord.notify.registry import build_sender

TEST_CHECK = "monitord-test"


class NotifyConfig(Protocol):
    """What ``monitord test-notify`` reads of the loaded configuration (``Config`` is one)."""

    @property
    def monitord(self) -> MonitordSection: ...
    @property
    def api(self) -> ApiSection: ...
    @property
    def smtp(self) -> SmtpSection | None: ...
    @property
    def receivers(self) -> tuple[ReceiverConfig, ...]: ...


def make_test_notification(receiver: str, location: str, now: datetime) -> Notification:
    """A TEST notification; its ids are new each time (a re-run is not folded as a duplicate)."""
    stamp = now.strftime("%Y%m%dT%H%M%S")
    summary = (f"test notification from monitord at {location} to receiver {receiver}: "
               "no action is needed")
    event = AlertEvent(
        kind=EventKind.TEST,
        incident_id=f"test-{receiver}-{stamp}",
        check=TEST_CHECK,
        status=Status.OK,
        phase=None,
        summary=summary,
        labels={"check": TEST_CHECK, "type": "test", "severity": "info"},
        started_at=now,
        ended_at=None,
        at=now,
        diagnosis="Sent by `monitord test-notify`.",
    )
    return Notification(id=f"test-{stamp}", receiver=receiver, group_key=f"test:{receiver}",
                        group_labels={}, events=(event,), created_at=now)


async def test_notify(config: NotifyConfig, receiver_name: str) -> tuple[int, str]:
    """Send a test notification through ``receiver_name``: (0, what happened) when delivered,
    (1, why not) otherwise — including a partial delivery, which needs fixing too."""
    receiver = next((r for r in config.receivers if r.name == receiver_name), None)
    if receiver is None:
        known = ", ".join(r.name for r in config.receivers) or "none"
        return 1, f'no receiver named "{receiver_name}" (configured: {known})'
    clock = SystemClock()
    sender = build_sender(receiver, SenderEnv(clock=clock, smtp=config.smtp,
                                              external_url=config.api.external_url))
    notification = make_test_notification(receiver_name, config.monitord.location, clock.now())
    try:
        result = await sender.send(notification)
    finally:
        await sender.close()
    if result.ok and not result.reason:
        return 0, f"delivered to {receiver_name} ({receiver.type})"
    if result.ok:
        return 1, f"delivered to {receiver_name} only in part: {result.reason}"
    return 1, f"not delivered to {receiver_name} ({result.verdict.value} failure): {result.reason}"


test_notify.__test__ = False  # type: ignore[attr-defined]  # not a pytest test despite its name
