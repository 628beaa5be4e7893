"""The status page: one self-contained HTML document, no scripts, auto-refreshing."""

from __future__ import annotations

from html import escape
from typing import Any

COLOURS = {"OK": "#1a7f37", "WARNING": "#9a6700", "CRITICAL": "#cf222e", "UNKNOWN": "#6e7781",
           "PENDING": "#6e7781"}


def render(snapshot: dict[str, Any]) -> str:
    rows = []
    order = {"CRITICAL": 0, "WARNING": 1, "UNKNOWN": 2, "PENDING": 3, "OK": 4}
    for check in sorted(snapshot["checks"], key=lambda c: (order.get(c["status"], 9), c["check"])):
        colour = COLOURS.get(check["status"], "#000")
        results = escape(check.get("location_table") or "") or "<br>".join(
            f"{escape(r['location'])}: {escape(r['summary'])}" for r in check["results"]
        ) or "no result yet"
        rows.append(
            f"<tr><td style='color:{colour};font-weight:bold'>{escape(check['status'])}</td>"
            f"<td>{escape(check['check'])}</td><td>{escape(check['type'])}</td>"
            f"<td>{escape(str(check.get('state') or ''))}</td>"
            f"<td>{escape(check['since'] or '')}</td><td>{results}</td></tr>"
        )
    incidents = snapshot.get("incidents", [])
    incident_rows = "".join(
        f"<tr><td>{escape(i.get('id', ''))}</td><td>{escape(i.get('check', ''))}</td>"
        f"<td>{escape(i.get('status', ''))}</td><td>{escape(i.get('summary', ''))}</td>"
        f"<td>{escape(i.get('started_at') or '')}</td><td>{escape(_note(i))}</td></tr>"
        for i in incidents
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="15">
<title>monitord — {escape(snapshot['location'])}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}}</style>
</head><body><h1>monitord — {escape(snapshot['location'])}</h1>
<h2>Open incidents ({len(incidents)})</h2>
<table><tr><th>id</th><th>check</th><th>status</th><th>summary</th><th>since</th>
<th>notes</th></tr>{incident_rows}</table>
<h2>Checks ({len(rows)})</h2>
<table><tr><th>status</th><th>check</th><th>type</th><th>state</th><th>since</th>
<th>last results</th></tr>
{''.join(rows)}</table></body></html>
"""


def _note(incident: dict[str, Any]) -> str:
    """Why an incident is quiet or who owns it: acknowledgement, hold, root cause."""
    notes = []
    if incident.get("acknowledged_by"):
        notes.append(f"acknowledged by {incident['acknowledged_by']}")
    if incident.get("held"):
        notes.append(f"held: {incident['held']}")
    if incident.get("caused_by"):
        notes.append("caused by " + " → ".join(incident["caused_by"]))
    return "; ".join(notes)
