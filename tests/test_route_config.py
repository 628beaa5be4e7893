"""Errors in [alerting], [[time_interval]], [[route]] and [[maintenance]], each with its path."""

from __future__ import annotations

import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitord.config.alerting import AlertingConfig
from monitord.config.reader import ConfigInvalid, Problems, Table
from monitord.configfile import load_config
from monitord.route.config import parse_routing

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

HOURS = """
[[time_interval]]
name = "business-hours"
weekdays = ["monday:friday"]
times = [{ start = "09:00", end = "18:00" }]
"""


def errors(text: str) -> list[str]:
    problems = Problems("c.toml")
    root = Table(problems, "", tomllib.loads(text))
    parse_routing(root, ZoneInfo("Europe/Paris"))
    root.finish()
    return [str(e) for e in problems.errors]


@pytest.mark.parametrize(("text", "expected"), [
    ('[[time_interval]]\nname = "night"\ntimes = [{ start = "22:00", end = "06:00" }]',
     'c.toml: time_interval "night".times[1]: 22:00–06:00 crosses midnight: split it into '
     '{ start = "22:00", end = "24:00" } and { start = "00:00", end = "06:00" }'),
    ('[[time_interval]]\nname = "x"\ntimes = [{ start = "09:00", end = "24:01" }]',
     'c.toml: time_interval "x".times[1]: end: expected a time of day up to "24:00", '
     'got "24:01"'),
    ('[[time_interval]]\nname = "x"\ntimes = [{ start = "09:00" }]',
     'c.toml: time_interval "x".times[1]: end: required, like "09:00"'),
    ('[[time_interval]]\nname = "x"\ntimes = [{ start = "09:00", stop = "10:00", end = "11:00" }]',
     'c.toml: time_interval "x".times[1]: stop: unknown key'),
    ('[[time_interval]]\nname = "x"\nweekdays = ["friday:monday"]',
     'c.toml: time_interval "x": weekdays: weekday range "friday:monday" runs backwards: as '
     'in Alertmanager the week runs from sunday to saturday, so split it: '
     '["friday:saturday", "sunday:monday"]'),
    ('[[time_interval]]\nname = "x"\nweekday = ["monday"]',
     'c.toml: time_interval "x": weekday: unknown key (did you mean "weekdays"?)'),
    ('[[time_interval]]\nname = "x"\nweekdays = []',
     'c.toml: time_interval "x": weekdays: empty: leave the key out to match every value'),
    ('[[time_interval]]\nname = "x"\ntimezone = "Europe/Pariss"',
     'c.toml: time_interval "x": timezone: unknown time zone "Europe/Pariss" (expected an '
     'IANA name like "Europe/Paris")'),
    ('[[time_interval]]\nname = "x"\nexclude_dates = ["2026-02-30"]',
     'c.toml: time_interval "x": exclude_dates: expected a date like "2026-12-25" (or a '
     'range "2026-12-24:2026-12-26"), got "2026-02-30"'),
    ('[[time_interval]]\nname = "x"\nexclude_dates = [20261225]',
     'c.toml: time_interval "x": exclude_dates: expected a date like "2026-12-25", '
     "got 20261225"),
    ('[[time_interval]]\nname = "x"\ndays_of_month = [0]',
     'c.toml: time_interval "x": days_of_month: day of the month 0 in "0" is out of range '
     "(1 to 31, or -1 to -31 counting from the month's end)"),
    ('[[time_interval]]\nname = "x"\nmonths = ["november:february"]',
     'c.toml: time_interval "x": months: month range "november:february" runs backwards '
     '(february is before november): a range cannot wrap around the new year, split it: '
     '["november:december", "january:february"]'),
    ('[[time_interval]]\nname = "x"\nyears = [true]',
     'c.toml: time_interval "x": years: expected a number or a range like "1:5", got true'),
    ('[[time_interval]]\nname = "x"\nweekdays = ["monday"]\n[[time_interval.range]]\n'
     'weekdays = ["sunday"]',
     'c.toml: time_interval "x": range: give the fields (weekdays) directly or in '
     "[[time_interval.range]] tables, not both"),
    ('[[time_interval]]\nname = "x"\n[[time_interval.range]]\nweekdays = ["someday"]',
     'c.toml: time_interval "x".range[1]: weekdays: unknown weekday "someday" in "someday" '
     '(expected sunday, monday, …, saturday, or a range like "monday:friday")'),
    (HOURS + HOURS, 'c.toml: time_interval "business-hours": name: duplicate time interval '
                    "name (first used by time_interval[1])"),
    ('[[time_interval]]\nweekdays = ["monday"]', "c.toml: time_interval[1]: name: required"),
    (HOURS + '[[route]]\nreceivers = ["a"]\nactive_time_intervals = ["buisness-hours"]',
     'c.toml: route[1]: active_time_intervals: no time interval named "buisness-hours" '
     '(did you mean "business-hours"?)'),
    (HOURS + '[[route]]\nname = "n"\nreceivers = ["a"]\nmute_time_intervals = ["nights"]',
     'c.toml: route "n": mute_time_intervals: no time interval named "nights"'),
    (HOURS + '[[route]]\nreceivers = ["a"]\nactive_time_intervals = ["business-hours"]\n'
             'mute_time_intervals = ["business-hours"]',
     'c.toml: route[1]: mute_time_intervals: "business-hours" is also an '
     "active_time_interval: the route would never deliver"),
    ('[[route]]\nmatchers = ["severity"]\nreceivers = ["a"]',
     'c.toml: route[1]: matchers: expected a matcher like "severity=critical" (operators =, '
     '!=, =~, !~), got "severity"'),
    ('[[route]]\nmatchers = "severity=critical"\nreceivers = ["a"]',
     'c.toml: route[1]: matchers: expected an array of strings like ["a", "b"], '
     'got "severity=critical"'),
    ('[[route]]\nrecievers = ["a"]',
     'c.toml: route[1]: recievers: unknown key (did you mean "receivers"?)'),
    ('[[route]]\nmatchers = []',
     "c.toml: route[1]: receivers: required (an empty array [] deliberately drops the alerts "
     "this route takes)"),
    ('[[route]]\nreceivers = ["a"]\ngroup_wait = 30',
     'c.toml: route[1]: group_wait: expected a duration like "10s", got 30'),
    ('[[route]]\nreceivers = ["a"]\ngroup_by = ["service", "1x"]',
     'c.toml: route[1]: group_by: "1x" is not a label name (letters, digits and _, not '
     "starting with a digit)"),
    ('[[route]]\nreceivers = ["a"]\ncontinue = "yes"',
     'c.toml: route[1]: continue: expected true or false, got "yes"'),
    ('[[maintenance]]\nname = "m"\nmatchers = ["service=shop"]',
     'c.toml: maintenance "m": time_intervals: required (or starts_at / ends_at): a window '
     "without a time would hold its alerts forever"),
    ('[[maintenance]]\nname = "m"\ntime_intervals = ["sunday-night"]\nmatchers = []',
     'c.toml: maintenance "m": time_intervals: no time interval named "sunday-night"'),
    ('[[maintenance]]\nname = "m"\nstarts_at = "2026-05-12T22:00:00+02:00"',
     'c.toml: maintenance "m": matchers: required (an empty array [] matches every alert)'),
    ('[[maintenance]]\nname = "m"\nmatchers = []\nstarts_at = 2026-05-12T22:00:00',
     'c.toml: maintenance "m": starts_at: 2026-05-12T22:00:00 has no UTC offset: add one, '
     "like +02:00 or Z"),
    ('[[maintenance]]\nname = "m"\nmatchers = []\nstarts_at = "tomorrow"',
     'c.toml: maintenance "m": starts_at: expected an ISO 8601 date and time with an offset '
     'like "2026-03-30T09:00:00+02:00", got "tomorrow"'),
    ('[[maintenance]]\nname = "m"\nmatchers = []\nstarts_at = "2026-05-12T22:00:00Z"\n'
     'ends_at = "2026-05-12T21:00:00Z"',
     'c.toml: maintenance "m": ends_at: must come after starts_at'),
    ('[[maintenance]]\nname = "m"\nmatchers = []\nends_at = "2026-05-12T21:00:00Z"\n'
     '[[maintenance]]\nname = "m"\nmatchers = []\nends_at = "2026-05-12T21:00:00Z"',
     'c.toml: maintenance "m": name: duplicate maintenance name (first used by '
     "maintenance[1])"),
    ("[alerting]\nflap_low = 30.0\nflap_high = 20.0",
     "c.toml: alerting: flap_high: must be above flap_low (30), got 20"),
    ("[alerting]\nflap_high = 120.0",
     "c.toml: alerting: flap_high: expected a number between 0.0 and 100.0, got 120.0"),
    ('[alerting]\nrepeat_interval = "0s"',
     'c.toml: alerting: repeat_interval: expected a duration above zero, got "0s"'),
    ('[alerting]\nmax_delivery_age = "a day"',
     'c.toml: alerting: max_delivery_age: expected a duration like "10s", got "a day"'),
    ('[alerting]\ndefault_receiver = ["a"]',
     'c.toml: alerting: default_receiver: unknown key (did you mean "default_receivers"?)'),
])
def test_errors_name_their_path(text: str, expected: str) -> None:
    assert expected in errors(text)


