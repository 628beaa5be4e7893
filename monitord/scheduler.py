"""Runs every check on its cadence, under concurrency caps, and measures how late it starts.

Each check has one loop task (owned by the scheduler's TaskGroup): so two runs of the same
check can never overlap. First runs are spread over the first interval by a hash of the
check's name, so 5,000 checks configured together do not fire in the same millisecond and a
restart keeps the same phase. Runs are planned on a fixed grid (``planned += delay``); a run
that overruns its slot skips the missed slots instead of bunching up.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import partial

import structlog

from monitord.checks.kind import Check
from monitord.clock import Clock
from monitord.compat import TaskGroup
from monitord.config.schema import CheckConfig
from monitord.model import Result
from monitord.supervise import Supervision, supervised

log = structlog.get_logger("monitord.scheduler")

RunCheck = Callable[[CheckConfig, Check], Awaitable[Result]]
OnResult = Callable[[Result], Awaitable[None]]
NextDelay = Callable[[CheckConfig, Result], float]


def spread_offset(name: str, interval: float) -> float:
    """A stable offset in [0, interval) derived from the check's name."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 * interval


def regular_cadence(config: CheckConfig, result: Result) -> float:
    return config.interval


class LagStats:
    """How late runs started compared with their plan, over the most recent runs."""

    def __init__(self, keep: int = 20_000) -> None:
        self._recent: deque[float] = deque(maxlen=keep)
        self.count = 0
        self.total = 0.0

    def add(self, lag: float) -> None:
        self._recent.append(lag)
        self.count += 1
        self.total += lag

    def percentile(self, q: float) -> float:
        if not self._recent:
            return 0.0
        ordered = sorted(self._recent)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]

    def clear(self) -> None:
        self._recent.clear()


@dataclass
class _Entry:
    config: CheckConfig
    check: Check
    task: asyncio.Task[None] | None = None
    wake: asyncio.Event | None = None  # cleared while the loop sleeps: poke() may set it
    running: bool = False


