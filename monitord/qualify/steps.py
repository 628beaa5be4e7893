"""A step of the wall clock, absorbed: every stored instant moves with it.

The daemon notices a step (an NTP correction) by comparing the wall clock with the monotonic
one and calls :meth:`Pipeline.shift` with its size. Moving the instants the core measures
durations from (the last result, when a problem began, when receivers were last told, when a
group is due) by the step keeps every duration as it was: a step back does not hold
results, group_wait or repeats up for its length, a step forward does not make everything
stale or due at once.

Instants that are wall time by definition stay: a silence's or maintenance window's end
(``hold_until``), what was displayed. Pure: the step is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from monitord.qualify.incidents import Incident
from monitord.qualify.state import CheckState


def moved(when: datetime | None, delta: timedelta) -> datetime | None:
    return when + delta if when is not None else None


def shift_check(state: CheckState, delta: timedelta) -> None:
    state.since = moved(state.since, delta)
    for conf in state.locations.values():
        conf.at = moved(conf.at, delta)
        conf.failing_since = moved(conf.failing_since, delta)
    if state.incident is not None:
        shift_incident(state.incident, delta)


def shift_incident(inc: Incident, delta: timedelta) -> None:
    inc.started_at = inc.started_at + delta
    inc.last_told_at = moved(inc.last_told_at, delta)
    inc.acked_at = moved(inc.acked_at, delta)
    inc.ended_at = moved(inc.ended_at, delta)


def shift_all(states: Iterable[CheckState], orphans: Iterable[Incident],
              delta: timedelta) -> tuple[list[str], list[Incident]]:
    """Shift every check and orphaned incident: the names and open incidents changed."""
    names, incidents = [], list(orphans)
    for state in states:
        shift_check(state, delta)
        names.append(state.name)
        if state.incident is not None:
            incidents.append(state.incident)
    for inc in orphans:
        shift_incident(inc, delta)
    return names, incidents
