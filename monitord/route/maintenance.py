"""Maintenance windows (``[[maintenance]]``): planned periods whose matching alerts are held.

A window is *active* when ``now`` is inside any of its ``time_intervals`` (recurring, e.g.
Sunday nights) and within ``[starts_at, ends_at)`` when those are given (a one-off change
window, or a bound on a recurring one). Qualification records matching problems without
notifying them, and notifies those still open when the window ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitord.route.matchers import Matcher, matches_all
from monitord.route.timeintervals import DEFAULT_HORIZON, TimeInterval, earliest_change

# next_change steps from one candidate instant to the next; each step moves past at least
# one interval boundary, so this only bounds pathological configurations.
_MAX_STEPS = 10_000


@dataclass(frozen=True, slots=True)
class Maintenance:
    name: str
    matchers: tuple[Matcher, ...]  # () = every alert
    time_intervals: tuple[TimeInterval, ...] = ()
    starts_at: datetime | None = None  # aware; included
    ends_at: datetime | None = None  # aware; excluded

    def active(self, now: datetime) -> bool:
        if self.starts_at is not None and now < self.starts_at:
            return False
        if self.ends_at is not None and now >= self.ends_at:
            return False
        return not self.time_intervals or any(i.contains(now) for i in self.time_intervals)

    def covers(self, labels: Mapping[str, str], now: datetime) -> bool:
        """Whether an alert with ``labels`` is held by this window at ``now``."""
        return matches_all(self.matchers, labels) and self.active(now)

    def explain(self, now: datetime) -> str:
        if self.starts_at is not None and now < self.starts_at:
            return f'maintenance "{self.name}" starts at {self.starts_at.isoformat()}'
        if self.ends_at is not None and now >= self.ends_at:
            return f'maintenance "{self.name}" ended at {self.ends_at.isoformat()}'
        if not self.time_intervals:
            until = f" until {self.ends_at.isoformat()}" if self.ends_at else ""
            return f'maintenance "{self.name}" is active{until}'
        verdicts = [i.explain(now) for i in self.time_intervals]
        inside = next((v for v in verdicts if v.inside), None)
        if inside is not None:
            return f'maintenance "{self.name}" is active: {inside.reason}'
        return f'maintenance "{self.name}" is not active: ' + "; ".join(v.reason for v in verdicts)

    def next_change(self, now: datetime,
                    horizon: timedelta = DEFAULT_HORIZON) -> datetime | None:
        """The first instant after ``now`` at which :meth:`active` flips, within ``horizon``."""
        state, end, t = self.active(now), now + horizon, now
        for _ in range(_MAX_STEPS):
            candidates = [c for c in (self.starts_at, self.ends_at) if c is not None and c > t]
            change = earliest_change(self.time_intervals, t, end - t)
            if change is not None:
                candidates.append(change)
            if not candidates or min(candidates) > end:
                return None
            t = min(candidates)
            if self.active(t) != state:
                return t
        return None
