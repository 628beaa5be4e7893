"""The outbox: idempotent enqueue, ordering, expiry, receiver alerts, stats, restarts."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from monitord.clock import SystemClock
from monitord.model import AlertEvent, EventKind, Notification, Status
from monitord.notify.base import NO_CONTEXT, DeliveryResult, SendContext, SenderEnv
from monitord.notify.config import WebhookReceiver
from monitord.notify.outbox import enqueue, migrate
from monitord.notify.retry import RetryPolicy
from monitord.notify.webhook import WebhookSender
from monitord.store import Store
from monitord.testing import FakeClock
from tests.support.alerts import T0, event, notification, wait_until
from tests.support.hooks import HookReceiver
from tests.support.outboxes import RowView, rows, running_outbox, wait_rows
from tests.support.web import serve

REPO = Path(__file__).resolve().parent.parent


def retry_planned(clock: FakeClock, attempts: int | None = None
                  ) -> Callable[[list[RowView]], bool]:
    """The first row failed (``attempts`` times) and waits for its next attempt."""
    return lambda r: ((attempts is None or r[0].attempts == attempts)
                      and r[0].next_attempt_at > clock.now().timestamp())


def hook_sender(url: str, clock: FakeClock | SystemClock) -> WebhookSender:
    return WebhookSender(WebhookReceiver(name="hook", url=url), SenderEnv(clock=clock))


async def test_enqueue_is_idempotent_and_joins_the_callers_transaction(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "state.db")
    await migrate(store)
    note = notification("hook", nid="n1")
    assert await store.transaction(lambda conn: enqueue(conn, [note])) == 1
    assert await store.transaction(lambda conn: enqueue(conn, [note, note])) == 0

    def enqueue_then_fail(conn: object) -> None:
        enqueue(conn, [notification("hook", nid="n2")])  # type: ignore[arg-type]
        raise RuntimeError("the caller's other write failed")

    with pytest.raises(RuntimeError):
        await store.transaction(enqueue_then_fail)
    assert [r.id for r in await rows(store)] == ["n1"]
    await store.close()


async def test_a_resolved_never_overtakes_its_firing(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    hook = HookReceiver(script=[503])
    async with serve(hook.app()) as base:
        sender = hook_sender(f"{base}/hook", clock)
        async with running_outbox(tmp_path, {"hook": sender}, clock) as (outbox, store):
            await outbox.submit([notification("hook", event(), nid="fire")])
            await wait_rows(store, lambda r: r[0].last_error == "HTTP 503")
            await outbox.submit([notification("hook", event(kind=EventKind.RECOVERY),
                                              nid="resolve")])
            await asyncio.sleep(0.2)  # time for a wrongly eager worker to send it
            assert [r.headers["Idempotency-Key"] for r in hook.requests] == ["fire"]
            await clock.advance(700)
            await wait_rows(store, lambda r: all(x.state == "delivered" for x in r))
    assert [r.headers["Idempotency-Key"] for r in hook.requests] == ["fire", "fire", "resolve"]


async def test_given_up_after_max_delivery_age(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    hook = HookReceiver(script=[503] * 100)
    async with serve(hook.app()) as base:
        sender = hook_sender(f"{base}/hook", clock)
        with capture_logs() as logs:
            async with running_outbox(tmp_path, {"hook": sender}, clock,
                                      max_delivery_age=3600.0,
                                      retry=RetryPolicy(initial=600, maximum=1000)) as (
                                          outbox, store):
                await outbox.submit([notification("hook", nid="n1")])
                for _ in range(12):
                    await wait_rows(store, lambda r: r[0].state == "failed"
                                    or r[0].next_attempt_at > clock.now().timestamp())
                    await clock.advance(1000)
                (row,) = await wait_rows(store, lambda r: r[0].state == "failed")
    assert row.last_error == ("not delivered within max_delivery_age (3600s); "
                              "last error: HTTP 503")
    # attempts at 0 s, then every 300-1000 s, the last one at the deadline
    assert 3 <= row.attempts <= 8
    assert len(hook.requests) == row.attempts
    given_up = [e for e in logs if e["event"] == "notification_given_up"]
    assert [e["reason"] for e in given_up] == [row.last_error]


async def test_receiver_alert_and_recovery(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    hook = HookReceiver(script=[503] * 100)
    alerts: list[AlertEvent] = []
    async with serve(hook.app()) as base:
        sender = hook_sender(f"{base}/hook", clock)
        async with running_outbox(tmp_path, {"hook": sender}, clock, receiver_alert_after=600.0,
                                  on_receiver_alert=alerts.append) as (outbox, store):
            await outbox.submit([notification("hook", nid="n1")])
            await wait_rows(store, retry_planned(clock, attempts=1))
            await clock.advance(590)
            await wait_rows(store, retry_planned(clock))
            assert alerts == []
            await clock.advance(20)
            await wait_until(lambda: len(alerts) == 1)
            (problem,) = alerts
            stats = (await outbox.stats())["hook"]
            hook.script.clear()
            await clock.advance(700)
            await wait_rows(store, lambda r: r[0].state == "delivered")
            await wait_until(lambda: len(alerts) == 2)
    assert problem.kind is EventKind.PROBLEM
    assert problem.check == "receiver:hook"
    assert problem.status is Status.CRITICAL
    assert problem.labels == {"check": "receiver:hook", "type": "receiver",
                              "severity": "critical", "receiver": "hook"}
    assert problem.summary == "hook undeliverable since 2026-01-05T09:00:00+00:00: HTTP 503"
    assert problem.started_at == T0
    assert stats.failing_since == T0
    assert (stats.pending, stats.oldest_age) == (1, pytest.approx(610, abs=1))
    recovery = alerts[1]
    assert len(alerts) == 2
    assert recovery.kind is EventKind.RECOVERY
    assert recovery.incident_id == problem.incident_id
    assert recovery.summary.startswith("hook delivers again (undeliverable from "
                                       "2026-01-05T09:00:00+00:00 to ")


class Exploding:
    """A sender with a bug: raises instead of returning a DeliveryResult."""

    name = "boom"

    def __init__(self) -> None:
        self.calls = 0

    async def send(self, notification: Notification,
                   context: SendContext = NO_CONTEXT) -> DeliveryResult:
        self.calls += 1
        raise ZeroDivisionError("oops")

    async def close(self) -> None:
        return None


async def test_a_sender_bug_keeps_the_row(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    with capture_logs() as logs:
        async with running_outbox(tmp_path, {"boom": Exploding()}, clock) as (outbox, store):
            await outbox.submit([notification("boom", nid="n1")])
            (row,) = await wait_rows(store, lambda r: r[0].last_error != "")
    assert row.state == "pending"
    assert row.last_error == "internal error: ZeroDivisionError: oops"
    assert any(e["event"] == "sender raised" for e in logs)


async def test_rows_of_unknown_receivers_are_given_up(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    store = await Store.open(tmp_path / "state.db")
    await migrate(store)
    await store.transaction(lambda conn: enqueue(conn, [notification("gone", nid="n1")]))
    await store.close()
    async with running_outbox(tmp_path, {}, clock) as (_, store):
        (row,) = await wait_rows(store, lambda r: r[0].state == "failed")
    assert row.last_error == "receiver not configured"


async def test_old_finished_rows_are_pruned(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    hook = HookReceiver()
    async with serve(hook.app()) as base:
        sender = hook_sender(f"{base}/hook", clock)
        async with running_outbox(tmp_path, {"hook": sender}, clock,
                                  retention=86400.0) as (outbox, store):
            await outbox.submit([notification("hook", nid="n1")])
            await wait_rows(store, lambda r: r[0].state == "delivered")
            await clock.advance(3 * 86400)
            await wait_rows(store, lambda r: r == [])
            # Pruned ids are forgotten: the idempotency window is the retention.
            assert await outbox.submit([notification("hook", nid="n1")]) == 1


async def test_restart_with_pending_rows_delivers_each_once(tmp_path: Path) -> None:
    hook = HookReceiver(hold=True)
    db = tmp_path / "state.db"
    async with serve(hook.app()) as base:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.support.outbox_child", str(db), f"{base}/hook", "3",
            cwd=REPO, stdout=asyncio.subprocess.PIPE)
        assert child.stdout is not None
        assert await asyncio.wait_for(child.stdout.readline(), 30) == b"queued\n"
        await asyncio.wait_for(hook.arrived.wait(), 30)  # n0 is being sent, and held
        child.send_signal(signal.SIGKILL)
        await child.wait()
        assert child.returncode == -signal.SIGKILL
        hook.hold = False  # the held request stays unanswered: its sender is dead
        clock = SystemClock()
        sender = hook_sender(f"{base}/hook", clock)
        async with running_outbox(tmp_path, {"hook": sender}, clock) as (_, store):
            after = await wait_rows(store, lambda r: all(x.state == "delivered" for x in r))
    received = Counter(r.headers["Idempotency-Key"] for r in hook.requests)
    assert received == {"n0": 2, "n1": 1, "n2": 1}  # at-least-once: n0 was re-sent
    assert [r.headers["Idempotency-Key"] for r in hook.requests[1:]] == ["n0", "n1", "n2"]
    assert hook.processed == ["n0", "n1", "n2"]  # after dedup by key: each once, in order
    assert [(r.id, r.attempts) for r in after] == [("n0", 2), ("n1", 1), ("n2", 1)]


def test_retry_policy_bounds() -> None:
    import random

    policy = RetryPolicy(initial=10, maximum=600)
    rng = random.Random(1)
    for attempt, base in [(1, 10), (2, 20), (3, 40), (6, 320), (7, 600), (50, 600)]:
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert min(delays) >= base / 2
        assert max(delays) <= base
        assert max(delays) - min(delays) > base / 4  # jitter spreads them
    assert policy.delay(1, rng, retry_after=120) == 120
    with pytest.raises(ValueError, match="retry policy"):
        RetryPolicy(initial=0)




async def test_receiver_alert_state_survives_a_restart(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    hook = HookReceiver(script=[503] * 100)
    before: list[AlertEvent] = []
    after: list[AlertEvent] = []
    async with serve(hook.app()) as base:
        sender = hook_sender(f"{base}/hook", clock)
        async with running_outbox(tmp_path, {"hook": sender}, clock, receiver_alert_after=60.0,
                                  on_receiver_alert=before.append) as (outbox, store):
            await outbox.submit([notification("hook", nid="n1")])
            await wait_rows(store, retry_planned(clock, attempts=1))
            await clock.advance(61)
            await wait_until(lambda: len(before) == 1)
        hook.script.clear()
        sender = hook_sender(f"{base}/hook", clock)
        async with running_outbox(tmp_path, {"hook": sender}, clock, receiver_alert_after=60.0,
                                  on_receiver_alert=after.append) as (outbox, store):
            await clock.advance(700)
            await wait_rows(store, lambda r: r[0].state == "delivered")
            await wait_until(lambda: len(after) == 1)
    assert [e.kind for e in before] == [EventKind.PROBLEM]
    assert [e.kind for e in after] == [EventKind.RECOVERY]
    assert after[0].incident_id == before[0].incident_id


async def test_a_clean_stop_records_a_delivery_whose_write_was_cut(tmp_path: Path) -> None:
    """The receiver took the notification, the stop came while its 'delivered' mark waited
    for the store: the stop writes the mark, so the next start does not send it again."""
    import threading

    from monitord.notify.outbox import Outbox

    clock = SystemClock()
    store = await Store.open(tmp_path / "state.db")
    await migrate(store)
    note = notification("hook", event(at=clock.now()), nid="n1")
    await store.transaction(lambda conn: enqueue(conn, [note]))
    release, busy = threading.Event(), threading.Event()
    blockers: list[asyncio.Future[bool]] = []
    sent = asyncio.Event()

    def hold(conn: object) -> bool:
        busy.set()
        return release.wait(10)

    class Taking:  # delivers, with the store thread kept busy: the mark's write must queue
        name = "hook"

        async def send(self, n: Notification, context: SendContext = NO_CONTEXT
                       ) -> DeliveryResult:
            blockers.append(asyncio.ensure_future(store.call(hold)))
            await asyncio.to_thread(busy.wait, 10)
            sent.set()
            return DeliveryResult.delivered()

        async def close(self) -> None:
            return None

    outbox = Outbox(store, {"hook": Taking()}, clock)  # type: ignore[dict-item]
    task = asyncio.ensure_future(outbox.run())
    await asyncio.wait_for(sent.wait(), 10)
    await asyncio.sleep(0.05)  # the 'delivered' mark now waits behind the busy store
    task.cancel()  # a clean stop (SIGTERM) cuts that wait short
    await asyncio.sleep(0.05)
    release.set()
    await blockers[0]
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [(r.id, r.state) for r in await rows(store)] == [("n1", "delivered")]
    await store.close()