def test_every_error_is_reported_together() -> None:
    found = errors('[[time_interval]]\nname = "x"\nweekdays = ["friday:monday"]\n'
                   'times = [{ start = "22:00", end = "06:00" }]\n'
                   '[[route]]\nreceivers = ["a"]\nactive_time_intervals = ["y"]\n'
                   '[alerting]\ngroup_wait = 30\n')
    assert len(found) == 4, found


def test_alerting_defaults() -> None:
    problems = Problems("c.toml")
    sections = parse_routing(Table(problems, "", {}), ZoneInfo("UTC"))
    assert not problems
    assert sections.alerting == AlertingConfig()
    assert (sections.alerting.group_wait, sections.alerting.group_interval,
            sections.alerting.repeat_interval, sections.alerting.group_by,
            sections.alerting.send_resolved, sections.alerting.flap_low,
            sections.alerting.flap_high, sections.alerting.max_delivery_age,
            sections.alerting.receiver_alert_after) == \
        (30.0, 300.0, 14400.0, (), True, 20.0, 30.0, 86400.0, 600.0)


def test_intervals_default_to_the_monitord_zone() -> None:
    problems = Problems("c.toml")
    sections = parse_routing(Table(problems, "", tomllib.loads(HOURS)), ZoneInfo("Asia/Tokyo"))
    assert not problems
    assert sections.time_intervals["business-hours"].zone.key == "Asia/Tokyo"


