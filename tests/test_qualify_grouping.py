"""Grouping: group_wait batches, group_interval paces, ids are idempotency keys."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from monitord.model import AlertEvent, EventKind, Status
from monitord.qualify import Grouper
from tests.support.qualify import T0, Driver, check

WAIT, INTERVAL = 30.0, 300.0


def event(check_name: str, kind: EventKind = EventKind.PROBLEM, at: datetime = T0,
          status: Status = Status.CRITICAL, **labels: str) -> AlertEvent:
    return AlertEvent(
        kind=kind, incident_id=f"{check_name}-1", check=check_name, status=status,
        phase=None, summary="", labels={"check": check_name, **labels}, started_at=T0,
        ended_at=None if kind is not EventKind.RECOVERY else at, at=at)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def add(g: Grouper, e: AlertEvent, seconds: float, receiver: str = "ops",
        group_by: tuple[str, ...] = ()) -> None:
    g.add(e, receiver, group_by, WAIT, INTERVAL, at(seconds))


def test_events_within_group_wait_go_out_together() -> None:
    g = Grouper()
    add(g, event("a"), 0)
    add(g, event("b"), 10)
    assert g.next_due() == at(30)
    assert g.flush_due(at(29)) == []
    [note] = g.flush_due(at(30))
    assert [e.check for e in note.events] == ["a", "b"]
    assert (note.receiver, note.group_key, dict(note.group_labels)) == ("ops", "{}", {})
    assert note.created_at == at(30)
    assert g.next_due() is None
    assert g.flush_due(at(1000)) == []


@pytest.mark.parametrize(("group_by", "groups"), [
    ((), [["a", "b", "c"]]),
    (("service",), [["a", "c"], ["b"]]),
    (("service", "team"), [["a"], ["b"], ["c"]]),
    (("...",), [["a"], ["b"], ["c"]]),
])
def test_group_by(group_by: tuple[str, ...], groups: list[list[str]]) -> None:
    g = Grouper()
    add(g, event("a", service="shop"), 0, group_by=group_by)
    add(g, event("b"), 0, group_by=group_by)  # no service label: the "" group
    add(g, event("c", service="shop", team="web"), 0, group_by=group_by)
    notes = g.flush_due(at(WAIT))
    assert sorted([e.check for e in n.events] for n in notes) == groups


def test_later_changes_wait_for_group_interval() -> None:
    g = Grouper()
    add(g, event("a"), 0)
    g.flush_due(at(30))
    add(g, event("b"), 60)
    assert g.next_due() == at(30 + INTERVAL)
    [note] = g.flush_due(at(30 + INTERVAL))
    assert [e.check for e in note.events] == ["b"]
    # quiet for longer than group_interval: a change still waits group_wait to batch
    add(g, event("c"), 2000)
    assert g.next_due() == at(2000 + WAIT)


def test_a_group_with_nothing_firing_is_forgotten() -> None:
    g = Grouper()
    add(g, event("a"), 0)
    [first] = g.flush_due(at(30))
    add(g, event("a", EventKind.RECOVERY, at(60)), 60)
    [second] = g.flush_due(at(330))
    add(g, event("a"), 400)  # a new group: group_wait again, and a fresh id
    assert g.next_due() == at(430)
    [third] = g.flush_due(at(430))
    assert len({first.id, second.id, third.id}) == 3


# kinds in arrival order (the first CRITICAL, later ones WARNING) -> what goes out
@pytest.mark.parametrize(("kinds", "expected", "status"), [
    (["repeat", "recovery"], ["recovery"], Status.WARNING),
    (["problem", "repeat"], ["problem"], Status.CRITICAL),  # a repeat is no news
    (["repeat", "repeat"], ["repeat"], Status.CRITICAL),
    (["problem", "severity"], ["problem"], Status.WARNING),  # folded, with the newer status
    (["problem", "recovery"], ["problem", "recovery"], Status.WARNING),
    (["severity", "severity"], ["severity"], Status.WARNING),
])
def test_merging_within_a_batch(kinds: list[str], expected: list[str], status: Status) -> None:
    g = Grouper()
    for i, kind in enumerate(kinds):
        add(g, event("a", EventKind(kind), at(i), Status.WARNING if i else Status.CRITICAL), i)
    [note] = g.flush_due(at(100))
    assert [e.kind.value for e in note.events] == expected
    assert note.events[-1].status is status


def test_ids_are_deterministic_and_distinct() -> None:
    def run() -> list[str]:
        g = Grouper()
        for receiver in ("ops", "oncall"):
            add(g, event("a"), 0, receiver)
        ids = [n.id for n in g.flush_due(at(30))]
        add(g, event("b"), 40)
        ids += [n.id for n in g.flush_due(at(400))]
        return ids

    first = run()
    assert first == run()
    assert len(set(first)) == 3


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        Grouper().add(event("a"), "ops", (), WAIT, INTERVAL, T0.replace(tzinfo=None))


def test_alert_storm_of_500_checks_gives_one_notification_per_receiver() -> None:
    names = [f"site{i:03}" for i in range(500)]
    d = Driver([check(n, confirm=2) for n in names])
    g = Grouper()
    receivers = ("ops-mail", "oncall")
    for round_ in range(2):
        for n in names:
            for e in d.feed(n, "C", step=0.01):
                for r in receivers:
                    g.add(e, r, (), WAIT, INTERVAL, d.now)
        assert round_ == 1 or g.next_due() is None
    due = g.next_due()
    assert due is not None
    notes = g.flush_due(due)
    assert sorted(n.receiver for n in notes) == sorted(receivers)
    for note in notes:
        assert len(note.events) == 500
        assert {e.check for e in note.events} == set(names)
    assert g.flush_due(due + timedelta(hours=1)) == []


def test_restore_round_trip() -> None:
    g = Grouper()
    add(g, event("a"), 0)
    g.flush_due(at(30))
    add(g, event("b", service="x"), 40)
    add(g, replace(event("c"), summary="with text"), 41)
    changes = g.take_changes()
    again = Grouper()
    again.restore(changes.groups, changes.entries)
    assert again.next_due() == g.next_due()
    assert [n.events for n in again.flush_due(at(400))] == \
        [n.events for n in g.flush_due(at(400))]


@pytest.mark.parametrize(("repeat_interval", "sent"), [
    (None, ["problem", "repeat", "repeat"]),  # the engine's pace
    (3600.0, ["problem", "repeat", "repeat"]),
    (7200.0, ["problem", "repeat"]),  # this route repeats every other time
])
def test_route_repeat_interval_paces_repeats(repeat_interval: float | None,
                                              sent: list[str]) -> None:
    g = Grouper()
    kinds: list[str] = []
    for hour, kind in ((0, EventKind.PROBLEM), (1, EventKind.REPEAT), (2, EventKind.REPEAT)):
        now = at(hour * 3600)
        g.add(event("a", kind, now), "ops", (), 0.0, 0.0, now, repeat_interval)
        kinds += [e.kind.value for n in g.flush_due(now) for e in n.events]
    assert kinds == sent


def test_route_repeat_pacing_counts_from_the_event_not_the_flush() -> None:
    g = Grouper()
    g.add(event("a", at=at(0)), "ops", (), WAIT, INTERVAL, at(0), 3600.0)
    g.flush_due(at(WAIT))  # sent 30 s after the event
    g.add(event("a", EventKind.REPEAT, at(3600)), "ops", (), WAIT, INTERVAL, at(3600), 3600.0)
    [note] = g.flush_due(at(3600 + WAIT))
    assert [e.kind for e in note.events] == [EventKind.REPEAT]
