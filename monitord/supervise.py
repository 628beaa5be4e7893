"""Long-lived tasks that outlive their own failures.

A worker of the daemon (the alerting loop, an outbox worker, housekeeping) must never end the
daemon's TaskGroup: an exception escaping it would stop every check. :func:`supervised` runs
the worker's body, and when it raises, logs the traceback, counts the failure, waits (doubling
from ``initial`` up to ``maximum``) and runs it again. Cancellation passes through untouched;
a body that returns ends the task normally.

A :class:`Supervision` given to :func:`supervised` learns of each failure: which tasks are
down (waiting to restart) and how often each failed, for ``/healthz``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from monitord.clock import Clock

log = structlog.get_logger("monitord.supervise")

# Failures per task name since the process started (for logs, metrics and tests).
failures: Counter[str] = Counter()


class Supervision:
    """What the supervised tasks of one process went through (read by the health check)."""

    def __init__(self) -> None:
        self.failures: Counter[str] = Counter()
        self.down: dict[str, str] = {}  # task -> its error, while it waits to restart

    def failed(self, name: str, error: str) -> None:
        self.failures[name] += 1
        self.down[name] = error

    def restarted(self, name: str) -> None:
        self.down.pop(name, None)

    def problems(self) -> list[str]:
        return [f"task {name} failed ({self.failures[name]}x), restarting: {error}"
                for name, error in sorted(self.down.items())]


async def supervised(name: str, body: Callable[[], Awaitable[None]], clock: Clock, *,
                     initial: float = 1.0, maximum: float = 60.0,
                     watch: Supervision | None = None) -> None:
    """Run ``body()`` until it returns or the task is cancelled, restarting it on failure."""
    delay = initial
    while True:
        started = clock.monotonic()
        try:
            await body()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the point: nothing escapes a worker
            failures[name] += 1
            if clock.monotonic() - started > maximum:
                delay = initial  # it ran well for a while: this is a new failure, not a loop
            error = f"{type(exc).__name__}: {exc}"
            log.error("task_failed", task=name, error=error,
                      failures=failures[name], restart_in=delay, exc_info=True)
            if watch is not None:
                watch.failed(name, error)
        await clock.sleep(delay)
        if watch is not None:
            watch.restarted(name)
        delay = min(maximum, delay * 2)
