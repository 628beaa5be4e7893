"""Confirmation (soft/hard), severity changes, recovery: decision tables on a fake now."""

from __future__ import annotations

import pytest

from monitord.model import EventKind, Status
from tests.support.qualify import Driver, check, result

# confirm, results, events per result: P problem, S severity, R recovery, . nothing
CONFIRMATION = [
    (1, "C", "P"),
    (3, "C C C", ". . P"),
    (3, "W W C", ". . P"),
    (3, "C C O C C C", ". . . . . P"),  # an OK during confirmation ends it silently
    (3, "C C O O", ". . . ."),
    (2, "C C O", ". P R"),
    (3, "C C C C C", ". . P . ."),  # one PROBLEM, not one per result
    (2, "W W C", ". P S"),  # a hard problem changes severity at once
    (2, "C C W C", ". P S S"),
    (2, "C C U", ". P S"),
    (1, "U O", "P R"),
    (2, "C C O C C", ". P R . P"),  # a new problem after recovery is a new incident
    (1, "O O O", ". . ."),
]


@pytest.mark.parametrize(("confirm", "sequence", "expected"), CONFIRMATION)
def test_confirmation(confirm: int, sequence: str, expected: str) -> None:
    d = Driver([check("web", confirm=confirm)])
    assert " ".join(d.run("web", sequence)) == expected


# after the results: retrying (scheduler uses retry_interval), snapshot state
RETRYING = [
    (3, "C", True, "confirming"),
    (3, "C C", True, "confirming"),
    (3, "C C C", False, "problem"),
    (3, "C O", False, "ok"),
    (1, "C", False, "problem"),
    (3, "C C C O", False, "ok"),
    (3, "C C C W", False, "problem"),
]


@pytest.mark.parametrize(("confirm", "sequence", "retrying", "state"), RETRYING)
def test_retrying_and_state(confirm: int, sequence: str, retrying: bool, state: str) -> None:
    d = Driver([check("web", confirm=confirm)])
    d.run("web", sequence)
    assert d.q.retrying("web") is retrying
    assert d.q.retrying("web", "paris") is retrying
    assert d.q.snapshot(d.now)["web"].state == state


def test_retrying_unknown_names() -> None:
    d = Driver([check("web", confirm=3)])
    d.run("web", "C")
    assert not d.q.retrying("nope")
    assert not d.q.retrying("web", "tokyo")


def test_incident_identity_and_fields() -> None:
    d = Driver([check("web", confirm=3, labels={"service": "shop"})])
    first_failure = d.advance(60)
    d.q.process(result("web", "C", first_failure), first_failure)
    d.run("web", "C")
    [event] = d.feed("web", "C", summary="connection refused")
    assert event.kind is EventKind.PROBLEM
    assert event.incident_id == "web-20260105T090100Z"  # named after the first failure
    assert event.started_at == first_failure
    assert event.status is Status.CRITICAL
    assert event.summary == "connection refused"
    assert dict(event.labels) == {"service": "shop", "check": "web", "type": "http",
                                  "severity": "critical"}
    assert "confirmed after 3 consecutive failing results (confirm = 3)" in event.diagnosis
    assert "connect" in event.diagnosis
    [recovery] = d.feed("web", "O")
    assert recovery.kind is EventKind.RECOVERY
    assert recovery.incident_id == event.incident_id
    assert recovery.status is Status.OK
    assert recovery.ended_at == d.now
    assert not recovery.firing


def test_out_of_order_results_are_ignored() -> None:
    d = Driver([check("web", confirm=2)])
    d.run("web", "C C")
    late = d.now
    d.run("web", "O")
    assert d.q.process(result("web", "C", late.replace(minute=0)), d.now) == []
    assert d.q.snapshot(d.now)["web"].status is Status.OK


def test_results_of_unknown_checks_and_locations_are_ignored() -> None:
    d = Driver([check("web")])
    assert d.feed("other", "C") == []
    assert d.feed("web", "C", location="tokyo") == []
    assert d.q.snapshot(d.now)["web"].state == "ok"


def test_disabled_checks_are_not_tracked() -> None:
    d = Driver([check("web", enabled=False)])
    assert d.feed("web", "C") == []
    assert d.q.snapshot(d.now) == {}


def test_naive_now_is_refused() -> None:
    d = Driver([check("web")])
    with pytest.raises(ValueError, match="naive"):
        d.q.process(result("web", "C", d.now), d.now.replace(tzinfo=None))
