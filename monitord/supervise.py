"""Long-lived tasks that outlive their own failures.

A worker of the daemon (the alerting loop, an outbox worker, housekeeping) must never end the
daemon's TaskGroup: an exception escaping it would stop every check. :func:`supervised` runs
the worker's body, and when it raises, logs the traceback, counts the failure, waits (doubling
from ``initial`` up to ``maximum``) and runs it again. Cancellation passes through untouched;
a body that returns ends the task normally.
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


async def supervised(name: str, body: Callable[[], Awaitable[None]], clock: Clock, *,
                     initial: float = 1.0, maximum: float = 60.0) -> None:
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
            log.error("task_failed", task=name, error=f"{type(exc).__name__}: {exc}",
                      failures=failures[name], restart_in=delay, exc_info=True)
        await clock.sleep(delay)
        delay = min(maximum, delay * 2)
