"""Time intervals: decision tables on fixed instants (no clock), DST days, other zones."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from monitord.config.reader import Problems, Table
from monitord.route.config import parse_time_interval
from monitord.route.timeintervals import (
    TimeInterval,
    parse_date_span,
    parse_days_of_month,
    parse_months,
    parse_time_range,
    parse_weekdays,
    parse_years,
)

PARIS = ZoneInfo("Europe/Paris")
UTC = timezone.utc


def interval(zone: str = "Europe/Paris", **fields: Any) -> TimeInterval:
    """A [[time_interval]] read through the config parser; fails on any config error."""
    problems = Problems("test.toml")
    parsed = parse_time_interval(
        Table(problems, "time_interval[0]", {"name": "t", "timezone": zone, **fields}), PARIS)
    assert not problems, problems.errors
    assert parsed is not None
    return parsed


def at(text: str) -> datetime:
    instant = datetime.fromisoformat(text)
    assert instant.tzinfo is not None
    return instant


BUSINESS = interval(weekdays=["monday:friday"], times=[{"start": "09:00", "end": "18:00"}],
                    exclude_dates=["2026-12-25", "2027-01-01"])


@pytest.mark.parametrize(("instant", "inside"), [
    ("2026-03-30T09:00:00+02:00", True),   # Monday 09:00 is included
    ("2026-03-30T08:59:59+02:00", False),
    ("2026-03-30T17:59:59+02:00", True),
    ("2026-03-30T18:00:00+02:00", False),  # 18:00 is excluded: [start, end)
    ("2026-04-03T12:00:00+02:00", True),   # Friday
    ("2026-03-28T12:00:00+01:00", False),  # Saturday
    ("2026-03-29T12:00:00+02:00", False),  # Sunday
    ("2026-12-24T10:00:00+01:00", True),
    ("2026-12-25T10:00:00+01:00", False),  # Christmas, a Friday: excluded all day
    ("2027-01-01T09:30:00+01:00", False),
    ("2027-01-04T09:30:00+01:00", True),
    # The same wall clock in UTC: 09:00 is 07:00Z in summer and 08:00Z in winter.
    ("2026-03-30T07:00:00+00:00", True),
    ("2026-03-30T06:59:00+00:00", False),
    ("2026-01-05T08:00:00+00:00", True),
    ("2026-01-05T07:30:00+00:00", False),
    ("2026-01-05T17:00:00+00:00", False),  # 18:00 CET
    # An instant written in New York's offset is judged on Paris's wall clock.
    ("2026-03-30T03:00:00-04:00", True),
    ("2026-03-30T02:59:00-04:00", False),
])
def test_business_hours(instant: str, inside: bool) -> None:
    assert BUSINESS.contains(at(instant)) is inside
    assert BUSINESS.explain(at(instant)).inside is inside


@pytest.mark.parametrize(("days", "day", "inside"), [
    (["-1"], "2028-02-29", True),    # leap February: the last day is the 29th
    (["-1"], "2028-02-28", False),
    (["-1"], "2026-02-28", True),    # common February: the 28th
    (["-1"], "2026-02-27", False),
    (["-1"], "2026-04-30", True),
    (["-1"], "2026-03-30", False),
    ([-1], "2026-03-31", True),      # TOML integers are accepted too
    (["-7:-1"], "2026-02-22", True),  # the last seven days
    (["-7:-1"], "2026-02-21", False),
    (["-7:-1"], "2028-02-23", True),
    (["-7:-1"], "2028-02-22", False),
    (["31"], "2026-04-30", False),   # no 31st in April, and no spill into May
    (["31"], "2026-05-01", False),
    (["31"], "2026-05-31", True),
    (["25:31"], "2026-02-28", True),  # a range past the month's end stops at it
    (["1:-1"], "2026-02-14", True),
    (["1", "15"], "2026-06-15", True),
    (["1", "15"], "2026-06-14", False),
])
def test_days_of_month(days: list[object], day: str, inside: bool) -> None:
    noon = datetime.fromisoformat(f"{day}T12:00:00").replace(tzinfo=PARIS)
    assert interval(days_of_month=days).contains(noon) is inside


@pytest.mark.parametrize(("fields", "instant", "inside"), [
    ({"months": ["january:march"]}, "2026-03-31T23:59:00+02:00", True),
    ({"months": ["january:march"]}, "2026-04-01T00:00:00+02:00", False),
    ({"months": ["january:march"]}, "2026-03-31T22:00:00+00:00", False),  # April in Paris
    ({"months": [12, "2"]}, "2026-02-10T10:00:00+01:00", True),
    ({"months": [12, "2"]}, "2026-01-10T10:00:00+01:00", False),
    ({"years": ["2027:2028"]}, "2026-12-31T23:30:00+01:00", False),
    ({"years": ["2027:2028"]}, "2026-12-31T23:30:00+00:00", True),  # already 2027 in Paris
    ({"weekdays": ["saturday", "sunday"]}, "2026-03-28T00:00:00+01:00", True),
    ({"weekdays": ["saturday", "sunday"]}, "2026-03-27T23:59:00+01:00", False),
    ({"weekdays": ["sunday"], "times": [{"start": "22:00", "end": "24:00"}]},
     "2026-03-29T23:59:59+02:00", True),   # "24:00" as an end covers the last minute
    ({"weekdays": ["sunday"], "times": [{"start": "22:00", "end": "24:00"}]},
     "2026-03-30T00:00:00+02:00", False),
    ({}, "2026-03-30T00:00:00+02:00", True),  # no field: always
])
def test_other_fields(fields: Mapping[str, Any], instant: str, inside: bool) -> None:
    assert interval(**fields).contains(at(instant)) is inside


# The last Sunday of March 2026 (29th): clocks jump from 02:00 CET to 03:00 CEST at 01:00Z.
SPRING = interval(months=["march"], weekdays=["sunday"], days_of_month=["-7:-1"],
                  times=[{"start": "02:00", "end": "03:00"}])
# The last Sunday of October 2026 (25th): 03:00 CEST falls back to 02:00 CET at 01:00Z.
AUTUMN = interval(months=["october"], weekdays=["sunday"], days_of_month=["-7:-1"],
                  times=[{"start": "01:00", "end": "04:00"}])


@pytest.mark.parametrize(("window", "instant", "inside"), [
    # Spring: the wall times 02:00–03:00 never happen on that day.
    (SPRING, "2026-03-29T00:59:59+00:00", False),  # 01:59:59 CET
    (SPRING, "2026-03-29T01:00:00+00:00", False),  # 03:00 CEST, right after the jump
    (SPRING, "2026-03-29T01:30:00+00:00", False),
    (SPRING, "2026-03-22T01:30:00+00:00", False),  # a week earlier: not the last Sunday
    # Autumn: 01:00–04:00 lasts four real hours, and both 02:30s are inside.
    (AUTUMN, "2026-10-24T22:59:00+00:00", False),  # 00:59 CEST
    (AUTUMN, "2026-10-24T23:00:00+00:00", True),   # 01:00 CEST
    (AUTUMN, "2026-10-25T00:30:00+00:00", True),   # 02:30 CEST, the first time
    (AUTUMN, "2026-10-25T01:30:00+00:00", True),   # 02:30 CET, the second time
    (AUTUMN, "2026-10-25T02:59:00+00:00", True),   # 03:59 CET
    (AUTUMN, "2026-10-25T03:00:00+00:00", False),  # 04:00 CET
])
def test_dst_days_in_paris(window: TimeInterval, instant: str, inside: bool) -> None:
    assert window.contains(at(instant)) is inside


def test_both_instants_of_the_repeated_hour_are_distinct_and_inside() -> None:
    first = datetime(2026, 10, 25, 2, 30, tzinfo=PARIS)              # fold=0: CEST
    second = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=PARIS)    # fold=1: CET
    assert second.astimezone(UTC) - first.astimezone(UTC) == timedelta(hours=1)
    assert AUTUMN.contains(first)
    assert AUTUMN.contains(second)
    assert AUTUMN.explain(second).local.tzname() == "CET"


@pytest.mark.parametrize(("zone", "instant", "inside"), [
    # New York moves to EDT on 2026-03-08, three weeks before Paris.
    ("America/New_York", "2026-03-06T13:59:00+00:00", False),  # 08:59 EST
    ("America/New_York", "2026-03-06T14:00:00+00:00", True),   # 09:00 EST
    ("America/New_York", "2026-03-09T13:00:00+00:00", True),   # 09:00 EDT
    ("America/New_York", "2026-03-09T12:59:00+00:00", False),
    ("America/New_York", "2026-03-09T21:00:00+00:00", False),  # 17:00 EDT
    # Tokyo has no DST and is ahead: Monday 09:00 JST is Sunday 24:00 UTC.
    ("Asia/Tokyo", "2026-03-30T00:00:00+00:00", True),
    ("Asia/Tokyo", "2026-03-29T23:59:00+00:00", False),
    ("Asia/Tokyo", "2026-07-31T07:59:00+00:00", True),   # Friday 16:59 JST
    ("Asia/Tokyo", "2026-07-31T08:00:00+00:00", False),
])
def test_other_zones(zone: str, instant: str, inside: bool) -> None:
    hours = interval(zone, weekdays=["monday:friday"],
                     times=[{"start": "09:00", "end": "17:00"}])
    assert hours.contains(at(instant)) is inside


@pytest.fixture
def machine_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run with the process's local zone set to ``request.param``, restored afterwards."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    try:
        yield request.param
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


@pytest.mark.parametrize("machine_zone", ["Pacific/Kiritimati", "America/Los_Angeles"],
                         indirect=True)
def test_the_machine_zone_plays_no_part(machine_zone: str) -> None:
    assert time.localtime(0).tm_zone != "CET"  # the process really runs in another zone
    assert BUSINESS.contains(at("2026-03-30T07:00:00+00:00"))
    assert not BUSINESS.contains(at("2026-03-30T16:00:00+00:00"))
    assert BUSINESS.next_change(at("2026-03-30T16:00:00+00:00")) == \
        at("2026-03-31T07:00:00+00:00")


@pytest.mark.parametrize(("window", "start", "change"), [
    (BUSINESS, "2026-04-03T17:00:00+02:00", "2026-04-03T18:00:00+02:00"),  # Friday evening
    (BUSINESS, "2026-04-03T18:00:00+02:00", "2026-04-06T09:00:00+02:00"),  # the weekend
    (BUSINESS, "2026-12-24T18:00:00+01:00", "2026-12-28T09:00:00+01:00"),  # holiday, weekend
    (BUSINESS, "2026-03-27T18:30:00+01:00", "2026-03-30T09:00:00+02:00"),  # across DST
    (BUSINESS, "2026-03-30T08:59:59+02:00", "2026-03-30T09:00:00+02:00"),
    (AUTUMN, "2026-10-24T22:00:00+00:00", "2026-10-24T23:00:00+00:00"),
    (AUTUMN, "2026-10-24T23:00:00+00:00", "2026-10-25T03:00:00+00:00"),  # four hours later
])
def test_next_change(window: TimeInterval, start: str, change: str) -> None:
    assert window.next_change(at(start)) == at(change)


def test_a_wall_time_that_never_happens_never_starts() -> None:
    # Every last Sunday of March skips 02:00–03:00 in Paris, so SPRING never holds.
    assert SPRING.next_change(at("2026-03-01T00:00:00+01:00")) is None


@pytest.mark.parametrize("window", [
    interval(times=[{"start": "02:00", "end": "03:00"}]),
    interval(times=[{"start": "01:00", "end": "02:30"}, {"start": "02:45", "end": "24:00"}]),
    interval(weekdays=["sunday"], times=[{"start": "00:00", "end": "02:30"}]),
    AUTUMN,
])
@pytest.mark.parametrize("start", ["2026-03-28T20:17:00+00:00", "2026-10-24T20:17:00+00:00"])
def test_next_change_agrees_with_a_minute_by_minute_scan(window: TimeInterval,
                                                         start: str) -> None:
    """Across both DST weekends, each flip found equals a brute-force scan's."""
    t = at(start)
    for _ in range(4):
        expected = _scan(window, t, timedelta(days=3))
        found = window.next_change(t, horizon=timedelta(days=3))
        assert found == expected
        if found is None:
            break
        t = found


