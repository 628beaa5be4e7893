"""The human explanation carried by every alert event.

One fact a line: what fails and in which phase, since when, how many results confirmed it,
which locations see it, the dependency chain, the impacted children, flapping and holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from monitord.model import LocationState, location_table
from monitord.qualify.confirm import Confirmation
from monitord.qualify.incidents import Incident

MAX_LISTED = 20  # children named in full; the rest are counted


@dataclass(frozen=True, slots=True)
class Facts:
    incident: Incident
    confirm: int
    quorum: int
    locations: Mapping[str, Confirmation]
    stale: Sequence[str]
    caused_by: Sequence[str]
    impacted: Sequence[str]
    flapping: bool
    percent: float
    flap_low: float
    flap_high: float


def duration_text(seconds: float) -> str:
    """``45s``, ``12m``, ``3h 5m``, ``2d 4h``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, hours, days = seconds // 60 % 60, seconds // 3600 % 24, seconds // 86400
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m"


def stamp(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def diagnose(facts: Facts, now: datetime) -> str:
    inc = facts.incident
    lines: list[str] = []
    if inc.open and inc.status.is_problem:
        phase = f" in phase {inc.phase.value}" if inc.phase else ""
        lines.append(f"{inc.status.name}{phase}: {inc.summary}")
        lines.append(f"failing since {stamp(inc.started_at)} "
                     f"({duration_text((now - inc.started_at).total_seconds())})")
    elif inc.ended_at is not None:
        lines.append(f"recovered at {stamp(inc.ended_at)} after "
                     f"{duration_text((inc.ended_at - inc.started_at).total_seconds())} "
                     f"of problems (since {stamp(inc.started_at)})")
    else:
        lines.append(f"currently OK, problems since {stamp(inc.started_at)}")
    lines.append(f"confirmed after {inc.confirmations} consecutive failing result"
                 f"{'s' if inc.confirmations != 1 else ''} (confirm = {facts.confirm})")
    lines.append("locations: " + _locations(facts, now))
    if facts.caused_by:
        lines.append("caused by: " + " -> ".join(facts.caused_by))
    if facts.impacted:
        shown = ", ".join(facts.impacted[:MAX_LISTED])
        more = len(facts.impacted) - MAX_LISTED
        lines.append(f"impacts {len(facts.impacted)} dependent check"
                     f"{'s' if len(facts.impacted) != 1 else ''}: {shown}"
                     + (f" and {more} more" if more > 0 else ""))
    if facts.flapping:
        lines.append(f"flapping: {facts.percent:.2f}% state change (stops at "
                     f"{facts.flap_low:g}%, starts at {facts.flap_high:g}%)")
    if inc.acked_by is not None:
        comment = f": {inc.ack_comment}" if inc.ack_comment else ""
        lines.append(f"acknowledged by {inc.acked_by}{comment}")
    return "\n".join(lines)


def _locations(facts: Facts, now: datetime) -> str:
    """The per-location table: ``london CRITICAL connect "refused" 12s ago · paris OK 95 ms``,
    failing locations first, with the tally against the quorum."""
    seen: list[LocationState] = []
    missing: list[str] = []
    failing = 0
    for name, conf in facts.locations.items():
        if conf.at is None:
            missing.append(name)
            continue
        stale = name in facts.stale
        failing += conf.hard.is_problem and not stale
        seen.append(LocationState(name, conf.status, conf.summary, conf.at, conf.phase,
                                  conf.duration, stale))
    parts = [location_table(seen, now)] if seen else []
    parts += [f"{name} no result yet" for name in sorted(missing)]
    return " · ".join(parts) + f" — {failing} of {len(facts.locations)} failing, quorum " \
                               f"{facts.quorum}"
