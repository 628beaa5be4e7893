"""Quorum across locations, and locations going stale (3 x interval)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitord.model import Status
from tests.support.qualify import Driver, check, letters

LOCS = ("paris", "tokyo", "nyc")


def feed_round(d: Driver, statuses: str, step: float = 60.0) -> str:
    """One result per location, ``"C O O"`` in LOCS order; the letters of all events."""
    d.advance(step)
    out = ""
    for location, status in zip(LOCS, statuses.split(), strict=True):
        out += letters(d.feed("web", status, location=location, step=0))
    return out or "."


# quorum, rounds of (paris tokyo nyc), events per round
QUORUM = [
    (1, ["C O O"], ["P"]),
    # lower case: degraded (failing at fewer locations than the quorum), then promoted
    (2, ["C O O", "C C O"], ["p", "P"]),
    (3, ["C C O", "C C C"], ["p", "P"]),
    (2, ["C C O", "C O O"], ["pP", "s"]),  # fewer than quorum again: degraded, still open
    (2, ["C C O", "C O O", "O O O"], ["pP", "s", "R"]),
    (2, ["C O O", "O O O"], ["p", "R"]),  # degraded, then recovered
    (2, ["C C O", "W W O"], ["pP", "S"]),
    (2, ["C W O"], ["pP"]),
    (1, ["C O O", "C C O", "O C O", "O O O"], ["P", ".", ".", "R"]),  # one failing is enough
    (1, ["C O O", "O C O"], ["P", "RP"]),  # paris' OK came while every location was OK
]


@pytest.mark.parametrize(("quorum", "rounds", "expected"), QUORUM)
def test_quorum(quorum: int, rounds: list[str], expected: list[str]) -> None:
    d = Driver([check("web", locations=LOCS, quorum=quorum)])
    assert [feed_round(d, r) for r in rounds] == expected


def test_worst_location_gives_status_phase_and_summary() -> None:
    d = Driver([check("web", locations=LOCS, quorum=2)])
    d.feed("web", "W", location="paris", summary="slow")
    [event] = d.feed("web", "C", location="tokyo", summary="refused", step=0)
    assert (event.status, event.summary) == (Status.CRITICAL, "refused")
    assert {s.location: s.status for s in event.locations} == {
        "paris": Status.WARNING, "tokyo": Status.CRITICAL}
    assert "2 of 3 failing, quorum 2" in event.diagnosis


def test_stale_location_does_not_count_for_confirmation() -> None:
    d = Driver([check("web", locations=LOCS, quorum=2, interval=60.0)])
    d.feed("web", "C", location="paris")
    # tokyo's failure comes 181 s later: paris' result is older than 3 x 60 s by then
    assert d.feed("web", "C", location="tokyo", step=181) == []
    assert d.feed("web", "C", location="paris", step=1) != []


def test_stale_failing_location_lets_a_healthy_one_close_the_incident() -> None:
    d = Driver([check("web", locations=LOCS, quorum=1, interval=60.0)])
    assert letters(d.feed("web", "C", location="tokyo")) == "P"
    assert d.feed("web", "O", location="paris", step=1) == []  # tokyo still fresh, failing
    assert d.q.next_wakeup(d.now) == d.now + timedelta(seconds=179)
    assert d.tick(178) == []
    assert d.feed("web", "O", location="paris", step=1) == []
    assert letters(d.tick(1)) == "R"  # tokyo went stale: paris' OK decides


def test_silent_locations_never_close_an_incident() -> None:
    d = Driver([check("web", locations=LOCS, quorum=1, interval=60.0)])
    d.feed("web", "C", location="tokyo")
    assert d.tick(3600) == []
    view = d.q.snapshot(d.now)["web"]
    assert view.state == "problem"
    assert {loc.location: loc.stale for loc in view.locations} == {
        "paris": True, "tokyo": True, "nyc": True}
