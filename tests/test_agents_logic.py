"""Locations, pure: silent agents, agents not heard from since a restart, the degraded
route; and the agent's durable buffer (real SQLite)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from monitord.agent.buffer import ResultBuffer
from monitord.config.alerting import AlertingConfig
from monitord.model import LocationState, Status, location_table
from monitord.qualify.agents import AgentWatch
from monitord.route.routes import Router
from monitord.store import Store
from tests.support.qualify import Driver, check, letters

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
LOCS = ("paris", "london", "frankfurt")


def test_agent_watch_silence_and_return() -> None:
    watch = AgentWatch({"london": 30.0, "tokyo": 60.0}, T0)
    assert watch.next_change(T0) == T0 + timedelta(seconds=30)
    assert watch.update(T0 + timedelta(seconds=29)) == frozenset()
    watch.seen("tokyo", T0 + timedelta(seconds=20))
    assert watch.update(T0 + timedelta(seconds=30)) == {"london"}
    assert watch.update(T0 + timedelta(seconds=31)) == frozenset()  # told once
    assert watch.silent == {"london"}
    assert watch.next_change(T0 + timedelta(seconds=31)) == T0 + timedelta(seconds=80)
    assert watch.seen("london", T0 + timedelta(seconds=40)) is True
    assert watch.silent == frozenset()
    assert watch.seen("nowhere", T0) is False


def test_silent_agent_results_stop_counting() -> None:
    d = Driver([check("web", locations=LOCS, quorum=2, interval=60.0)])
    d.feed("web", "O", location="paris")
    d.feed("web", "C", location="london", step=0)
    assert letters(d.feed("web", "C", location="frankfurt", step=0)) == "P"
    d.q.silent = frozenset({"frankfurt"})
    assert letters(d.tick(1)) == "s"  # one failing location left: degraded
    assert d.q.snapshot(d.now)["web"].state == "degraded"
    stale = {loc.location: loc.stale for loc in d.q.snapshot(d.now)["web"].locations}
    assert stale == {"paris": False, "london": False, "frankfurt": True}


def test_holding_keeps_last_state_until_the_agent_posts() -> None:
    d = Driver([check("web", locations=LOCS, quorum=2, interval=60.0)])
    d.feed("web", "C", location="london")
    assert letters(d.feed("web", "C", location="frankfurt", step=0)) == "P"
    d.q.holding = frozenset({"london", "frankfurt"})  # the central daemon restarted
    assert d.feed("web", "O", location="paris", step=600) == []  # still a problem
    d.q.holding = frozenset()
    assert letters(d.tick(0)) == "R"  # once they count as stale, paris' OK decides


def test_default_route_does_not_page_degraded_checks() -> None:
    router = Router((), AlertingConfig(default_receivers=("oncall",)))
    assert [t.receiver for t in router.decide({"check": "web"}, T0).targets] == ["oncall"]
    assert router.decide({"check": "web", "degraded": "true"}, T0).targets == ()


def test_location_table_failing_first() -> None:
    table = location_table([
        LocationState("paris", Status.OK, "fine", T0, None, 0.12),
        LocationState("london", Status.CRITICAL, "connection refused 192.0.2.9:443",
                      T0 - timedelta(seconds=12), None, 0.5),
        LocationState("frankfurt", Status.OK, "fine", T0, None, 0.095),
    ], T0)
    assert table == ('london CRITICAL "connection refused 192.0.2.9:443" 12s ago · '
                     "frankfurt OK 95 ms · paris OK 120 ms")


async def test_buffer_bounded_in_order_and_resends_the_same_batch(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "agent.db")
    try:
        buffer = ResultBuffer(store, buffer_max=100)
        await buffer.open()
        assert await buffer.add([f"r{i}" for i in range(150)]) == 50  # oldest dropped
        first = await buffer.take(30)
        assert first is not None
        assert (first.bodies[0], len(first.bodies), first.dropped) == ("r50", 30, 50)
        again = await buffer.take(30)  # not acknowledged: the same batch, same number
        assert again == first
        await buffer.done(first.batch)
        second = await buffer.take(1000)
        assert second is not None
        assert (second.batch, second.bodies[0], second.dropped) == (first.batch + 1, "r80", 0)
        await buffer.done(second.batch)
        assert await buffer.take(10) is None
        assert await buffer.size() == 0
    finally:
        await store.close()