class Scheduler:
    """Owns one loop per check.

    Error handling: a check that raises is turned into a result by ``run_check``; an error in
    ``on_result`` is logged and the loop goes on, so one bad check never stops the others.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        run_check: RunCheck,
        on_result: OnResult,
        max_concurrent: int = 1000,
        max_per_host: int = 16,
        next_delay: NextDelay = regular_cadence,
    ) -> None:
        self.clock = clock
        self._run_check = run_check
        self._on_result = on_result
        self.next_delay = next_delay
        self._global = asyncio.Semaphore(max_concurrent)
        self._max_concurrent = max_concurrent
        self._max_per_host = max_per_host
        self._per_host: dict[str, asyncio.Semaphore] = {}
        self._entries: dict[str, _Entry] = {}
        self._group: TaskGroup | None = None
        self._started_at = 0.0
        self.lag = LagStats()
        self.runs = 0
        self.in_flight = 0
        self.last_activity = clock.monotonic()
        self.supervision: Supervision | None = None  # told of check loops that failed

    # -- lifecycle --------------------------------------------------------------------

    async def run(self, checks: Iterable[tuple[CheckConfig, Check]] = ()) -> None:
        """Run until cancelled; cancelling stops every check loop (in-flight runs too)."""
        for config, check in checks:
            self._entries[config.name] = _Entry(config, check)
        self._started_at = self.clock.monotonic()
        async with TaskGroup() as group:
            self._group = group
            for entry in self._entries.values():
                self._start(entry, first=True)
            try:
                await asyncio.get_running_loop().create_future()  # until cancelled
            finally:
                self._group = None

    def update(self, checks: Iterable[tuple[CheckConfig, Check]]) -> tuple[int, int, int]:
        """Swap in a new set of checks: (added, removed, changed) counts.

        Unchanged checks keep their schedule and their instance (counters, baselines).
        """
        wanted = {config.name: (config, check) for config, check in checks}
        added = removed = changed = 0
        for name in list(self._entries):
            if name not in wanted:
                self._stop(self._entries.pop(name))
                removed += 1
        for name, (config, check) in wanted.items():
            current = self._entries.get(name)
            if current is not None and current.config == config:
                continue
            if current is not None:
                self._stop(current)
                changed += 1
            else:
                added += 1
            entry = _Entry(config, check)
            self._entries[name] = entry
            self._start(entry, first=current is None)
        return added, removed, changed

    def poke(self, name: str) -> bool:
        """Run ``name`` now (a trap or an operator asked); False if unknown or running."""
        entry = self._entries.get(name)
        if entry is None or entry.running or entry.wake is None or entry.wake.is_set():
            return False
        entry.wake.set()
        return True

    def checks(self) -> list[CheckConfig]:
        return [entry.config for entry in self._entries.values()]

    def check_instance(self, name: str) -> Check | None:
        entry = self._entries.get(name)
        return entry.check if entry else None

    # -- internals --------------------------------------------------------------------

    def _start(self, entry: _Entry, *, first: bool) -> None:
        if self._group is None:
            return  # run() will start it
        offset = spread_offset(entry.config.name, entry.config.interval) if first else 0.0
        # Supervised: a bug escaping one check's loop restarts that loop after a pause
        # instead of ending the scheduler's TaskGroup (and with it every other check).
        name = f"check:{entry.config.name}"
        entry.task = self._group.create_task(supervised(
            name, partial(self._loop, entry, self.clock.monotonic() + offset), self.clock,
            watch=self.supervision), name=name)

    def _stop(self, entry: _Entry) -> None:
        if entry.task is not None:
            entry.task.cancel()

    def set_limits(self, max_concurrent: int, max_per_host: int) -> bool:
        """New caps (a reload); True if they changed. Runs in flight finish under the old
        semaphores, every later run waits on the new ones."""
        if (max_concurrent, max_per_host) == (self._max_concurrent, self._max_per_host):
            return False
        self._max_concurrent, self._max_per_host = max_concurrent, max_per_host
        self._global = asyncio.Semaphore(max_concurrent)
        self._per_host = {}
        return True

    def _host_cap(self, config: CheckConfig) -> asyncio.Semaphore:
        return self.host_cap(config.spec.target)

    def host_cap(self, host: str) -> asyncio.Semaphore:
        """The per-host cap (``max_checks_per_host``), shared with the evidence runs."""
        cap = self._per_host.get(host)
        if cap is None:
            cap = self._per_host[host] = asyncio.Semaphore(self._max_per_host)
        return cap

    async def _loop(self, entry: _Entry, planned: float) -> None:
        config = entry.config
        while True:
            await self._sleep_until(entry, planned)
            woken_early = self.clock.monotonic() < planned
            async with self._global, self._host_cap(config):
                started = self.clock.monotonic()
                if not woken_early:
                    self.lag.add(max(0.0, started - planned))
                entry.running = True
                self.in_flight += 1
                try:
                    result = await self._run_check(config, entry.check)
                finally:
                    entry.running = False
                    self.in_flight -= 1
            self.runs += 1
            self.last_activity = self.clock.monotonic()
            try:
                await self._on_result(result)
                delay = self.next_delay(config, result)
            except Exception:
                log.exception("result_handling_failed", check=config.name)
                delay = config.interval
            base = started if woken_early else planned
            planned = base + delay
            now = self.clock.monotonic()
            if planned < now:  # overran: skip missed slots rather than bunching up
                planned = now + (planned - now) % delay if delay > 0 else now

    async def _sleep_until(self, entry: _Entry, deadline: float) -> None:
        if entry.wake is None:
            entry.wake = asyncio.Event()
        entry.wake.clear()
        try:
            await self.clock.wait_until(deadline, entry.wake)
        finally:
            entry.wake.set()  # the sleep is over: a poke now would be lost, so refuse it
