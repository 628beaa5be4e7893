"""Time, injected.

Decision logic never reads the clock: it takes ``now``. The edges (scheduler, alerting loop,
outbox workers) take a :class:`Clock` so tests can drive them in virtual time (see
:mod:`monitord.testing`). Every wait goes through the clock: ``sleep`` for a plain pause,
``wait_until`` for "until a deadline, or earlier if someone wakes me".
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime, timezone
from typing import Protocol

from monitord.compat import timeout


class Clock(Protocol):
    def now(self) -> datetime:
        """Wall-clock time, aware, UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for intervals and lags)."""
        ...

    async def sleep(self, seconds: float) -> None: ...

    async def wait_until(self, deadline: float, wake: asyncio.Event) -> bool:
        """Wait until :meth:`monotonic` reaches ``deadline`` or ``wake`` is set, whichever
        comes first; True if ``wake`` is set on return (already set: no wait at all).

        ``wake`` is not cleared: the caller clears it before it looks for work, so a wake-up
        given while it works is not lost."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    async def wait_until(self, deadline: float, wake: asyncio.Event) -> bool:
        # One timer that cancels the wait, no task per wait: the scheduler waits here
        # thousands of times a second with 5,000 checks. A loop's timers may fire a little
        # early (uvloop rounds to the millisecond): wait again for what is left.
        while not wake.is_set():
            delay = deadline - time.monotonic()
            if delay <= 0:
                return False
            with contextlib.suppress(TimeoutError, asyncio.TimeoutError):  # distinct on 3.10
                async with timeout(delay):
                    await wake.wait()
        return True


class StepWatch:
    """Notices steps of the wall clock (an NTP correction, an operator's ``date -s``).

    While both clocks tick, ``wall - monotonic`` stays put: a slew changes it by at most
    0.5 ms a second, and it is followed read by read. A change of ``tolerance`` seconds or more
    between two readings is a step; :meth:`step` returns its size (0.0 when there is none).
    """

    def __init__(self, clock: Clock, tolerance: float = 1.0) -> None:
        self.clock = clock
        self.tolerance = tolerance
        self._offset = self._read()

    def _read(self) -> float:
        return self.clock.now().timestamp() - self.clock.monotonic()

    def step(self) -> float:
        offset = self._read()
        delta, self._offset = offset - self._offset, offset
        return delta if abs(delta) >= self.tolerance else 0.0
