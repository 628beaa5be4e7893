"""Two clocks: a step of the wall clock changes no decision (pure logic, fake clocks)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from monitord.clock import StepWatch
from monitord.config.alerting import AlertingConfig
from monitord.model import AlertEvent
from monitord.qualify import Grouper, Qualifier, QualifySettings
from monitord.qualify.pipeline import Pipeline, Target
from monitord.route.routes import Route, Router
from monitord.supervise import failures, supervised
from monitord.testing import FakeClock
from tests.support.qualify import T0, check, result

HOUR = timedelta(hours=1)
ROUTER = Router((Route(0, ("oncall",), group_wait=30.0, group_interval=300.0,
                        repeat_interval=3600.0),), AlertingConfig())


def route(event: AlertEvent, now: datetime) -> tuple[Target, ...]:
    return ROUTER.decide(event.labels, now).targets


def pipeline() -> Pipeline:
    return Pipeline(Qualifier([check("shop")], QualifySettings(repeat_interval=3600.0)),
                    Grouper(), route)


def test_step_watch_tells_steps_from_slew() -> None:
    clock = FakeClock(T0)
    watch = StepWatch(clock)
    for _ in range(100):  # 0.5 ms a second for 100 s: a slew, followed read by read
        clock._set(clock.monotonic() + 1.0)
        clock.set(clock.now() + timedelta(milliseconds=0.5))
        assert watch.step() == 0.0
    clock.set(clock.now() - HOUR)
    assert watch.step() == pytest.approx(-3600.0)
    assert watch.step() == 0.0


@pytest.mark.parametrize("step", [-HOUR, 5 * HOUR])
def test_a_shifted_core_keeps_results_group_wait_and_repeats(step: timedelta) -> None:
    p = pipeline()
    p.process(result("shop", "O", T0), T0)
    p.process(result("shop", "C", T0 + timedelta(seconds=60)), T0 + timedelta(seconds=60))
    assert p.take_batch(T0 + timedelta(seconds=61)).notifications == ()  # in group_wait
    p.shift(step)
    now = T0 + step + timedelta(seconds=91)
    [note] = p.take_batch(now).notifications  # group_wait ran out 30 s after the problem
    assert [e.kind.value for e in note.events] == ["problem"]
    # A result after the step is newer than the last one seen: it counts.
    events = p.process(result("shop", "O", now + timedelta(seconds=9)), now + timedelta(seconds=9))
    assert [e.kind.value for e in events] == ["recovery"]


def test_a_result_stamped_before_a_step_back_counts_as_now() -> None:
    p = pipeline()
    p.process(result("shop", "O", T0), T0)
    p.shift(-HOUR)
    now = T0 - HOUR + timedelta(seconds=61)
    # The check started before the step and ended after it: its stamp is an hour ahead.
    p.process(result("shop", "C", T0 + timedelta(seconds=60)), now)
    assert p.qualifier.snapshot(now)["shop"].status.name == "CRITICAL"
    later = now + timedelta(seconds=60)
    p.process(result("shop", "O", later), later)  # newer than the stamp taken as now
    assert p.qualifier.snapshot(later)["shop"].status.name == "OK"


async def test_supervised_restarts_a_failing_body_with_backoff() -> None:
    clock = FakeClock(T0)
    runs: list[float] = []

    async def body() -> None:
        runs.append(clock.monotonic())
        if len(runs) < 4:
            raise RuntimeError("boom")

    task = asyncio.create_task(supervised("flaky", body, clock, initial=1.0, maximum=8.0))
    for _ in range(10):
        await clock.advance(1.0)
    await task
    assert [r - runs[0] for r in runs] == [0.0, 1.0, 3.0, 7.0]  # 1, 2, 4 s apart
    assert failures["flaky"] == 3


async def test_supervised_passes_cancellation_through() -> None:
    clock = FakeClock(T0)

    async def body() -> None:
        await clock.sleep(100)

    task = asyncio.create_task(supervised("idle", body, clock))
    await clock.advance(1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert failures["idle"] == 0
