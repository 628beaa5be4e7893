"""The check list of ``GET /``: every check grouped by service, one row each, rows cached.

A 2,000-check page is mostly rows that did not change since the previous refresh, so each
row's HTML is kept with the key of everything it shows (status, qualification state, since
when, the trend's key, the check's type). Two parts move on their own and are written on
each request between the cached pieces: the "since" text ("3 h 5 min"), which moves with the
clock, and the location dots, whose tooltips carry each location's latest summary ("HTTP 200
in 153ms") and its age, new with every result. Both cost little to write; the drawings,
availability and the rest of the row are drawn again only when the trend turns (every ten
minutes for a healthy check, at once on a problem) or the status changes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from monitord.api import svg, timefmt
from monitord.api.layout import badge, esc, when
from monitord.api.views import CheckDescription, CheckQualification, CheckResults, CheckTrend
from monitord.model import Result, Status

ORDER = {Status.CRITICAL: 0, Status.WARNING: 1, Status.UNKNOWN: 2, None: 3, Status.OK: 4}
OTHER = "Other checks"
SINCE, DOTS = "\x00", "\x01"  # where a cached row's moving parts go (never in HTML)
HEAD = ('<table><tr><th>status</th><th>check</th><th class="wide">since</th>'
        '<th>locations</th><th>24 h</th><th class="wide">7 d</th><th class="wide">30 d</th>'
        '<th>last 24 h</th><th class="wide">response time</th></tr>')


def group_of(labels: Mapping[str, str]) -> str:
    """The ``service`` label, else the domain of a ``[[domain]]`` check."""
    return labels.get("service") or labels.get("domain") or OTHER


def percent(value: float | None) -> str:
    if value is None:
        return '<span class="muted">–</span>'
    return f"{value * 100:.2f}%" if value < 1 else "100%"


def location_dots(last: Mapping[str, Result], now: datetime) -> str:
    return "".join(
        svg.dot(r.status, f"{loc}: {r.status.name} — {r.summary} "
                          f"({timefmt.ago((now - r.at).total_seconds())} ago)")
        for loc, r in sorted(last.items()))


@dataclass(slots=True)
class RowCache:
    """Rendered rows by check name, each with the key of what it shows."""

    rows: dict[str, tuple[Hashable, tuple[str, ...]]] = field(default_factory=dict)

    def trim(self, checks: int) -> None:
        """Forget removed checks' rows once they could outnumber the live ones."""
        if len(self.rows) > 2 * checks + 100:
            self.rows.clear()


@dataclass(frozen=True, slots=True)
class CheckList:
    now: datetime
    checks: Sequence[CheckDescription]
    results: Mapping[str, CheckResults]
    states: Mapping[str, CheckQualification]
    trends: Mapping[str, CheckTrend | None]
    phases: Sequence[str]

    def status(self, name: str) -> Status | None:
        seen = self.results.get(name)
        return seen.status if seen is not None else None


def _key(check: CheckDescription, seen: CheckResults | None, qual: CheckQualification | None,
         trend: CheckTrend | None) -> Hashable:
    return (check.type, None if seen is None else (seen.status, seen.since),
            None if qual is None else qual.state, None if trend is None else trend.key)


def _draw(check: CheckDescription, view: CheckList) -> str:
    """The row, with SINCE and DOTS where its moving parts go."""
    name = check.name
    seen = view.results.get(name)
    qual = view.states.get(name)
    trend = view.trends.get(name)
    since = SINCE  # written by row(), empty when there is no "since"
    if seen is not None and seen.since is not None:
        since = when(seen.since, SINCE)
    state = f' <span class="muted">{esc(qual.state)}</span>' \
        if qual is not None and qual.state not in ("ok", "problem") else ""
    avail = trend.availability if trend is not None else (None, None, None)
    if trend is None:
        drawings = '<td class="muted" colspan="2">no history yet</td>'
    else:
        drawings = (f"<td>{svg.status_bar(trend.slots)}</td>"
                    f'<td class="wide">{svg.sparkline(trend.slots, view.phases, titles=False)}'
                    "</td>")
    return (
        f'<tr data-check="{esc(name)}"><td>{badge(view.status(name))}{state}</td>'
        f'<td><a href="/check/{quote(name)}">{esc(name)}</a>'
        f' <span class="muted wide">{esc(check.type)}</span></td>'
        f'<td class="num wide">{since}</td>'
        f"<td>{DOTS}</td>"
        + "".join(f'<td class="num{" wide" if i else ""}">{percent(a)}</td>'
                  for i, a in enumerate(avail))
        + drawings + "</tr>")


def row(check: CheckDescription, view: CheckList, cache: RowCache) -> str:
    name, now = check.name, view.now
    seen = view.results.get(name)
    key = _key(check, seen, view.states.get(name), view.trends.get(name))
    hit = cache.rows.get(name)
    if hit is None or hit[0] != key:
        head, _, rest = _draw(check, view).partition(SINCE)
        middle, _, tail = rest.partition(DOTS)
        hit = cache.rows[name] = (key, (head, middle, tail))
    head, middle, tail = hit[1]
    if seen is None:
        return head + middle + tail
    since = "" if seen.since is None else timefmt.ago((now - seen.since).total_seconds())
    return head + since + middle + location_dots(seen.last, now) + tail


def groups(view: CheckList, cache: RowCache) -> list[str]:
    """One section per service, the failing ones first, each check's row in order."""
    members: dict[str, list[CheckDescription]] = {}
    for check in view.checks:
        members.setdefault(group_of(check.alert_labels()), []).append(check)
    rank: Callable[[CheckDescription], int] = lambda c: ORDER[view.status(c.name)]  # noqa: E731

    def group_key(item: tuple[str, list[CheckDescription]]) -> tuple[int, bool, str]:
        name, checks = item
        return (min(rank(c) for c in checks), name == OTHER, name)

    out = []
    for name, checks in sorted(members.items(), key=group_key):
        problems = sum(1 for c in checks if (view.status(c.name) or Status.OK).is_problem)
        meta = (f"{len(checks)} check{'s' if len(checks) > 1 else ''}"
                + (f" · {problems} failing" if problems else ""))
        rows = "".join(row(c, view, cache) for c in sorted(checks, key=lambda c: (rank(c),
                                                                               c.name)))
        out.append(f'<h2>{esc(name)} <span class="meta">{meta}</span></h2>'
                   f'<div class="card scroll group">{HEAD}{rows}</table></div>')
    return out
