"""Which probe agents are silent: pure, ``now`` passed in.

An agent is silent once nothing came from it for longer than its ``silent_after``. Until it
has posted once, the watch counts from its own start (a central daemon that just started does
not call every agent silent). While silent, its location's results do not count for quorum;
its silence is one incident of the synthetic check ``agent:LOCATION``, never one per check.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta


class AgentWatch:
    def __init__(self, silent_after: Mapping[str, float], started: datetime) -> None:
        self._after = {loc: timedelta(seconds=s) for loc, s in silent_after.items()}
        self._last = dict.fromkeys(silent_after, started)
        self._silent: frozenset[str] = frozenset()

    def configure(self, silent_after: Mapping[str, float], now: datetime) -> None:
        """A reload: new agents start counting now; removed ones are forgotten."""
        self._after = {loc: timedelta(seconds=s) for loc, s in silent_after.items()}
        self._last = {loc: self._last.get(loc, now) for loc in silent_after}
        self._silent = self._silent & frozenset(silent_after)

    def seen(self, location: str, now: datetime) -> bool:
        """A post from ``location``; True when it was silent until now."""
        if location not in self._last:
            return False
        self._last[location] = max(self._last[location], now)
        was = location in self._silent
        self._silent = self._silent - {location}
        return was

    def update(self, now: datetime) -> frozenset[str]:
        """The locations that fell silent since the previous call."""
        silent = frozenset(loc for loc, last in self._last.items()
                           if now - last >= self._after[loc])
        new = silent - self._silent
        self._silent = silent
        return new

    @property
    def silent(self) -> frozenset[str]:
        return self._silent

    def silent_for(self, location: str, now: datetime) -> float:
        return (now - self._last[location]).total_seconds()

    def next_change(self, now: datetime) -> datetime | None:
        """When the next agent that still posts would fall silent."""
        due = [last + self._after[loc] for loc, last in self._last.items()
               if loc not in self._silent]
        return min(due) if due else None