def _scan(window: TimeInterval, t: datetime, span: timedelta) -> datetime | None:
    state = window.contains(t)
    probe = t.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while probe <= t + span:
        if window.contains(probe) != state:
            return probe
        probe += timedelta(minutes=1)
    return None


def test_next_change_is_none_when_nothing_changes() -> None:
    assert interval(years=["2020"]).next_change(at("2026-01-01T00:00:00+00:00")) is None
    assert interval().next_change(at("2026-01-01T00:00:00+00:00")) is None


def test_next_change_finds_a_change_months_away() -> None:
    december = interval(months=["december"])
    assert december.next_change(at("2026-01-15T00:00:00+00:00")) == \
        at("2026-12-01T00:00:00+01:00")


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        BUSINESS.contains(datetime(2026, 3, 30, 10, 0))


@pytest.mark.parametrize(("instant", "reason"), [
    ("2026-03-28T10:00:00+01:00",
     'outside "t": Saturday 2026-03-28 10:00 CET (Europe/Paris): not in weekdays monday:friday'),
    ("2026-03-30T19:00:00+02:00",
     'outside "t": Monday 2026-03-30 19:00 CEST (Europe/Paris): not in times 09:00–18:00'),
    ("2026-12-25T10:00:00+01:00",
     'outside "t": Friday 2026-12-25 10:00 CET (Europe/Paris): 2026-12-25 is an excluded date'),
    ("2026-03-30T10:00:00+02:00", 'inside "t": Monday 2026-03-30 10:00 CEST (Europe/Paris) '
     "is in weekdays monday:friday; times 09:00–18:00"),
])
def test_explanations_name_the_deciding_part(instant: str, reason: str) -> None:
    assert BUSINESS.explain(at(instant)).reason == reason


