"""Shared check resources: created once even when many checks ask at the same moment."""

from __future__ import annotations

import asyncio

from monitord.checks.base import check_env
from monitord.clock import SystemClock


async def test_a_slow_factory_runs_once_for_concurrent_callers() -> None:
    made: list[int] = []
    closed: list[int] = []

    async def factory() -> int:
        await asyncio.sleep(0)  # the factory awaits: others arrive meanwhile
        made.append(len(made))
        return len(made)

    async def close(value: int) -> None:
        closed.append(value)

    async with check_env(SystemClock(), "here") as env:
        values = await asyncio.gather(*(env.resource("x", factory, close) for _ in range(50)))
    assert made == [0]
    assert set(values) == {1}
    assert closed == [1]
