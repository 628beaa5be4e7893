"""The one wait primitive, ``Clock.wait_until``: the real clock and the fake agree on it."""

from __future__ import annotations

import asyncio
import time

from monitord.clock import SystemClock
from monitord.testing import FakeClock


async def test_fake_wait_until_ends_at_the_deadline_in_virtual_time() -> None:
    clock = FakeClock()
    wake = asyncio.Event()
    task = asyncio.create_task(clock.wait_until(clock.monotonic() + 10, wake))
    await clock.advance(9.5)
    assert not task.done()
    await clock.advance(0.5)
    assert task.done()
    assert task.result() is False
    assert not wake.is_set()


async def test_fake_wait_until_is_cut_short_by_the_event() -> None:
    clock = FakeClock()
    wake = asyncio.Event()
    task = asyncio.create_task(clock.wait_until(clock.monotonic() + 3600, wake))
    await clock.advance(1)
    assert not task.done()
    wake.set()
    assert await asyncio.wait_for(task, timeout=5) is True
    before = clock.monotonic()
    await clock.advance(3600)  # the abandoned deadline wakes nobody and breaks nothing
    assert clock.monotonic() == before + 3600


async def test_fake_wait_until_returns_at_once_when_set_or_past() -> None:
    clock = FakeClock()
    wake = asyncio.Event()
    assert await clock.wait_until(clock.monotonic() - 1, wake) is False
    wake.set()
    assert await clock.wait_until(clock.monotonic() + 3600, wake) is True


async def test_system_wait_until_deadline_and_event() -> None:
    clock = SystemClock()
    wake = asyncio.Event()
    started = time.monotonic()
    assert await clock.wait_until(started + 0.05, wake) is False
    assert time.monotonic() - started >= 0.05
    assert await clock.wait_until(time.monotonic() - 1, wake) is False

    asyncio.get_running_loop().call_later(0.02, wake.set)
    started = time.monotonic()
    assert await clock.wait_until(started + 30, wake) is True
    assert time.monotonic() - started < 10
    assert await clock.wait_until(time.monotonic() + 30, wake) is True  # set: no wait


async def test_system_wait_until_passes_cancellation_on() -> None:
    clock = SystemClock()
    task = asyncio.create_task(clock.wait_until(time.monotonic() + 30, asyncio.Event()))
    await asyncio.sleep(0.01)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)
    assert task in done
    assert task.cancelled()