RECEIVERS = """
[monitord]
timezone = "Europe/Paris"

[[receiver]]
name = "ops-hook"
type = "webhook"
url = "http://127.0.0.1:9/ops"

[[receiver]]
name = "oncall"
type = "webhook"
url = "http://127.0.0.1:9/oncall"
"""


@pytest.mark.parametrize(("text", "expected"), [
    ('[alerting]\ndefault_receivers = ["ops-hok"]\n',
     'alerting: default_receivers: no receiver named "ops-hok" (did you mean "ops-hook"?)'),
    ('[alerting]\ngroup_wait = "10s"\n',
     "alerting: default_receivers: required (alerts that no route matches go there)"),
    ('[alerting]\ndefault_receivers = ["ops-hook"]\n[[route]]\nname = "night"\n'
     'receivers = ["on-call"]\n',
     'route "night": receivers: no receiver named "on-call" (did you mean "oncall"?)'),
])
def test_receiver_names_are_checked_by_the_loader(tmp_path: Path, text: str,
                                                  expected: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(RECEIVERS + text)
    with pytest.raises(ConfigInvalid) as caught:
        load_config(path)
    assert [f"{e.file}: {e.path}: {e.message}" for e in caught.value.errors] == \
        [f"{path}: {expected}"]
    assert all(e.line for e in caught.value.errors if e.path.startswith("route"))


def test_the_loader_exposes_the_sections(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(RECEIVERS + HOURS + """
[alerting]
default_receivers = ["ops-hook"]
repeat_interval = "2h"
[[route]]
matchers = ["severity=critical"]
receivers = ["oncall"]
mute_time_intervals = ["business-hours"]
[[maintenance]]
name = "always-test"
matchers = ["env=test"]
starts_at = 2026-01-01T00:00:00Z
""")
    config = load_config(path)
    assert config.alerting.repeat_interval == 7200.0
    assert config.routes[0].repeat_interval == 7200.0
    assert config.routes[0].mute_time_intervals[0] is config.time_intervals["business-hours"]
    assert config.time_intervals["business-hours"].zone.key == "Europe/Paris"
    assert config.maintenance[0].name == "always-test"
