"""Fakes shipped with the package so tests (ours and users') drive time by hand."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import datetime, timedelta, timezone


class FakeClock:
    """A clock that only moves when told to.

    ``sleep`` and ``wait_until`` park the caller until :meth:`advance` moves time past its
    deadline (or, for ``wait_until``, its event is set), so timing logic is tested in virtual
    time without real waits.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._wall = start or datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
        self._mono = 1000.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> datetime:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._mono + seconds, next(self._seq), fut))
        await fut

    async def wait_until(self, deadline: float, wake: asyncio.Event) -> bool:
        """Like ``sleep`` until ``deadline`` (in virtual time), cut short by ``wake``."""
        if wake.is_set():
            return True
        if deadline <= self._mono:
            await asyncio.sleep(0)
            return wake.is_set()
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (deadline, next(self._seq), fut))
        waiter = asyncio.ensure_future(wake.wait())
        try:
            await asyncio.wait((fut, waiter), return_when=asyncio.FIRST_COMPLETED)
        finally:
            fut.cancel()
            waiter.cancel()
        return wake.is_set()

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking sleepers in deadline order and letting them run."""
        target = self._mono + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, fut = heapq.heappop(self._sleepers)
            self._set(deadline)
            if not fut.done():
                fut.set_result(None)
            for _ in range(5):  # let woken tasks run up to their next await
                await asyncio.sleep(0)
        self._set(target)
        for _ in range(5):
            await asyncio.sleep(0)

    def set(self, when: datetime) -> None:
        """Jump the wall clock (pure-core tests that only read ``now``)."""
        self._wall = when

    def _set(self, mono: float) -> None:
        self._wall += timedelta(seconds=mono - self._mono)
        self._mono = mono