def test_alternative_ranges_are_ored_and_share_exclusions() -> None:
    hours = interval(exclude_dates=["2026-05-01"], range=[
        {"weekdays": ["monday:friday"], "times": [{"start": "09:00", "end": "18:00"}]},
        {"weekdays": ["saturday"], "times": [{"start": "09:00", "end": "12:00"}]},
    ])
    assert hours.contains(at("2026-04-04T11:59:00+02:00"))       # Saturday morning
    assert not hours.contains(at("2026-04-04T12:00:00+02:00"))
    assert hours.explain(at("2026-04-04T11:00:00+02:00")).recurrence == 1
    assert not hours.contains(at("2026-05-01T10:00:00+02:00"))   # excluded for every range
    assert "range[1] not in weekdays saturday" in hours.explain(
        at("2026-04-05T10:00:00+02:00")).reason


@pytest.mark.parametrize(("parse", "value", "message"), [
    (lambda v: parse_time_range(*v), ("22:00", "06:00"),
     'crosses midnight: split it into { start = "22:00", end = "24:00" } and'),
    (lambda v: parse_time_range(*v), ("09:00", "24:01"), 'up to "24:00"'),
    (lambda v: parse_time_range(*v), ("24:00", "24:00"), "only allowed as an end"),
    (lambda v: parse_time_range(*v), ("09:00", "09:00"), "is empty"),
    (lambda v: parse_time_range(*v), ("9:00", "18:00"), "expected a time of day"),
    (parse_weekdays, "friday:monday", '["friday:saturday", "sunday:monday"]'),
    (parse_weekdays, "saturday:sunday", '["saturday", "sunday"]'),
    (parse_weekdays, "funday", 'unknown weekday "funday"'),
    (parse_days_of_month, 0, "out of range"),
    (parse_days_of_month, "32", "out of range"),
    (parse_days_of_month, "10:5", "matches no day"),
    (parse_days_of_month, "-1:-7", "matches no day"),
    (parse_days_of_month, "first", "expected a day of the month"),
    (parse_months, "june:march", '["june:december", "january:march"]'),
    (parse_months, "13", 'unknown month "13"'),
    (parse_years, "2027:2026", "runs backwards"),
    (parse_years, "MMXXVI", "expected a year"),
    (parse_date_span, "2026-02-30", 'got "2026-02-30"'),
    (parse_date_span, "25/12/2026", "expected a date"),
    (parse_date_span, "2026-12-26:2026-12-24", "runs backwards"),
])
def test_validation_errors(parse: Any, value: Any, message: str) -> None:
    with pytest.raises(ValueError) as caught:  # noqa: PT011 - the message is checked below
        parse(value)
    assert message in str(caught.value)


def test_date_ranges_and_toml_dates() -> None:
    span = parse_date_span("2026-12-24:2026-12-26")
    assert date(2026, 12, 25) in span
    assert date(2026, 12, 27) not in span
    assert date(2026, 12, 25) in parse_date_span(date(2026, 12, 25))
    with pytest.raises(ValueError, match="not a date and time"):
        parse_date_span(datetime(2026, 12, 25, 10, 0))
