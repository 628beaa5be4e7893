"""The engine as a whole: reloads, snapshots, wake-ups, time zones, change records."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from monitord.model import EventKind, Status
from monitord.qualify import QualifySettings
from monitord.qualify.engine import REMOVED_SUMMARY
from tests.support.qualify import Driver, check, letters


def test_reload_keeps_state_of_kept_checks_and_closes_removed_ones() -> None:
    d = Driver([check("web", confirm=3), check("db"), check("dns")])
    d.run("web", "C C")  # mid-confirmation
    [db_problem] = d.feed("db", "C")
    d.q.add_silence(["check=dns"], d.now, d.now + timedelta(hours=1), "a", "", d.now)
    d.feed("dns", "C")  # recorded, never told
    events = d.q.update_checks([check("web", confirm=3, labels={"team": "ops"}),
                                check("new")], d.advance(1))
    [closed] = events  # dns was never told: it closes silently
    assert (closed.check, closed.kind, closed.summary) == ("db", EventKind.RECOVERY,
                                                            REMOVED_SUMMARY)
    assert closed.incident_id == db_problem.incident_id
    assert closed.labels["check"] == "db"  # routes like its problem did
    assert letters(d.feed("web", "C")) == "P"  # the confirmation counter survived
    assert set(d.q.snapshot(d.now)) == {"web", "new"}
    changes = d.q.take_changes()
    assert set(changes.deleted_checks) == {"db", "dns"}


def test_reload_with_a_changed_quorum_applies_at_once() -> None:
    locs = ("paris", "tokyo")
    d = Driver([check("web", locations=locs, quorum=2)])
    d.feed("web", "C", location="paris")
    assert letters(d.q.update_checks([check("web", locations=locs, quorum=1)], d.now)) == "P"
    assert letters(d.feed("web", "C", location="paris")) == ""


def test_reload_releases_children_of_a_removed_parent() -> None:
    d = Driver([check("router"), check("web", depends_on=("router",))])
    d.feed("router", "C")
    d.feed("web", "C")
    events = d.q.update_checks([check("web", depends_on=("router",))], d.advance(1))
    assert sorted((e.check, e.kind.value) for e in events) == [
        ("router", "recovery"), ("web", "problem")]


def test_snapshot() -> None:
    d = Driver([check("web", confirm=3, locations=("paris", "tokyo"))])
    d.feed("web", "C", location="tokyo", summary="refused")
    view = d.q.snapshot(d.now)["web"]
    assert (view.state, view.status, view.confirm, view.incident) == (
        "confirming", Status.OK, 3, None)
    paris, tokyo = view.locations
    assert (paris.location, paris.at, paris.stale) == ("paris", None, True)
    assert (tokyo.status, tokyo.hard, tokyo.pending, tokyo.summary, tokyo.at) == (
        Status.CRITICAL, Status.OK, 1, "refused", d.now)
    d.run("web", "C C", location="tokyo")
    view = d.q.snapshot(d.now)["web"]
    assert view.state == "problem"
    assert view.incident is not None
    assert view.incident.notified
    assert view.since == view.incident.started_at
    assert [i.id for i in d.q.incidents()] == [view.incident.id]


def test_next_wakeup_is_the_earliest_of_repeats_and_holds() -> None:
    d = Driver([check("web"), check("db")], QualifySettings(repeat_interval=3600.0))
    assert d.q.next_wakeup(d.now) is None
    d.feed("web", "C")
    first_repeat = d.now + timedelta(hours=1)
    d.q.add_silence(["check=db"], d.now, d.now + timedelta(minutes=30), "a", "", d.now)
    d.feed("db", "C")
    assert d.q.next_wakeup(d.now) == d.now - timedelta(minutes=1) + timedelta(minutes=30)
    d.tick(30 * 60)
    assert d.q.next_wakeup(d.now) == first_repeat


def test_repeats_count_real_time_across_the_autumn_dst_change() -> None:
    """On 2026-10-25 Paris clocks go back from 03:00 to 02:00: a 4 h repeat interval
    starting at 00:30 local is due at 03:30 local, not 04:30."""
    paris = ZoneInfo("Europe/Paris")
    start = datetime(2026, 10, 25, 0, 30, tzinfo=paris)
    d = Driver([check("web")], QualifySettings(repeat_interval=4 * 3600.0), start=start,
               zone=paris)
    d.feed("web", "C", step=0)
    due = d.q.next_wakeup(d.now)
    assert due is not None
    assert due.astimezone(paris).strftime("%H:%M") == "03:30"
    assert d.tick(4 * 3600 - 1) == []
    assert letters(d.tick(1)) == "E"


def test_steady_ok_results_change_nothing_to_save() -> None:
    d = Driver([check("web")])
    d.run("web", " ".join(["O"] * 21))
    d.q.take_changes()
    d.run("web", "O O O")
    assert not d.q.take_changes()
    d.feed("web", "C")
    changes = d.q.take_changes()
    assert [name for name, _ in changes.checks] == ["web"]
    assert len(changes.incidents) == 1


def test_event_diagnosis_names_phase_since_locations_and_chain() -> None:
    d = Driver([check("core"), check("web", confirm=2, depends_on=("core",),
                                     locations=("paris", "tokyo"))])
    d.feed("core", "C")
    d.run("web", "C C", location="tokyo")
    [_, released] = d.feed("core", "O")
    assert released.check == "web"
    text = released.diagnosis
    assert "CRITICAL in phase connect: critical trouble" in text
    assert "failing since 2026-01-05 09:02:00 UTC (2m)" in text
    assert "confirmed after 2 consecutive failing results (confirm = 2)" in text
    assert 'locations: tokyo CRITICAL connect "critical trouble" ' in text
    assert "paris no result yet" in text
    assert "1 of 2 failing, quorum 1" in text
