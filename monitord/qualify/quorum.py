"""Quorum across locations: is the check as a whole in a confirmed problem?

The contract: a problem is confirmed when at least ``quorum`` of the check's locations report
it as confirmed (hard); a location whose newest result is older than 3 × interval does not
count, nor do the locations of silent agents. Fewer fresh failing locations than ``quorum``
(but at least one) make the check *degraded*: shown, routable, not a problem. Where the
contract is silent, the choice here is conservative: an open problem
recovers only when fewer than ``quorum`` fresh locations still fail AND at least one fresh
location reports a confirmed OK. Locations merely going silent never close an incident.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from monitord.model import Status
from monitord.qualify.confirm import Confirmation

# Nagios ordering of problem statuses (CRITICAL > WARNING > UNKNOWN > OK).
SEVERITY_ORDER = {Status.OK: 0, Status.UNKNOWN: 1, Status.WARNING: 2, Status.CRITICAL: 3}


@dataclass(frozen=True, slots=True)
class Verdict:
    """How the fresh locations see a check, and whether it is in a confirmed problem."""

    problem: bool
    status: Status  # worst confirmed status of the failing locations (or the previous one)
    failing: tuple[str, ...]  # fresh, hard problem
    healthy: tuple[str, ...]  # fresh, hard OK
    stale: tuple[str, ...]  # no result, or the newest older than the cutoff

    @property
    def degraded(self) -> bool:
        """Some fresh locations fail, fewer than the quorum: not a problem, but shown."""
        return not self.problem and bool(self.failing)

    def worst(self, locations: Mapping[str, Confirmation]) -> Confirmation | None:
        """The failing location whose status is the worst (first in order on a tie)."""
        best: Confirmation | None = None
        for name in self.failing:
            conf = locations[name]
            if best is None or SEVERITY_ORDER[conf.hard] > SEVERITY_ORDER[best.hard]:
                best = conf
        return best


def tally(locations: Mapping[str, Confirmation], quorum: int, was_problem: bool,
          previous: Status, cutoff: datetime, silent: Collection[str] = (),
          holding: Collection[str] = ()) -> Verdict:
    """Decide the check-level state; ``cutoff``: results older than this are stale;
    ``silent``: locations whose agent is silent (their results do not count); ``holding``:
    agents not heard from since this daemon started (their last state holds meanwhile, so
    a restart of the central daemon does not close and reopen their problems)."""
    failing: list[str] = []
    healthy: list[str] = []
    stale: list[str] = []
    worst = Status.OK
    for name, conf in locations.items():
        if conf.at is None or name in silent or (conf.at < cutoff and name not in holding):
            stale.append(name)
        elif conf.hard.is_problem:
            failing.append(name)
            if SEVERITY_ORDER[conf.hard] > SEVERITY_ORDER[worst]:
                worst = conf.hard
        else:
            healthy.append(name)
    # Once open, only positive evidence (a fresh healthy location) closes the problem.
    problem = len(failing) >= quorum or (was_problem and not healthy)
    if problem and not failing:  # every failing location fell silent: keep what was known
        worst = previous
    return Verdict(problem, worst if problem else Status.OK, tuple(failing), tuple(healthy),
                   tuple(stale))
