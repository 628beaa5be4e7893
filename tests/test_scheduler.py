"""The scheduler in virtual time: cadence, spread, no overlap, caps, reload, poke, lag."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from monitord.config.schema import CheckConfig
from monitord.model import Outcome, Result, Status
from monitord.runner import CheckRunner
from monitord.scheduler import Scheduler, spread_offset
from monitord.testing import FakeClock


@dataclass(frozen=True)
class Spec:
    host: str = "h"

    @property
    def target(self) -> str:
        return self.host


class SlowCheck:
    """Takes ``duration`` virtual seconds; records overlap."""

    def __init__(self, clock: FakeClock, duration: float = 0.0,
                 status: Status = Status.OK) -> None:
        self.clock = clock
        self.duration = duration
        self.status = status
        self.calls = 0
        self.active = 0
        self.max_active = 0
        self.started: list[float] = []

    async def run(self) -> Outcome:
        self.calls += 1
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        self.started.append(self.clock.monotonic())
        try:
            await self.clock.sleep(self.duration)
        finally:
            self.active -= 1
        return Outcome(self.status, "done")


def config(name: str, interval: float = 10.0, host: str = "h", **kw: object) -> CheckConfig:
    return CheckConfig(name=name, type="fake", spec=Spec(host), interval=interval,
                       timeout=1000.0, **kw)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make(clock: FakeClock, results: list[Result], **kw: object) -> Scheduler:
    async def on_result(result: Result) -> None:
        results.append(result)

    return Scheduler(clock=clock, run_check=CheckRunner(clock, "here"), on_result=on_result,
                     **kw)  # type: ignore[arg-type]


async def run_for(clock: FakeClock, scheduler: Scheduler, checks: list, seconds: float,
                  step: float = 0.5) -> asyncio.Task[None]:
    task = asyncio.create_task(scheduler.run(checks))
    await asyncio.sleep(0)
    elapsed = 0.0
    while elapsed < seconds:
        await clock.advance(step)
        elapsed += step
    return task


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_spread_is_stable_and_within_the_interval() -> None:
    offsets = [spread_offset(f"check-{i}", 60.0) for i in range(1000)]
    assert all(0 <= o < 60 for o in offsets)
    assert offsets == [spread_offset(f"check-{i}", 60.0) for i in range(1000)]
    # spread: every 6 s slice of the minute gets some of the 1,000 checks
    assert {int(o // 6) for o in offsets} == set(range(10))


async def test_runs_on_interval_after_spread_offset(clock: FakeClock) -> None:
    results: list[Result] = []
    check = SlowCheck(clock)
    start = clock.monotonic()
    task = await run_for(clock, make(clock, results), [(config("a"), check)], 45)
    await stop(task)
    first = start + spread_offset("a", 10.0)
    assert check.calls == len([t for t in (first + 10 * k for k in range(5)) if t <= start + 45])
    assert check.started[0] == pytest.approx(first, abs=0.51)
    gaps = [b - a for a, b in zip(check.started, check.started[1:])]
    assert all(g == pytest.approx(10.0, abs=0.51) for g in gaps)
    assert [r.check for r in results] == ["a"] * check.calls


async def test_a_slow_check_never_overlaps_itself(clock: FakeClock) -> None:
    check = SlowCheck(clock, duration=25.0)  # longer than the 10 s interval
    task = await run_for(clock, make(clock, []), [(config("slow"), check)], 120)
    await stop(task)
    assert check.max_active == 1
    assert check.calls >= 3


async def test_per_host_cap_limits_concurrency(clock: FakeClock) -> None:
    checks = [SlowCheck(clock, duration=50.0) for _ in range(6)]
    pairs = [(config(f"c{i}", interval=100.0), c) for i, c in enumerate(checks)]
    scheduler = make(clock, [], max_per_host=2)
    active = []

    async def watch() -> None:
        while True:
            active.append(scheduler.in_flight)
            await clock.sleep(0.25)

    watcher = asyncio.create_task(watch())
    task = await run_for(clock, scheduler, pairs, 400, step=0.25)
    await stop(task)
    watcher.cancel()
    assert max(active) == 2
    assert all(c.calls >= 1 for c in checks)
    assert scheduler.lag.percentile(99) > 0  # waiting for the cap shows up as lag


async def test_update_keeps_unchanged_schedules_and_swaps_the_rest(clock: FakeClock) -> None:
    results: list[Result] = []
    scheduler = make(clock, results)
    keep, drop = SlowCheck(clock), SlowCheck(clock)
    task = await run_for(clock, scheduler, [(config("keep"), keep), (config("drop"), drop)], 30)
    before = list(keep.started)
    added_check = SlowCheck(clock)
    counts = scheduler.update([(config("keep"), SlowCheck(clock)), (config("new"), added_check)])
    assert counts == (1, 1, 0)
    drop_calls = drop.calls
    for _ in range(60):
        await clock.advance(0.5)
    await stop(task)
    assert drop.calls == drop_calls  # removed: no more runs
    assert added_check.calls >= 2
    # the unchanged check kept its instance and its grid
    assert keep.started[: len(before)] == before
    assert all(round((b - a), 3) == 10.0 for a, b in zip(keep.started, keep.started[1:]))


async def test_poke_runs_a_check_now(clock: FakeClock) -> None:
    check = SlowCheck(clock)
    scheduler = make(clock, [])
    task = await run_for(clock, scheduler, [(config("p", interval=300.0), check)], 301)
    calls = check.calls
    assert scheduler.poke("p")
    await clock.advance(0.01)
    assert check.calls == calls + 1
    assert not scheduler.poke("unknown")
    await stop(task)


async def test_next_delay_sets_the_cadence(clock: FakeClock) -> None:
    check = SlowCheck(clock, status=Status.CRITICAL)

    async def on_result(result: Result) -> None:
        return None

    scheduler = Scheduler(clock=clock, run_check=CheckRunner(clock, "here"), on_result=on_result,
                          next_delay=lambda cfg, res: 2.0 if res.status.is_problem else 10.0)
    task = await run_for(clock, scheduler, [(config("r"), check)], 30)
    await stop(task)
    gaps = [b - a for a, b in zip(check.started, check.started[1:])]
    assert gaps
    assert all(g == pytest.approx(2.0, abs=0.51) for g in gaps)
