"""What the pages show of an incident beyond its summary: how each location sees the check,
what changed since the last OK result, and the evidence gathered when it was confirmed.

The per-location rows are the model's per-location table (``model.LocationState``, in its
order: failing first, stale last), the one ``/api/v1/status`` and every notification carry.
Everything shown is escaped: summaries, evidence details and changes quote what servers said.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from monitord.api import timefmt
from monitord.api.layout import badge, esc, when
from monitord.api.status import location_states
from monitord.api.views import CheckQualification
from monitord.model import Evidence, LocationState, Result, ordered_locations
from monitord.notify.evidence_text import evidence_line

FAILED = "failed"
STALE = ('<span class="tag" title="too old to count, or its agent is silent: not counted">'
         "stale</span>")


def locations_of(state: CheckQualification | None,
                 last: Mapping[str, Result]) -> list[LocationState]:
    """Qualification's view of each location (agents included, stale ones marked); the
    last results themselves for a check qualification does not know (yet)."""
    if state is not None and state.locations:
        return location_states(state.locations)
    return [LocationState(r.location, r.status, r.summary, r.at, r.phase, r.duration)
            for r in last.values()]


def location_table(locations: Sequence[LocationState], now: datetime) -> str:
    """``location · status · phase · summary · time · age``, one row per location."""
    rows = []
    for s in ordered_locations(locations):
        age = when(s.at, timefmt.ago((now - s.at).total_seconds()) + " ago")
        took = f"{s.duration * 1000:.0f} ms" if s.duration is not None else ""
        rows.append(
            f'<tr class="{"stale" if s.stale else "fresh"}" data-location="{esc(s.location)}">'
            f"<td>{esc(s.location)}{STALE if s.stale else ''}</td><td>{badge(s.status)}</td>"
            f"<td>{esc(s.phase.value if s.phase else '')}</td><td>{esc(s.summary)}</td>"
            f'<td class="num">{took}</td><td class="num">{age}</td></tr>')
    if not rows:
        return ""
    return ('<div class="scroll"><table class="locations"><tr><th>location</th>'
            "<th>status</th><th>phase</th><th>summary</th><th>time</th><th>age</th></tr>"
            f"{''.join(rows)}</table></div>")


def changes_block(changes: Sequence[str]) -> str:
    if not changes:
        return ""
    items = "".join(f"<li>{esc(c)}</li>" for c in changes)
    return ('<div class="changes"><strong>What changed</strong> <span class="muted">since the '
            f'last OK result</span><ul class="findings">{items}</ul></div>')


def evidence_block(evidence: Sequence[Evidence], failed_only: bool = False,
                   more: str = "") -> str:
    """Every finding, or (``failed_only``, the overview) the failed ones with a link to
    ``more`` for the rest."""
    shown = [e for e in evidence if e.status == FAILED] if failed_only else list(evidence)
    rest = len(evidence) - len(shown)
    link = (f' <a href="{esc(more)}">{rest} more finding{"s" if rest > 1 else ""}</a>'
            if rest and more else "")
    if not shown and not link:
        return ""
    title = "Failed evidence" if failed_only else "Evidence"
    items = "".join(f'<li class="{esc(e.status)}">{esc(evidence_line(e))}</li>' for e in shown)
    return (f'<div class="evidence"><strong>{title}</strong>{link}'
            + (f'<ul class="evidence">{items}</ul>' if items else "") + "</div>")
