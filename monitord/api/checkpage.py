"""``GET /check/{name}``: one check — configuration, history at three scales, results per
location with every phase, incidents with their timelines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from monitord.api import findings, svg, timefmt
from monitord.api.layout import Viewer, badge, esc, page, when
from monitord.api.overview import ack_form, group_of, percent, silence_form
from monitord.api.views import (
    CheckDescription,
    CheckQualification,
    CheckResults,
    CheckTrend,
    HistoryBucket,
    IncidentStory,
)
from monitord.model import Evidence, LocationState, Result

SCALES = (("24 hours", 86400, 1800), ("7 days", 7 * 86400, 3 * 3600),
          ("30 days", 30 * 86400, 86400))


@dataclass(frozen=True, slots=True)
class CheckPage:
    check: CheckDescription
    now: datetime
    config: Sequence[tuple[str, str]]
    results: CheckResults | None
    state: CheckQualification | None
    trend: CheckTrend | None
    scales: Sequence[tuple[str, Sequence[HistoryBucket]]]
    stories: Sequence[IncidentStory]
    diagnoses: Mapping[str, str]
    # By incident: its evidence and what changed (kept for recent incidents, closed too).
    findings: Mapping[str, tuple[Sequence[Evidence], Sequence[str]]]
    phases: Sequence[str]


def _availability(slots: Sequence[HistoryBucket]) -> float | None:
    count = sum(b.count for b in slots)
    return (count - sum(b.failures for b in slots)) / count if count else None


def _results(last: Mapping[str, Result], now: datetime) -> str:
    rows = []
    for loc, r in sorted(last.items()):
        phases = " · ".join(f"{k[5:-3]} {v:.1f} ms" for k, v in r.metrics.items()
                            if k.startswith("time_") and k.endswith("_ms")
                            and k != "time_total_ms" and v)
        values = " · ".join(f"{k} {v:g}" for k, v in sorted(r.metrics.items())
                            if not k.startswith("time_"))
        rows.append(
            f"<tr><td>{esc(loc)}</td><td>{badge(r.status)}</td>"
            f"<td>{esc(r.phase.value if r.phase else '')}</td><td>{esc(r.summary)}</td>"
            f'<td class="num">{r.duration * 1000:.1f} ms</td>'
            f"<td>{esc(phases)}" + (f'<br><span class="muted">{esc(values)}</span>'
                                    if values else "") + "</td>"
            f'<td class="num">{when(r.at, timefmt.ago((now - r.at).total_seconds()) + " ago")}'
            "</td></tr>")
    if not rows:
        return '<p class="muted">No result yet.</p>'
    return ('<div class="card scroll"><table><tr><th>location</th><th>status</th>'
            "<th>phase</th><th>summary</th><th>duration</th><th>phases and values</th>"
            f"<th>age</th></tr>{''.join(rows)}</table></div>")


def _story(story: IncidentStory, diagnosis: str, locations: Sequence[LocationState],
           found: tuple[Sequence[Evidence], Sequence[str]], now: datetime, viewer: Viewer,
           back: str) -> str:
    inc = story.incident
    open_ = inc.ended_at is None
    span = (f"open for {timefmt.ago((now - inc.started_at).total_seconds())}" if open_ else
            f"lasted {timefmt.ago((inc.ended_at - inc.started_at).total_seconds())}"
            if inc.ended_at is not None else "")
    entries = "".join(f'<li class="{esc(e.kind)}">{when(e.at)} — {esc(e.text)}</li>'
                      for e in story.entries)
    extra = ""
    if open_:
        extra = ((f"<pre>{esc(diagnosis)}</pre>" if diagnosis else "")
                 + findings.location_table(locations, now) + ack_form(inc, viewer, back))
    # What changed and every finding of the evidence run, for open and closed incidents.
    extra += findings.changes_block(found[1]) + findings.evidence_block(found[0])
    return (f'<div class="card incident{" crit" if open_ else ""}" id="incident-{esc(inc.id)}"'
            f' data-incident="{esc(inc.id)}">'
            f"<div>{badge(inc.status)} <strong>{esc(inc.summary)}</strong> "
            f'<span class="muted">{esc(inc.id)} · {span}</span></div>'
            f'{extra}<ul class="timeline">{entries}</ul></div>')


def render(view: CheckPage, viewer: Viewer) -> str:
    check, now = view.check, view.now
    back = f"/check/{quote(check.name)}"
    seen = view.results
    status = seen.status if seen is not None else None
    since = ""
    if seen is not None and seen.since is not None:
        since = (f' <span class="muted">since '
                 f"{when(seen.since, timefmt.ago((now - seen.since).total_seconds()))}</span>")
    state = view.state.state if view.state is not None else ""
    avail = view.trend.availability if view.trend is not None else (None, None, None)
    config = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in view.config)
    scales = []
    for label, slots in view.scales:
        scales.append(
            f'<div class="scale"><div><strong>{esc(label)}</strong> '
            f'<span class="muted">{percent(_availability(slots))} available</span></div>'
            f"{svg.status_bar(slots, width=720, height=22, detail=True)}"
            f"<div>{svg.sparkline(slots, view.phases, width=720, height=60, points=len(slots))}"
            "</div></div>")
    labels = check.alert_labels()
    service = labels.get("service")
    locations = findings.locations_of(view.state, seen.last if seen else {})
    stories = "".join(
        _story(s, view.diagnoses.get(s.incident.id, ""), locations,
               view.findings.get(s.incident.id, ((), ())), now, viewer, back)
        for s in view.stories)
    body = (
        f'<div class="card"><div>{badge(status)} <strong style="font-size:1.3em">'
        f"{esc(check.name)}</strong>{since} "
        f'<span class="muted">{esc(state)} · {esc(group_of(labels))}</span></div>'
        f'<div class="num">Availability: 24 h {percent(avail[0])} · 7 d {percent(avail[1])}'
        f" · 30 d {percent(avail[2])}</div></div>"
        "<h2>Latest results</h2>" + _results(seen.last if seen else {}, now)
        + "<h2>Incidents</h2>"
        + (stories or '<p class="muted">No incident kept for this check.</p>')
        + "<h2>History</h2>" + (
            f'<div class="card">{"".join(scales)}</div>' if scales else
            '<p class="muted">No history yet.</p>')
        + "<h2>Silence this check</h2>"
        + (silence_form(viewer, [check.name], [service] if service else [], back,
                        ("check", check.name)) or '<p class="muted">Log in to act.</p>')
        + f'<h2>Configuration</h2><div class="card"><dl class="config">{config}</dl></div>')
    return page(f"{check.name} — monitord", body, viewer,
                nav='<a href="/">← all checks</a>')
