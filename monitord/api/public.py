"""``GET /public`` (``[api] public_status = true``): for customers.

Services and their availability only: no check names, targets, addresses, diagnosis or
actions. A service is a check's ``service`` label; checks without one count as "Other
services" (the domain of a ``[[domain]]`` check is not shown: it may name a target).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from monitord.api import svg, timefmt
from monitord.api.layout import Viewer, badge, esc, page
from monitord.api.overview import percent
from monitord.api.views import CheckDescription, CheckResults, CheckTrend
from monitord.model import Status

OTHER = "Other services"
RANK = {Status.OK: 0, Status.UNKNOWN: 1, Status.WARNING: 2, Status.CRITICAL: 3}


@dataclass(frozen=True, slots=True)
class Slot:
    """A merged slot: only what the bar draws (no durations: nothing to tell about targets)."""

    start: int
    seconds: int
    count: int
    failures: int
    worst: Status
    min_ms: float = 0.0
    mean_ms: float = 0.0
    max_ms: float = 0.0
    phases: Sequence[float] = field(default=())
    location: str = ""


def _merge(trends: Sequence[CheckTrend]) -> list[Slot]:
    if not trends:
        return []
    n = min(len(t.slots) for t in trends)
    merged = []
    for i in range(n):
        slots = [t.slots[-n + i] for t in trends]
        counted = [b for b in slots if b.count]
        worst = max((b.worst for b in counted), key=RANK.__getitem__, default=Status.OK)
        merged.append(Slot(slots[0].start, slots[0].seconds, sum(b.count for b in slots),
                           sum(b.failures for b in slots), worst))
    return merged


def _mean(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def render(checks: Sequence[CheckDescription], results: Mapping[str, CheckResults],
           trends: Mapping[str, CheckTrend | None], now: datetime) -> str:
    services: dict[str, list[str]] = {}
    for check in checks:
        services.setdefault(check.alert_labels().get("service") or OTHER, []).append(check.name)
    rows = []
    for name in sorted(services, key=lambda s: (s == OTHER, s)):
        members = services[name]
        statuses = [results[c].status for c in members if c in results]
        worst = max((s for s in statuses if s is not None), key=RANK.__getitem__,
                    default=None)
        found = [t for t in (trends.get(c) for c in members) if t is not None]
        avail = [_mean([t.availability[k] for t in found]) for k in range(3)]
        label = {None: "NO DATA", Status.OK: "OPERATIONAL", Status.WARNING: "DEGRADED",
                 Status.UNKNOWN: "DEGRADED", Status.CRITICAL: "OUTAGE"}[worst]
        rows.append(
            f'<div class="card service"><div>{badge(worst, label)} <strong>{esc(name)}</strong>'
            f'<span class="muted num" style="float:right">24 h {percent(avail[0])} · 7 d '
            f"{percent(avail[1])} · 30 d {percent(avail[2])}</span></div>"
            f"<div>{svg.status_bar(_merge(found), width=720, height=22)}</div></div>")
    body = ("<h2>Service status</h2>" + "".join(rows)
            + f'<p class="muted">Last 24 hours, half-hour slots · updated '
              f"{timefmt.display(now)}</p>")
    return page("Service status", body, Viewer(can_login=False))
