"""Silences and maintenance windows: recorded, shown, not notified; released when they end."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from monitord.model import EventKind
from monitord.qualify import QualifySettings, UnknownSilence
from monitord.route.maintenance import Maintenance
from monitord.route.matchers import Matcher
from monitord.route.timeintervals import (
    Recurrence,
    TimeInterval,
    parse_time_range,
    parse_weekdays,
)
from tests.support.qualify import T0, Driver, check, letters

HOUR = timedelta(hours=1)


def shop() -> Driver:
    return Driver([check("web", labels={"service": "shop"}), check("db")],
                  QualifySettings(repeat_interval=4 * 3600.0))


def silence(d: Driver, matchers: list[str], start: float = 0.0, hours: float = 1.0,
            ) -> str:
    begin = d.now + timedelta(seconds=start)
    return d.q.add_silence(matchers, begin, begin + timedelta(hours=hours), "alice",
                           "upgrade", d.now).id


def test_silenced_problem_is_recorded_then_notified_when_the_silence_ends() -> None:
    d = shop()
    sid = silence(d, ["service=shop"])
    assert d.feed("web", "C") == []
    assert letters(d.feed("db", "C")) == "P"  # not matched
    inc = d.q.snapshot(d.now)["web"].incident
    assert inc is not None
    assert inc.held == f"silence {sid} by alice: upgrade"
    assert not inc.notified
    end = T0 + HOUR
    assert d.q.next_wakeup(d.now) == end
    assert d.tick((end - d.now).total_seconds() - 1) == []
    [released] = d.tick(1)
    assert (released.check, released.kind) == ("web", EventKind.PROBLEM)
    assert released.started_at == T0 + timedelta(minutes=1)


def test_silenced_problem_that_recovers_is_never_notified() -> None:
    d = shop()
    silence(d, ["check=web"])
    assert d.run("web", "C C O") == [".", ".", "."]
    assert d.tick(2 * 3600) == []


def test_recovery_of_a_notified_problem_is_not_swallowed_by_a_later_silence() -> None:
    d = shop()
    assert d.run("web", "C") == ["P"]
    silence(d, ["service=shop"], hours=10)
    assert d.tick(5 * 3600) == []  # the repeat is muted
    assert d.run("web", "O") == ["R"]


def test_expiring_a_silence_releases_at_once() -> None:
    d = shop()
    sid = silence(d, ["service=~sh.p"])
    d.feed("web", "W")
    [released] = d.q.expire_silence(sid, d.advance(60))
    assert released.kind is EventKind.PROBLEM
    ended = d.q.silences(d.now, include_ended=True)[0]
    assert ended.ends_at == d.now
    assert d.q.silences(d.now, include_ended=False) == []
    with pytest.raises(UnknownSilence):
        d.q.expire_silence("nope", d.now)


def test_future_silence_does_not_mute_yet() -> None:
    d = shop()
    silence(d, ["service=shop"], start=3600)
    assert letters(d.feed("web", "C")) == "P"


def test_severity_change_under_a_silence_is_told_when_it_ends() -> None:
    d = shop()
    d.feed("web", "C")
    silence(d, ["service=shop"])
    assert d.run("web", "W") == ["."]
    assert letters(d.tick(3600)) == "S"


@pytest.mark.parametrize(("matchers", "start", "end", "message"), [
    ([], 0, 1, "at least one matcher"),
    (["service=~.*"], 0, 1, "without labels"),
    (["service!=shop"], 0, 1, "without labels"),
    (["service=shop"], 1, 1, "after starts_at"),
    (["service=shop"], -2, -1, "in the past"),
    (["service shop"], 0, 1, "expected a matcher"),
])
def test_silence_validation(matchers: list[str], start: int, end: int, message: str) -> None:
    d = shop()
    with pytest.raises(ValueError, match=message):
        d.q.add_silence(matchers, d.now + start * HOUR, d.now + end * HOUR, "a", "", d.now)


def test_ended_silences_are_forgotten_after_retention() -> None:
    d = Driver([check("web")], QualifySettings(silence_retention=3600.0))
    sid = d.q.add_silence([Matcher.parse("check=web")], d.now, d.now + HOUR, "a", "", d.now).id
    d.tick(3600 + 3599)
    assert [s.id for s in d.q.silences(d.now)] == [sid]
    d.tick(2)
    assert d.q.silences(d.now) == []
    assert d.q.take_changes().deleted_silences == (sid,)


def test_one_off_maintenance_window() -> None:
    window = Maintenance("db-move", (Matcher.parse("service=shop"),),
                         starts_at=T0, ends_at=T0 + 2 * HOUR)
    d = Driver([check("web", labels={"service": "shop"})], maintenance=[window])
    assert d.feed("web", "C") == []
    inc = d.q.snapshot(d.now)["web"].incident
    assert inc is not None
    assert inc.held == 'maintenance "db-move"'
    assert d.q.next_wakeup(d.now) == T0 + 2 * HOUR
    assert letters(d.tick((T0 + 2 * HOUR - d.now).total_seconds())) == "P"


def test_recurring_window_across_the_dst_change() -> None:
    """Sunday 01:00-04:00 Paris on 2026-03-29, when clocks jump from 02:00 to 03:00: the
    window ends at 04:00 CEST = 02:00 UTC, two real hours after it began."""
    paris = ZoneInfo("Europe/Paris")
    night = TimeInterval("sunday-night", paris, (Recurrence(
        times=(parse_time_range("01:00", "04:00"),), weekdays=(parse_weekdays("sunday"),)),))
    window = Maintenance("upgrades", (Matcher.parse("check=web"),), (night,))
    start = datetime(2026, 3, 29, 1, 30, tzinfo=paris)  # 00:30 UTC
    d = Driver([check("web")], maintenance=[window], start=start)
    assert d.feed("web", "C", step=0) == []
    end = datetime(2026, 3, 29, 2, 0, tzinfo=timezone.utc)
    assert d.q.next_wakeup(d.now) == end
    assert d.tick((end - d.now).total_seconds() - 1) == []
    assert letters(d.tick(1)) == "P"


def test_window_without_a_known_end_is_polled() -> None:
    class Forever:
        name = "forever"

        def covers(self, labels: object, now: datetime) -> bool:
            return True

        def next_change(self, now: datetime) -> datetime | None:
            return None

    d = Driver([check("web")], QualifySettings(maintenance_poll=120.0),
               maintenance=[Forever()])
    d.feed("web", "C")
    assert d.q.next_wakeup(d.now) == d.now + timedelta(seconds=120)
    assert letters(d.q.set_maintenance([], d.advance(1))) == "P"
