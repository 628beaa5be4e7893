"""A missed heartbeat is noticed at its deadline, not at the check's next interval tick."""

from __future__ import annotations

import asyncio

from monitord.config.reader import SecretRef
from monitord.heartbeat.board import HeartbeatBoard, Signal
from monitord.heartbeat.check import HeartbeatSpec, evaluate
from monitord.heartbeat.deadlines import drive_deadlines
from monitord.model import Status
from monitord.testing import FakeClock

JOB = HeartbeatSpec(check="job", period=60.0, token=SecretRef(env="UNUSED"), grace=10.0,
                    max_duration=30.0)


async def test_the_deadline_runs_the_check() -> None:
    clock = FakeClock()
    board = HeartbeatBoard(clock)
    start = clock.monotonic()
    poked: list[float] = []

    def poke(name: str) -> bool:
        poked.append(clock.monotonic() - start)
        return True

    await board.record("job", Signal.PING)
    task = asyncio.create_task(drive_deadlines(board, clock, lambda: {"job": JOB}, poke))
    try:
        await clock.advance(69.0)
        assert poked == []
        await clock.advance(2.0)
        assert len(poked) == 1
        assert 70.0 < poked[0] < 70.5
        beat = board.get("job")
        assert beat is not None
        assert evaluate(JOB, beat, clock.now()).status is Status.CRITICAL
        await clock.advance(120.0)
        assert len(poked) == 1  # one poke per deadline
        # A start moves the deadlines: max_duration now runs out first.
        await board.record("job", Signal.START)
        await clock.advance(29.0)
        assert len(poked) == 1
        await clock.advance(2.0)
        assert len(poked) == 2
    finally:
        task.cancel()


async def test_a_busy_check_is_poked_again() -> None:
    clock = FakeClock()
    board = HeartbeatBoard(clock)
    answers = [False, True]
    poked: list[float] = []

    def poke(name: str) -> bool:
        poked.append(clock.monotonic())
        return answers.pop(0) if answers else True

    await board.record("job", Signal.PING)
    task = asyncio.create_task(drive_deadlines(board, clock, lambda: {"job": JOB}, poke))
    try:
        await clock.advance(71.0)
        await clock.advance(2.0)
        assert len(poked) == 2
        assert poked[1] - poked[0] <= 1.5
    finally:
        task.cancel()
