"""Flap detection as Nagios Core 4: the contract's worked example and more sequences."""

from __future__ import annotations

import random

import pytest

from monitord.model import EventKind, Status
from monitord.qualify.flapping import FlapState, percent_state_change
from tests.support.qualify import Driver, check, letters


def nagios_percent(history: list[int]) -> float:
    """A literal transcription of Nagios Core 4's flapping.c loop over a full 21-entry
    history (oldest first), kept independent of the implementation under test."""
    low, high, entries = 0.75, 1.25, 21
    curved = 0.0
    last = history[0]
    for x in range(1, entries):
        if last != history[x]:
            curved += ((x - 1) * (high - low)) / (entries - 2) + low
        last = history[x]
    return curved * 100.0 / (entries - 1)


def feed_steps(d: Driver, sequence: str) -> list[tuple[str, float, bool]]:
    """Per result: event letters, percent state change (2 decimals), flapping."""
    out = []
    for status in sequence.split():
        events = letters(d.feed("web", status))
        view = d.q.snapshot(d.now)["web"]
        out.append((events or ".", round(view.percent_state_change, 2), view.flapping))
    return out


def test_contract_worked_example() -> None:
    """confirm = 1; 21 OK, then C,O,C,O,C,O, then 20 x O."""
    d = Driver([check("web", confirm=1)])
    assert d.run("web", " ".join(["O"] * 21)) == ["."] * 21
    steps = feed_steps(d, "C O C O C O " + " ".join(["O"] * 20))
    assert [p for _, p, _ in steps[:6]] == [6.25, 12.37, 18.36, 24.21, 29.93, 35.53]
    assert [f for _, _, f in steps[:6]] == [False] * 5 + [True]  # starts at the sixth
    assert steps[20][1:] == (20.07, True)  # still flapping at 20.07
    assert steps[21][1:] == (15.79, False)  # stops at 15.79 on the 22nd
    # Notified normally until the sixth, whose recovery is held by flapping; then silence
    # until flapping stops, reporting the state at that moment (OK: the recovery is not lost).
    assert [e for e, _, _ in steps] == ["P", "R", "P", "R", "P", "F"] + ["."] * 15 + ["f"] + \
        ["."] * 4


def test_flapping_events_carry_the_state() -> None:
    d = Driver([check("web", confirm=1)])
    d.run("web", " ".join(["O"] * 21) + " C O C O C")
    [started] = d.feed("web", "O")
    assert started.kind is EventKind.FLAPPING_STARTED
    assert started.status is Status.OK
    assert started.firing
    assert "flapping: 35.53% state change" in started.diagnosis
    for _ in range(15):
        assert d.feed("web", "O") == []
    [stopped] = d.feed("web", "O")
    assert stopped.kind is EventKind.FLAPPING_STOPPED
    assert stopped.incident_id == started.incident_id
    assert stopped.status is Status.OK
    assert stopped.ended_at == d.now
    assert not stopped.firing
    assert d.q.incidents() == []


def test_flapping_stops_in_a_problem_then_recovers() -> None:
    """Mine: 21 OK, C,O,C,O,C,O (starts at 35.53), then CRITICAL for good: percent climbs to
    40.99 then decays; it stops at 15.79 on the 23rd while CRITICAL, which is reported, and
    the incident then follows the normal rules (repeat, recovery)."""
    d = Driver([check("web", confirm=1)])
    d.run("web", " ".join(["O"] * 21))
    steps = feed_steps(d, "C O C O C O " + " ".join(["C"] * 17))
    assert [p for _, p, _ in steps[5:8]] == [35.53, 40.99, 40.07]
    assert [e for e, _, _ in steps] == ["P", "R", "P", "R", "P", "F"] + ["."] * 16 + ["f"]
    assert steps[21][1:] == (20.07, True)
    assert steps[22][1:] == (15.79, False)
    view = d.q.snapshot(d.now)["web"]
    assert view.incident is not None
    assert view.incident.status is Status.CRITICAL
    assert d.run("web", "C O") == [".", "R"]


def test_severity_flapping_keeps_one_incident() -> None:
    """Mine: WARNING <-> CRITICAL changes are state changes too (Nagios records the state,
    not just OK/not OK). confirm = 1: W,C,W,C,W,C → flapping at the sixth (35.53), peaks at
    46.32, stops at 15.79 on the 24th, still CRITICAL; all of it is one incident."""
    d = Driver([check("web", confirm=1)])
    d.run("web", " ".join(["O"] * 21))
    steps = feed_steps(d, "W C W C W C W C " + " ".join(["C"] * 16))
    assert [e for e, _, _ in steps] == ["P", "S", "S", "S", "S", "F"] + ["."] * 17 + ["f"]
    assert [p for _, p, _ in steps[5:8]] == [35.53, 40.99, 46.32]
    assert steps[23][1:] == (15.79, False)
    assert len({i.id for i in d.q.incidents()}) == 1


def test_soft_states_are_not_recorded() -> None:
    """Mine: with confirm = 2, a failure that is not confirmed adds nothing to the history
    (Nagios records hard states and soft recoveries only); confirmed ones do."""
    d = Driver([check("web", confirm=2)])
    d.run("web", " ".join(["O"] * 21))
    steps = feed_steps(d, " ".join(["C O"] * 5))
    assert all(step == (".", 0.0, False) for step in steps)
    steps = feed_steps(d, "C C O C C O C C O")
    assert [e for e, _, _ in steps] == [".", "P", "R", ".", "P", "R", ".", "P", "F"]
    recorded = [steps[i][1] for i in (1, 2, 4, 5, 7, 8)]
    assert recorded == [6.25, 12.37, 18.36, 24.21, 29.93, 35.53]
    assert [steps[i][1] for i in (0, 3, 6)] == [0.0, 12.37, 24.21]  # soft: unchanged


@pytest.mark.parametrize(("low", "high", "expected"), [
    (None, None, "P R P R P F"),
    (40.0, 50.0, "P R P R P R"),  # per check thresholds: 35.53 is not enough
    (5.0, 18.0, "P R F . . ."),  # starts at 18.36 (third), 20.. never falls to 5 here
])
def test_per_check_thresholds(low: float | None, high: float | None, expected: str) -> None:
    d = Driver([check("web", confirm=1, flap_low=low, flap_high=high)])
    d.run("web", " ".join(["O"] * 21))
    assert " ".join(d.run("web", "C O C O C O")) == expected


def test_matches_nagios_on_a_random_walk() -> None:
    rng = random.Random(20260105)
    state = FlapState([0] * 21)
    history = [0] * 21
    for _ in range(2000):
        value = rng.choice([0, 0, 0, 1, 2, 3])
        state.record(value, 20.0, 30.0)
        history = [*history[1:], value]
        assert state.percent == pytest.approx(nagios_percent(history), abs=1e-9)


@pytest.mark.parametrize(("history", "expected"), [
    ([], 0.0),
    ([2], 0.0),
    ([0, 2], 6.25),  # a short history reads as if padded with its oldest state
    ([0, 2, 0], 12.37),
    ([0] * 20 + [2], 6.25),
    ([0, 2] * 10 + [0], 100.0),  # every transition: the weights sum to 20
])
def test_percent_state_change(history: list[int], expected: float) -> None:
    assert round(percent_state_change(history), 2) == expected
