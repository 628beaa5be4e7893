"""Runs one check's evidence steps concurrently, cut at the evidence timeout.

The cut is read from the injected clock (``clock.sleep``), so the deadline logic is tested in
virtual time. A step still running at the cut is cancelled: what it found so far is kept, and
one ``unfinished`` item says what did not finish. Steps never raise: a bug in one is an item
saying so, never a lost notification.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog

from monitord.checks.base import CheckEnv
from monitord.clock import Clock
from monitord.compat import timeout as compat_timeout
from monitord.config.durations import format_duration
from monitord.config.schema import CheckConfig
from monitord.evidence.base import FAILED, UNFINISHED, Found, Step, found
from monitord.evidence.registry import KINDS
from monitord.model import Evidence

log = structlog.get_logger("monitord.evidence")


async def run_steps(steps: Sequence[Step], clock: Clock, limit: float,
                    timeout_name: float | None = None) -> list[Found]:
    """Every finding in step order (within a step, in the order found).

    ``timeout_name`` is the configured timeout the unfinished items name (``limit`` may be
    what is left of it).
    """
    results: list[list[Found]] = [[] for _ in steps]

    async def one(index: int, step: Step) -> None:
        try:
            await step.run(results[index].append)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in a probe must not cost the notification
            log.exception("evidence_step_crashed", probe=step.probe, target=step.target)
            results[index].append(found(step.probe, step.target, FAILED,
                                        f"internal error: {type(exc).__name__}: {exc}"))

    tasks = [asyncio.ensure_future(one(i, s)) for i, s in enumerate(steps)]
    cut = asyncio.ensure_future(clock.sleep(limit))
    try:
        pending = set(tasks)
        while pending and not cut.done():
            _, pending = await asyncio.wait({*pending, cut},
                                            return_when=asyncio.FIRST_COMPLETED)
            pending.discard(cut)
    finally:
        cut.cancel()
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)
    for index, (step, task) in enumerate(zip(steps, tasks)):
        if task.cancelled():
            results[index].append(found(step.probe, step.target, UNFINISHED,
                                        "not finished within "
                                        f"{format_duration(timeout_name or limit)}"))
    return [item for items in results for item in items]


@dataclass(frozen=True, slots=True)
class Collected:
    """One check's evidence and the facts it observed (the "now" side of what changed)."""

    evidence: tuple[Evidence, ...]
    facts: dict[str, str]


HostCap = Callable[[str], asyncio.Semaphore]


async def collect(config: CheckConfig, env: CheckEnv, limit: float,
                  host_cap: HostCap | None = None) -> Collected:
    """Run the evidence of ``config``'s kind within ``limit`` seconds.

    With ``host_cap`` (the scheduler's per-host semaphores), the whole run takes one slot of
    the target host, like one more run of the check: evidence never adds more load on a host
    than ``max_checks_per_host`` allows.
    """
    kind = KINDS.get(config.type)
    if kind is None:
        return Collected((), {})
    clock = env.clock
    started = clock.monotonic()
    slot = host_cap(config.spec.target) if host_cap is not None else None
    if slot is not None:
        try:
            async with compat_timeout(limit):
                await slot.acquire()
        except TimeoutError:
            item = found(config.type, config.spec.target, UNFINISHED,
                         "not started: the host's concurrency cap stayed full")
            return Collected((item.item,), {})
    try:
        left = max(0.0, limit - (clock.monotonic() - started))
        items = await run_steps(kind.steps(config, env, left), clock, left, limit)
    finally:
        if slot is not None:
            slot.release()
    facts: dict[str, str] = {}
    for item in items:
        facts.update(item.facts)
    return Collected(tuple(i.item for i in items), facts)
