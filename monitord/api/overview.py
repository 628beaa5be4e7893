"""``GET /``: open incidents first, then every check grouped by service.

Pure rendering over plain data gathered by ``api.pages``. The check list is
``api.checklist``'s, whose rows are cached, so a 2,000-check page redraws only what changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from monitord.api import findings, svg, timefmt
from monitord.api.checklist import ORDER, CheckList, RowCache, groups
from monitord.api.checklist import group_of as group_of
from monitord.api.checklist import percent as percent
from monitord.api.layout import Viewer, badge, csrf_field, esc, page, when
from monitord.api.views import (
    CheckDescription,
    CheckQualification,
    CheckResults,
    CheckTrend,
    IncidentRecord,
    SilenceRecord,
)
from monitord.model import Evidence, LocationState, Status

CARD = {Status.CRITICAL: "crit", Status.WARNING: "warn", Status.UNKNOWN: "unk"}
SILENCE_DURATIONS = ("30m", "1h", "2h", "4h", "8h", "1d", "3d")


@dataclass(frozen=True, slots=True)
class Overview:
    location: str
    now: datetime
    checks: Sequence[CheckDescription]
    results: Mapping[str, CheckResults]
    states: Mapping[str, CheckQualification]
    incidents: Sequence[IncidentRecord]  # open ones
    diagnoses: Mapping[str, str]
    # By open incident: its evidence and what changed (empty while being gathered).
    findings: Mapping[str, tuple[Sequence[Evidence], Sequence[str]]]
    silences: Sequence[SilenceRecord]  # in force or ahead
    maintenance: Sequence[tuple[str, str]]
    trends: Mapping[str, CheckTrend | None]
    phases: Sequence[str]




def ack_form(incident: IncidentRecord, viewer: Viewer, back: str) -> str:
    if incident.acknowledged_by:
        comment = f" — {esc(incident.ack_comment)}" if incident.ack_comment else ""
        at = (f" {when(incident.acknowledged_at)}" if incident.acknowledged_at else "")
        return (f'<p class="acked">Acknowledged by <strong>{esc(incident.acknowledged_by)}'
                f"</strong>{at}{comment}</p>")
    if not viewer.can_act:
        return '<p class="muted">Not acknowledged.</p>'
    return (f'<form class="inline ack" method="post" action="/ui/incidents/'
            f'{quote(incident.id)}/ack">{csrf_field(viewer)}'
            f'<input type="hidden" name="back" value="{esc(back)}">'
            '<input name="comment" placeholder="comment (optional)" maxlength="2000">'
            '<button type="submit">Acknowledge</button></form>')


def incident_card(incident: IncidentRecord, diagnosis: str,
                  locations: Sequence[LocationState],
                  found: tuple[Sequence[Evidence], Sequence[str]], now: datetime,
                  viewer: Viewer, back: str) -> str:
    """Short: the summary, the diagnosis, every location's row, what changed and the failed
    evidence (the rest on the check page)."""
    href = f"/check/{quote(incident.check)}"
    since = timefmt.ago((now - incident.started_at).total_seconds())
    notes = []
    if incident.held:
        notes.append(f"held: {esc(incident.held)}")
    if incident.caused_by:
        notes.append("caused by " + " → ".join(esc(c) for c in incident.caused_by))
    diag = f"<pre>{esc(diagnosis)}</pre>" if diagnosis else ""
    return (
        f'<div class="card incident {CARD.get(incident.status, "")}" '
        f'data-incident="{esc(incident.id)}">'
        f'<div>{badge(incident.status)} <a class="check" href="{href}">'
        f"<strong>{esc(incident.check)}</strong></a> "
        f'<span class="muted">for {when(incident.started_at, since)}</span></div>'
        f"<div>{esc(incident.summary)}</div>"
        + (f'<div class="muted">{"; ".join(notes)}</div>' if notes else "")
        + diag + findings.location_table(locations, now) + findings.changes_block(found[1])
        + findings.evidence_block(found[0], failed_only=True,
                                  more=f"{href}#incident-{quote(incident.id)}")
        + ack_form(incident, viewer, back) + "</div>")


def silence_list(silences: Sequence[SilenceRecord], maintenance: Sequence[tuple[str, str]],
                 now: datetime, viewer: Viewer, back: str) -> str:
    items = []
    for s in silences:
        state = "in force" if s.active(now) else "starts " + timefmt.display(s.starts_at)
        expire = ""
        if viewer.can_act:
            expire = (f'<form class="inline" method="post" action="/ui/silences/'
                      f'{quote(s.id)}/expire">{csrf_field(viewer)}'
                      f'<input type="hidden" name="back" value="{esc(back)}">'
                      '<button class="quiet" type="submit">Expire</button></form>')
        items.append(
            f'<li class="silence" data-silence="{esc(s.id)}"><strong>'
            f'{esc(", ".join(str(m) for m in s.matchers))}</strong> — {state}, until '
            f"{when(s.ends_at)} by {esc(s.created_by)}"
            + (f": {esc(s.comment)}" if s.comment else "") + f" {expire}</li>")
    for name, explanation in maintenance:
        items.append(f'<li class="maintenance"><strong>maintenance {esc(name)}</strong> — '
                     f"{esc(explanation)}</li>")
    return f"<ul>{''.join(items)}</ul>" if items else '<p class="muted">None in force.</p>'


def silence_form(viewer: Viewer, checks: Sequence[str], services: Sequence[str],
                 back: str, preset: tuple[str, str] | None = None) -> str:
    if not viewer.can_act:
        return ""
    scope, value = preset or ("check", "")
    options = "".join(f'<option value="{esc(v)}">' for v in [*checks, *services])
    durations = "".join(f'<option{" selected" if d == "1h" else ""}>{d}</option>'
                        for d in SILENCE_DURATIONS)
    scopes = "".join(f'<option value="{s}"{" selected" if s == scope else ""}>{s}</option>'
                     for s in ("check", "service"))
    return (f'<form class="inline add-silence" method="post" action="/ui/silences">'
            f'{csrf_field(viewer)}<input type="hidden" name="back" value="{esc(back)}">'
            f'<select name="scope" aria-label="scope">{scopes}</select>'
            f'<input name="value" list="silence-targets" required value="{esc(value)}" '
            f'placeholder="name" aria-label="check or service">'
            f'<datalist id="silence-targets">{options}</datalist>'
            f'<select name="duration" aria-label="duration">{durations}</select>'
            '<input name="comment" placeholder="comment" required maxlength="2000">'
            '<button type="submit">Add silence</button></form>')


def render(view: Overview, viewer: Viewer, cache: RowCache) -> str:
    now = view.now
    checks = CheckList(now, view.checks, view.results, view.states, view.trends, view.phases)
    counts: dict[Status | None, int] = {}
    for check in view.checks:
        counts[checks.status(check.name)] = counts.get(checks.status(check.name), 0) + 1
    tally = "".join(
        f'<div><div class="big">{counts[s]}</div>{badge(s)}</div>'
        for s in sorted(counts, key=ORDER.__getitem__))
    incidents = "".join(
        incident_card(i, view.diagnoses.get(i.id, ""), findings.locations_of(
            view.states.get(i.check),
            view.results[i.check].last if i.check in view.results else {}),
                      view.findings.get(i.id, ((), ())), now, viewer, "/")
        for i in sorted(view.incidents, key=lambda i: (ORDER[i.status], i.started_at)))
    body = [f'<div class="card summary">{tally}</div>',
            f'<h2>Open incidents <span class="meta">({len(view.incidents)})</span></h2>',
            incidents or '<p class="muted">No open incident.</p>',
            "<h2>Silences and maintenance</h2>",
            silence_list(view.silences, view.maintenance, now, viewer, "/"),
            silence_form(viewer, [c.name for c in view.checks],
                         sorted({c.alert_labels().get("service", "") for c in view.checks}
                                - {""}), "/"),
            *groups(checks, cache)]
    legend = "".join(f'<span><i class="{svg.PHASE_CLASS[i]}" style="background:var(--p{i})">'
                     f"</i>{esc(p)}</span>" for i, p in enumerate(view.phases[:4]))
    body.append(f'<p class="legend muted">Response time by phase: {legend}'
                '<span>— mean total</span></p>')
    return page(f"monitord — {view.location}", "".join(body), viewer,
                nav=f'<span class="muted">{esc(view.location)} · '
                    f"{timefmt.display(now)}</span>")
