"""Payload renderers, field by field: json, alertmanager (v4), pagerduty (Events API v2)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from monitord import eventcodec as codec
from monitord.model import EventKind, Evidence, Notification, Status
from monitord.notify.formats import alertmanager, json_format, pagerduty
from monitord.notify.formats.fields import incidents
from tests.support.alerts import event, notification

URL = "https://monitord.example.net"


REFUSED = Evidence("connect", "192.0.2.99:443", "failed", "Connection refused")


def grouped() -> Notification:
    fr = replace(event("shop-fr", diagnosis="upstream 10.0.0.5 refused",
                       labels={"service": "shop"}),
                 target="https://shop.example.fr/", description="the French shop",
                 evidence=(REFUSED,), changes=("address: 192.0.2.10 → 192.0.2.99",))
    return notification(
        "oncall", fr,
        event("shop-de", EventKind.RECOVERY, labels={"service": "shop"}, summary="HTTP 200"),
    )


def test_json_format_fields() -> None:
    body = json_format.render(grouped(), external_url=URL)
    assert body == {
        "version": "1",
        "id": "n1",
        "status": "firing",
        "receiver": "oncall",
        "group_key": '{}:{service="shop"}',
        "group_labels": {"service": "shop"},
        "created_at": "2026-01-05T09:30:00Z",
        "incidents": [
            {
                "id": "inc-shop-fr",
                "check": "shop-fr",
                "status": "CRITICAL",
                "severity": "critical",
                "state": "firing",
                "event": "problem",
                "summary": "HTTP 503 Service Unavailable",
                "phase": "response",
                "labels": {"check": "shop-fr", "type": "http", "severity": "critical",
                           "service": "shop"},
                "started_at": "2026-01-05T08:58:00Z",
                "ended_at": None,
                "locations": [{"location": "paris", "status": "CRITICAL",
                               "summary": "HTTP 503 Service Unavailable",
                               "at": "2026-01-05T09:00:00Z"}],
                "diagnosis": "upstream 10.0.0.5 refused",
                "caused_by": [],
                "impacted": [],
                "url": f"{URL}/?check=shop-fr",
                "target": "https://shop.example.fr/",
                "description": "the French shop",
                "evidence": [{"probe": "connect", "target": "192.0.2.99:443",
                              "status": "failed", "detail": "Connection refused"}],
                "changes": ["address: 192.0.2.10 → 192.0.2.99"],
            },
            {
                "id": "inc-shop-de",
                "check": "shop-de",
                "status": "OK",
                "severity": "critical",
                "state": "resolved",
                "event": "recovery",
                "summary": "HTTP 200",
                "phase": None,
                "labels": {"check": "shop-de", "type": "http", "severity": "critical",
                           "service": "shop"},
                "started_at": "2026-01-05T08:58:00Z",
                "ended_at": "2026-01-05T09:30:00Z",
                "locations": [{"location": "paris", "status": "OK", "summary": "HTTP 200",
                               "at": "2026-01-05T09:30:00Z"}],
                "diagnosis": "",
                "caused_by": [],
                "impacted": [],
                "url": f"{URL}/?check=shop-de",
                "target": "",
                "description": "",
                "evidence": [],
                "changes": [],
            },
        ],
    }


def test_alertmanager_format_fields() -> None:
    body = alertmanager.render(grouped(), external_url=URL)
    fr_labels = {"check": "shop-fr", "type": "http", "severity": "critical", "service": "shop"}
    de_labels = {**fr_labels, "check": "shop-de"}
    assert body == {
        "version": "4",
        "groupKey": '{}:{service="shop"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "oncall",
        "groupLabels": {"service": "shop"},
        "commonLabels": {"type": "http", "severity": "critical", "service": "shop"},
        "commonAnnotations": {},
        "externalURL": URL,
        "alerts": [
            {
                "status": "firing",
                "labels": fr_labels,
                "annotations": {"summary": "HTTP 503 Service Unavailable",
                                "description": "upstream 10.0.0.5 refused",
                                "incident_id": "inc-shop-fr", "status": "CRITICAL",
                                "state": "firing", "phase": "response",
                                "target": "https://shop.example.fr/",
                                "check_description": "the French shop",
                                "evidence": "FAILED connect 192.0.2.99:443: Connection refused",
                                "changes": "address: 192.0.2.10 → 192.0.2.99"},
                "startsAt": "2026-01-05T08:58:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": f"{URL}/?check=shop-fr",
                "fingerprint": alertmanager.fingerprint(fr_labels),
            },
            {
                "status": "resolved",
                "labels": de_labels,
                "annotations": {"summary": "HTTP 200", "incident_id": "inc-shop-de",
                                "status": "OK", "state": "resolved"},
                "startsAt": "2026-01-05T08:58:00Z",
                "endsAt": "2026-01-05T09:30:00Z",
                "generatorURL": f"{URL}/?check=shop-de",
                "fingerprint": alertmanager.fingerprint(de_labels),
            },
        ],
    }


def test_alertmanager_fingerprint_matches_prometheus() -> None:
    # Test vectors of prometheus/common model.labelSetToFingerprint.
    assert int(alertmanager.fingerprint({}), 16) == 14695981039346656037
    assert int(alertmanager.fingerprint(
        {"name": "garland, briggs", "fear": "love is not enough"}), 16) == 5799056148416392346


def test_alertmanager_all_resolved() -> None:
    body = alertmanager.render(notification("x", event(kind=EventKind.RECOVERY)))
    assert body["status"] == "resolved"
    assert body["externalURL"] == ""
    assert body["alerts"][0]["generatorURL"] == ""


@pytest.mark.parametrize(("kind", "status", "action", "severity"), [
    (EventKind.PROBLEM, Status.CRITICAL, "trigger", "critical"),
    (EventKind.SEVERITY, Status.WARNING, "trigger", "warning"),
    (EventKind.REPEAT, Status.UNKNOWN, "trigger", "error"),
    (EventKind.ACKNOWLEDGED, Status.CRITICAL, "acknowledge", "critical"),
    (EventKind.RECOVERY, Status.OK, "resolve", "info"),
    (EventKind.FLAPPING_STARTED, Status.CRITICAL, "trigger", "critical"),
    (EventKind.FLAPPING_STOPPED, Status.WARNING, "trigger", "warning"),
    (EventKind.FLAPPING_STOPPED, Status.OK, "resolve", "info"),
    (EventKind.TEST, Status.OK, "trigger", "info"),
])
def test_pagerduty_actions(kind: EventKind, status: Status, action: str, severity: str) -> None:
    (body,) = pagerduty.render(notification("pd", event(kind=kind, status=status)), "KEY")
    assert body["event_action"] == action
    assert body["payload"]["severity"] == severity


def test_pagerduty_fields_one_event_per_incident() -> None:
    bodies = pagerduty.render(grouped(), "R0UT1NG", external_url=URL)
    assert [b["dedup_key"] for b in bodies] == ["inc-shop-fr", "inc-shop-de"]
    first = bodies[0]
    assert first["routing_key"] == "R0UT1NG"
    assert first["event_action"] == "trigger"
    assert first["client"] == "monitord"
    assert first["client_url"] == f"{URL}/?check=shop-fr"
    payload = first["payload"]
    assert payload["summary"] == "shop-fr: CRITICAL - HTTP 503 Service Unavailable"
    assert payload["source"] == "shop-fr"
    assert payload["severity"] == "critical"
    assert payload["timestamp"] == "2026-01-05T09:00:00Z"
    assert payload["component"] == "shop-fr"
    assert payload["class"] == "http"
    assert payload["group"] == "shop"
    details = payload["custom_details"]
    assert details["incident_id"] == "inc-shop-fr"
    assert details["diagnosis"] == "upstream 10.0.0.5 refused"
    assert details["locations"] == {"paris": "CRITICAL: HTTP 503 Service Unavailable"}
    assert details["labels"]["service"] == "shop"
    assert details["target"] == "https://shop.example.fr/"
    assert details["description"] == "the French shop"
    assert details["evidence"] == [REFUSED.to_json()]
    assert details["changes"] == ["address: 192.0.2.10 → 192.0.2.99"]
    assert bodies[1]["event_action"] == "resolve"
    assert bodies[1]["payload"]["severity"] == "info"


def test_pagerduty_summary_is_cut_to_the_api_limit() -> None:
    (body,) = pagerduty.render(notification("pd", event(summary="x" * 5000)), "K")
    assert len(body["payload"]["summary"]) == pagerduty.SUMMARY_LIMIT
    assert body["payload"]["summary"].endswith("…")


def test_latest_event_per_incident() -> None:
    problem = event("a")
    ack = event("a", EventKind.ACKNOWLEDGED, at=problem.at.replace(minute=5))
    other = event("b")
    picked = incidents(notification("r", problem, other, ack))
    assert [(e.check, e.kind) for e in picked] == [("a", EventKind.ACKNOWLEDGED),
                                                    ("b", EventKind.PROBLEM)]


def test_codec_round_trip() -> None:
    original = grouped()
    assert codec.loads(codec.dumps(original)) == original
