"""Notification -> RFC 5322 message: subject, threading headers, text and HTML bodies.

Pure: the same notification and context always give the same message, so a retry or a
re-send after a restart carries the same ``Message-ID`` and mail clients fold duplicates.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import format_datetime
from html import escape

from monitord.model import AlertEvent, EventKind, Notification
from monitord.notify.config import EmailReceiver, SmtpSection
from monitord.notify.evidence_text import evidence_line
from monitord.notify.formats.fields import group_status, incident_url, incidents, iso, state

SUBJECT_LIMIT = 160  # characters; the full list is in the body
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*")


def message_id(notification_id: str, receiver: str, domain: str) -> str:
    """A stable Message-ID for one notification to one receiver."""
    local = f"{notification_id}.{receiver}"
    if not _SAFE_ID.fullmatch(local) or len(local) > 120:
        local = hashlib.sha256(local.encode()).hexdigest()[:40]
    return f"<monitord.{local}@{domain}>"


def subject(notification: Notification, receiver: EmailReceiver) -> str:
    """``[monitord] FIRING: …`` / ``[monitord] RESOLVED: …`` (with the receiver's prefix)."""
    events = incidents(notification)
    if len(events) == 1:
        event = events[0]
        what = f"{event.check} {event.status.name} - {event.summary}"
    else:
        what = f"{len(events)} incidents: " + ", ".join(e.check for e in events)
    if any(e.kind is EventKind.TEST for e in events):
        what = f"[TEST] {what}"
    text = f"[monitord] {group_status(notification).upper()}: {' '.join(what.split())}"
    if receiver.subject_prefix:
        text = f"{receiver.subject_prefix} {text}"
    return text if len(text) <= SUBJECT_LIMIT else text[: SUBJECT_LIMIT - 1] + "…"


def build(notification: Notification, receiver: EmailReceiver, smtp: SmtpSection, *,
          threads: Mapping[str, str], external_url: str = "") -> EmailMessage:
    """The message of one notification; ``threads`` maps incident id -> first notification id."""
    events = incidents(notification)
    msg = EmailMessage()
    msg["From"] = smtp.sender
    msg["To"] = ", ".join(receiver.to)
    if receiver.cc:
        msg["Cc"] = ", ".join(receiver.cc)
    msg["Subject"] = subject(notification, receiver)
    msg["Date"] = format_datetime(notification.created_at)
    own = message_id(notification.id, receiver.name, smtp.domain)
    msg["Message-ID"] = own
    parents: list[str] = []
    for event in events:
        root = threads.get(event.incident_id)
        if root is not None:
            parent = message_id(root, receiver.name, smtp.domain)
            if parent != own and parent not in parents:
                parents.append(parent)
    if parents:
        msg["In-Reply-To"] = parents[0]
        msg["References"] = " ".join(parents)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to robots
    msg["X-Monitord-Status"] = group_status(notification)
    msg["X-Monitord-Incidents"] = ", ".join(e.incident_id for e in events)
    msg["X-Monitord-Notification"] = notification.id
    msg.set_content(text_body(notification, events, external_url))
    msg.add_alternative(html_body(notification, events, external_url), subtype="html")
    return msg


def text_body(notification: Notification, events: list[AlertEvent], external_url: str) -> str:
    lines = [_headline(notification, events), ""]
    for event in events:
        lines += _text_incident(event, external_url)
    lines.append(f"-- \nmonitord · group {notification.group_key} · notification {notification.id}")
    return "\n".join(lines) + "\n"


def _headline(notification: Notification, events: list[AlertEvent]) -> str:
    if any(e.kind is EventKind.TEST for e in events):
        return (f"This is a TEST notification to receiver {notification.receiver}: "
                "no action is needed.")
    count = len(events)
    return f"{group_status(notification).upper()}: {count} incident{'s' * (count != 1)}"


def _facts(event: AlertEvent, external_url: str) -> list[tuple[str, str]]:
    facts = [
        ("Checked", event.target),
        ("Description", event.description),
        ("Summary", event.summary),
        ("Phase", event.phase.value if event.phase else ""),
        ("Started", iso(event.started_at)),
        ("Ended", iso(event.ended_at) if event.ended_at else ""),
        ("Labels", ", ".join(f"{k}={v}" for k, v in sorted(event.labels.items()))),
        ("Caused by", " -> ".join(event.caused_by)),
        ("Impacted", ", ".join(event.impacted)),
        ("Incident", event.incident_id),
        ("Link", incident_url(external_url, event)),
    ]
    return [(name, value) for name, value in facts if value]


def _text_incident(event: AlertEvent, external_url: str) -> list[str]:
    lines = [f"== {state(event).upper()} {event.check}: {event.status.name}"]
    lines += [f"   {name}: {value}" for name, value in _facts(event, external_url)]
    if event.locations:
        lines.append("   Locations:")
        lines += [f"     {s.location}: {s.status.name} - {s.summary} ({iso(s.at)})"
                  for s in event.locations]
    if event.diagnosis:
        lines.append("   Diagnosis:")
        lines += [f"     {line}" for line in event.diagnosis.splitlines()]
    if event.changes:
        lines.append("   What changed since the last OK result:")
        lines += [f"     {change}" for change in event.changes]
    if event.evidence:
        lines.append("   Evidence:")
        lines += [f"     {evidence_line(item)}" for item in event.evidence]
    lines.append("")
    return lines


def html_body(notification: Notification, events: list[AlertEvent], external_url: str) -> str:
    parts = [
        "<!DOCTYPE html><html><body style=\"font-family:sans-serif\">",
        f"<h2>{escape(_headline(notification, events))}</h2>",
    ]
    for event in events:
        parts.append(f"<h3>{escape(state(event).upper())} {escape(event.check)}: "
                     f"{escape(event.status.name)}</h3><table>")
        for name, value in _facts(event, external_url):
            cell = (f'<a href="{escape(value)}">{escape(value)}</a>' if name == "Link"
                    else escape(value))
            parts.append(f"<tr><th align=\"left\">{escape(name)}</th><td>{cell}</td></tr>")
        parts.append("</table>")
        if event.locations:
            parts.append("<ul>" + "".join(
                f"<li>{escape(s.location)}: {escape(s.status.name)} - {escape(s.summary)}</li>"
                for s in event.locations) + "</ul>")
        if event.diagnosis:
            parts.append(f"<pre>{escape(event.diagnosis)}</pre>")
        if event.changes:
            parts.append("<h4>What changed since the last OK result</h4><ul>" + "".join(
                f"<li>{escape(change)}</li>" for change in event.changes) + "</ul>")
        if event.evidence:
            parts.append("<h4>Evidence</h4><pre>" + escape("\n".join(
                evidence_line(item) for item in event.evidence)) + "</pre>")
    parts.append(f"<p><small>monitord · group {escape(notification.group_key)} · "
                 f"notification {escape(notification.id)}</small></p></body></html>")
    return "\n".join(parts)
