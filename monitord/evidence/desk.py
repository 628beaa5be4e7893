"""The evidence desk: the daemon's side of evidence and "what changed".

It watches results (the last OK fingerprint per check and location, persisted; the first
failing one since), starts the evidence run when qualification confirms a problem — once per
incident, never more often than the check's own interval, in a task of the daemon's
TaskGroup — and hands notifications their evidence, changes and "what was checked".

A notification waits for its incident's evidence at most until the run's cut
(``evidence_timeout`` after it started; ``group_wait`` usually covers it already), so the
evidence never makes a notification later than that.

Error handling: a failing evidence run is logged and leaves the incident without evidence;
a store error while saving baselines is logged and retried with the next result.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import structlog

from monitord.checks.base import CheckEnv
from monitord.clock import Clock
from monitord.config.schema import CheckConfig
from monitord.evidence import persist
from monitord.evidence.facts import Fingerprint, changes, fingerprint, merge
from monitord.evidence.locations import location_evidence
from monitord.evidence.runner import HostCap, collect
from monitord.evidence.target import describe_target
from monitord.model import AlertEvent, EventKind, Evidence, Notification, Result, Status
from monitord.store import Store

if TYPE_CHECKING:
    from monitord.compat import TaskGroup

log = structlog.get_logger("monitord.evidence")

SAVE_EVERY = 5.0  # seconds between baseline writes (a restart loses at most that much)
GRACE = 1.0  # seconds past the cut a notification waits for the run to hand its result over


@dataclass
class _Run:
    check: str
    started: float  # monotonic
    task: asyncio.Task[None] | None = None
    evidence: tuple[Evidence, ...] = ()
    changes: tuple[str, ...] = ()


class EvidenceDesk:
    def __init__(self, clock: Clock, store: Store, timeout: float,
                 checks: Sequence[CheckConfig]) -> None:
        self.clock = clock
        self.store = store
        self.timeout = timeout
        self.env: CheckEnv | None = None  # the daemon's check resources (attach)
        self.host_cap: HostCap | None = None
        self.group: TaskGroup | None = None
        self._checks = {c.name: c for c in checks}
        self._targets = {c.name: describe_target(c) for c in checks}
        self._baselines: dict[persist.Key, Fingerprint] = {}
        self._unsaved: dict[persist.Key, tuple[Fingerprint, float]] = {}
        self._failing: dict[persist.Key, Fingerprint] = {}  # first failing result since OK
        self._runs: dict[str, _Run] = {}  # by incident id
        self._last_start: dict[str, float] = {}  # by check: never faster than the check
        self._save_due = 0.0

    async def open(self) -> None:
        await self.store.migrate(persist.COMPONENT, persist.MIGRATIONS)
        self._baselines = await self.store.call(persist.load_baselines)
        for incident, (evidence, found) in (await self.store.call(
                persist.load_incidents)).items():
            self._runs[incident] = _Run("", 0.0, None, evidence, found)

    def attach(self, env: CheckEnv, host_cap: HostCap | None) -> None:
        self.env, self.host_cap = env, host_cap

    def update_checks(self, checks: Sequence[CheckConfig]) -> None:
        self._checks = {c.name: c for c in checks}
        self._targets = {c.name: describe_target(c) for c in checks}

    # -- results --------------------------------------------------------------------------

    async def observe(self, result: Result) -> None:
        """Keep the last OK fingerprint (saved when it changes) and the first failing one."""
        key = (result.check, result.location)
        facts = fingerprint(result)
        if result.status is Status.OK:
            self._failing.pop(key, None)
            if self._baselines.get(key) != facts:
                self._baselines[key] = facts
                self._unsaved[key] = (facts, result.at.timestamp())
        else:
            self._failing.setdefault(key, facts)
        # Saved in batches: a duration near a band's edge must not cost a write per result.
        if self._unsaved and self.clock.monotonic() >= self._save_due:
            self._save_due = self.clock.monotonic() + SAVE_EVERY
            rows, self._unsaved = self._unsaved, {}
            try:
                await self.store.transaction(lambda conn: persist.save_baselines(conn, rows))
            except sqlite3.Error:
                log.exception("evidence_baseline_save_failed")
                self._unsaved = {**rows, **self._unsaved}

    def confirmed(self, events: Iterable[AlertEvent]) -> None:
        """Start the evidence of every newly confirmed problem (once per incident)."""
        for event in events:
            if event.kind is not EventKind.PROBLEM or event.incident_id in self._runs:
                continue
            config = self._checks.get(event.check)
            if config is None or self.group is None or self.env is None:
                continue
            now = self.clock.monotonic()
            last = self._last_start.get(config.name)
            if last is not None and now - last < config.interval:
                continue  # a flapping check gets no more evidence runs than runs
            self._last_start[config.name] = now
            run = self._runs[event.incident_id] = _Run(config.name, now)
            while len(self._runs) > persist.KEEP_INCIDENTS:  # the oldest go first
                del self._runs[next(iter(self._runs))]
            run.task = self.group.create_task(self._gather(event, config, run),
                                              name=f"evidence:{event.incident_id}")

    async def _gather(self, event: AlertEvent, config: CheckConfig, run: _Run) -> None:
        assert self.env is not None
        try:
            collected = await collect(config, self.env, self.timeout, self.host_cap)
        except Exception:
            log.exception("evidence_failed", incident=event.incident_id, check=config.name)
            return
        key = (config.name, self.env.location)
        baseline = self._baselines.get(key)
        now_facts = merge(self._failing.get(key, {}), collected.facts)
        # How the other locations see it comes first: "OK from frankfurt" says "a path".
        run.evidence = location_evidence(event.locations, self.env.location,
                                         event.at) + collected.evidence
        run.changes = tuple(changes(baseline, now_facts)) if baseline else ()
        log.info("evidence_gathered", incident=event.incident_id, check=config.name,
                 items=len(run.evidence), changes=list(run.changes))
        try:
            await self.store.transaction(lambda conn: persist.save_incident(
                conn, event.incident_id, config.name, run.evidence, run.changes,
                self.clock.now().timestamp()))
        except sqlite3.Error:
            log.exception("evidence_save_failed", incident=event.incident_id)

    # -- notifications ----------------------------------------------------------------------

    async def settle(self, notifications: Sequence[Notification]) -> tuple[Notification, ...]:
        """The notifications with evidence, changes and what was checked filled in.

        Waits for the evidence runs they need, each at most until its cut.
        """
        needed = {e.incident_id for n in notifications for e in n.events if e.firing}
        waiting = [r.task for i, r in self._runs.items()
                   if i in needed and r.task is not None and not r.task.done()]
        if waiting:
            # The runs end at their own cut (in the injected clock); the real-time bound
            # here only guards against a run that could not honour it.
            await asyncio.wait(waiting, timeout=self.timeout + GRACE)
        return tuple(replace(n, events=tuple(self._fill(e) for e in n.events))
                     for n in notifications)

    def _fill(self, event: AlertEvent) -> AlertEvent:
        config = self._checks.get(event.check)
        extra: dict[str, object] = {
            "target": self._targets.get(event.check, event.target),
            "description": config.description if config is not None else event.description,
        }
        run = self._runs.get(event.incident_id)
        if run is not None and event.firing and (run.task is None or run.task.done()):
            extra.update(evidence=run.evidence, changes=run.changes)
        return replace(event, **extra)  # type: ignore[arg-type]

    def incident(self, incident_id: str) -> tuple[tuple[Evidence, ...], tuple[str, ...]]:
        run = self._runs.get(incident_id)
        if run is None or (run.task is not None and not run.task.done()):
            return (), ()
        return run.evidence, run.changes
