"""Incidents: one PROBLEM, repeats, acknowledgement, and the reconciliation table."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitord.model import EventKind, Status
from monitord.qualify import QualifySettings, UnknownIncident
from monitord.qualify.incidents import Incident, Told, incident_id, next_event
from tests.support.qualify import T0, Driver, check, letters

HOUR = 3600.0


def test_repeat_every_interval_while_open() -> None:
    d = Driver([check("web")], QualifySettings(repeat_interval=HOUR))
    [problem] = d.feed("web", "C")
    assert d.q.next_wakeup(d.now) == d.now + timedelta(hours=1)
    assert d.tick(HOUR - 1) == []
    [repeat] = d.tick(1)
    assert repeat.kind is EventKind.REPEAT
    assert repeat.incident_id == problem.incident_id
    assert d.q.next_wakeup(d.now) == d.now + timedelta(hours=1)
    # results in between do not repeat early
    assert d.run("web", "C C", step=600) == [".", "."]
    assert letters(d.tick(HOUR - 1200)) == "E"


def test_severity_change_restarts_the_repeat_clock() -> None:
    d = Driver([check("web")], QualifySettings(repeat_interval=HOUR))
    d.feed("web", "C")
    assert d.run("web", "W", step=1800) == ["S"]
    assert d.tick(1800) == []
    assert letters(d.tick(1800)) == "E"


def test_acknowledge_stops_repeats_until_recovery() -> None:
    d = Driver([check("web")], QualifySettings(repeat_interval=HOUR))
    [problem] = d.feed("web", "C")
    [ack] = d.q.acknowledge(problem.incident_id, "alice", "on it", d.advance(60))
    assert ack.kind is EventKind.ACKNOWLEDGED
    assert "acknowledged by alice: on it" in ack.diagnosis
    assert d.q.acknowledge(problem.incident_id, "bob", "me too", d.now) == []  # once
    assert d.q.next_wakeup(d.now) is None
    assert d.tick(10 * HOUR) == []
    assert d.run("web", "W") == ["S"]  # news of the incident still goes out
    assert d.tick(10 * HOUR) == []
    assert d.run("web", "O C") == ["R", "P"]  # the next problem is a new incident
    assert letters(d.tick(HOUR)) == "E"
    view = d.q.incidents()[0]
    assert view.acknowledged_by is None
    assert view.id != problem.incident_id


def test_acknowledge_unknown_or_closed_incident() -> None:
    d = Driver([check("web")])
    [problem] = d.feed("web", "C")
    d.feed("web", "O")
    with pytest.raises(UnknownIncident):
        d.q.acknowledge(problem.incident_id, "alice", "", d.now)
    with pytest.raises(UnknownIncident):
        d.q.acknowledge("nope", "alice", "", d.now)


def _incident(**overrides: object) -> Incident:
    values: dict[str, object] = {
        "id": "web-1", "check": "web", "started_at": T0, "status": Status.CRITICAL,
        "phase": None, "summary": "", "confirmations": 1,
    }
    values.update(overrides)
    return Incident(**values)  # type: ignore[arg-type]


LATER = T0 + timedelta(hours=1)
CLOSED = {"ended_at": LATER, "status": Status.OK}
TOLD = {"told": Told.PROBLEM, "told_status": Status.CRITICAL, "last_told_at": T0}

# incident fields, flapping, held, now, expected event
RECONCILE = [
    ({}, False, False, T0, EventKind.PROBLEM),
    ({}, False, True, T0, None),  # held: recorded, not notified
    (TOLD, False, False, T0, None),
    (TOLD, False, False, LATER, EventKind.REPEAT),
    (TOLD, False, True, LATER, None),  # held: no repeat either
    ({**TOLD, "acked_by": "alice"}, False, False, LATER, None),
    ({**TOLD, "status": Status.WARNING}, False, False, T0, EventKind.SEVERITY),
    ({**TOLD, "status": Status.WARNING}, False, True, T0, None),
    ({**TOLD, **CLOSED}, False, False, LATER, EventKind.RECOVERY),
    ({**TOLD, **CLOSED}, False, True, LATER, EventKind.RECOVERY),  # never swallowed
    (CLOSED, False, False, LATER, None),  # never told: closes silently
    (TOLD, True, False, T0, EventKind.FLAPPING_STARTED),
    (TOLD, True, True, T0, None),
    ({}, True, False, T0, EventKind.FLAPPING_STARTED),
    ({"told": Told.FLAPPING}, True, False, LATER, None),  # no repeats while flapping
    ({"told": Told.FLAPPING}, False, False, T0, EventKind.FLAPPING_STOPPED),
    ({"told": Told.FLAPPING}, False, True, T0, EventKind.FLAPPING_STOPPED),
    ({"told": Told.FLAPPING, **CLOSED}, False, True, T0, EventKind.FLAPPING_STOPPED),
]


@pytest.mark.parametrize(("fields", "flapping", "held", "now", "expected"), RECONCILE)
def test_next_event(fields: dict[str, object], flapping: bool, held: bool, now: object,
                    expected: EventKind | None) -> None:
    inc = _incident(**fields)
    assert next_event(inc, flapping=flapping, held=held, now=now,  # type: ignore[arg-type]
                      repeat_interval=HOUR) is expected


@pytest.mark.parametrize(("previous", "expected"), [
    ("", "web-20260105T090000Z"),
    ("web-20260104T100000Z", "web-20260105T090000Z"),
    ("web-20260105T090000Z", "web-20260105T090000Z.2"),
    ("web-20260105T090000Z.2", "web-20260105T090000Z.3"),
])
def test_incident_id(previous: str, expected: str) -> None:
    assert incident_id("web", T0, previous) == expected


def test_two_incidents_in_one_second_get_distinct_ids() -> None:
    d = Driver([check("web")])
    ids = [e.incident_id for e in d.feed("web", "C", step=0.1) + d.feed("web", "O", step=0.1)
           + d.feed("web", "C", step=0.1)]
    assert ids[0] == ids[1] != ids[2]
