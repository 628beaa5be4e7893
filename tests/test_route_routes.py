"""Routes: first match, continue, active/mute intervals, defaults, grouping, hand-over."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitord.config.reader import Problems, Table
from monitord.route.config import RoutingSections, check_receiver_references, parse_routing
from monitord.route.routes import DEFAULT_ROUTE, Router

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PARIS = ZoneInfo("Europe/Paris")

# The contract's example: the ops team by email in business hours, critical alerts to the
# on-call service outside them.
CONTRACT = """
[[time_interval]]
name = "business-hours"
timezone = "Europe/Paris"
weekdays = ["monday:friday"]
times = [{ start = "09:00", end = "18:00" }]
exclude_dates = ["2026-12-25", "2027-01-01"]

[alerting]
default_receivers = ["ops-mail"]
group_wait = "30s"
group_interval = "5m"
repeat_interval = "4h"

[[route]]
matchers = ["severity=~critical|warning"]
receivers = ["ops-mail"]
active_time_intervals = ["business-hours"]
continue = true

[[route]]
matchers = ["severity=critical"]
receivers = ["oncall"]
mute_time_intervals = ["business-hours"]
"""


def routing(text: str) -> RoutingSections:
    problems = Problems("test.toml")
    sections = parse_routing(Table(problems, "", tomllib.loads(text)), PARIS)
    assert not problems, problems.errors
    return sections


def router(text: str) -> Router:
    sections = routing(text)
    return Router(sections.routes, sections.alerting)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


MONDAY_DAY = "2026-03-30T10:00:00+02:00"
MONDAY_NIGHT = "2026-03-30T22:00:00+02:00"
SATURDAY_DAY = "2026-03-28T10:00:00+01:00"
CHRISTMAS_DAY = "2026-12-25T10:00:00+01:00"


@pytest.mark.parametrize(("severity", "instant", "deliver", "held"), [
    ("critical", MONDAY_DAY, [("ops-mail", 0)], [("oncall", 1)]),
    ("critical", MONDAY_NIGHT, [("oncall", 1)], [("ops-mail", 0)]),
    ("critical", SATURDAY_DAY, [("oncall", 1)], [("ops-mail", 0)]),
    ("critical", CHRISTMAS_DAY, [("oncall", 1)], [("ops-mail", 0)]),
    ("warning", MONDAY_DAY, [("ops-mail", 0)], []),
    # A warning at night is taken by the first route and held for the morning: it does not
    # fall through to the default receivers.
    ("warning", MONDAY_NIGHT, [], [("ops-mail", 0)]),
    ("info", MONDAY_NIGHT, [("ops-mail", DEFAULT_ROUTE)], []),
    ("info", MONDAY_DAY, [("ops-mail", DEFAULT_ROUTE)], []),
])
def test_contract_example(severity: str, instant: str, deliver: list[tuple[str, int]],
                          held: list[tuple[str, int]]) -> None:
    decision = router(CONTRACT).decide({"severity": severity, "check": "shop-fr"}, at(instant))
    assert [(t.receiver, t.route) for t in decision.deliver] == deliver
    assert [(t.receiver, t.route) for t in decision.held] == held
    assert decision.default is (severity == "info")


def test_steps_explain_each_route_considered() -> None:
    decision = router(CONTRACT).decide({"severity": "warning"}, at(MONDAY_NIGHT))
    first, second = decision.steps
    assert first.matched
    assert first.timing is not None
    assert first.timing.inactive
    assert first.timing.active_by is None
    assert not first.timing.active_verdicts[0].inside
    assert not first.stopped  # continue = true
    assert not second.matched
    assert str(second.failed) == "severity=critical"

    decision = router(CONTRACT).decide({"severity": "critical"}, at(MONDAY_DAY))
    assert decision.steps[0].timing is not None
    assert decision.steps[0].timing.active_by == "business-hours"
    assert decision.steps[1].timing is not None
    assert decision.steps[1].timing.muted_by == "business-hours"
    assert decision.steps[1].stopped


FIRST_MATCH = """
[alerting]
default_receivers = ["fallback"]
group_by = ["service"]
group_wait = "1m"

[[route]]
name = "shop"
matchers = ["service=shop"]
receivers = ["shop-team", "ops-mail"]
group_by = ["check"]
group_wait = "0s"
repeat_interval = "1h"

[[route]]
matchers = ["severity=critical"]
receivers = ["oncall"]

[[route]]
matchers = ["env=test"]
receivers = []
"""


@pytest.mark.parametrize(("labels", "receivers", "routes_considered"), [
    ({"service": "shop", "severity": "critical"}, [("shop-team", 0), ("ops-mail", 0)], 1),
    ({"service": "dns", "severity": "critical"}, [("oncall", 1)], 2),
    ({"service": "dns", "severity": "warning"}, [("fallback", DEFAULT_ROUTE)], 3),
    ({"env": "test", "severity": "warning"}, [], 3),  # taken by a route without receivers
])
def test_first_match_wins(labels: dict[str, str], receivers: list[tuple[str, int]],
                          routes_considered: int) -> None:
    decision = router(FIRST_MATCH).decide(labels, at(MONDAY_DAY))
    assert [(t.receiver, t.route) for t in decision.targets] == receivers
    assert len(decision.steps) == routes_considered


def test_grouping_comes_from_the_route_or_from_alerting() -> None:
    shop = router(FIRST_MATCH).decide({"service": "shop"}, at(MONDAY_DAY)).targets[0]
    assert (shop.group_by, shop.group_wait, shop.group_interval, shop.repeat_interval) == \
        (("check",), 0.0, 300.0, 3600.0)
    oncall = router(FIRST_MATCH).decide({"severity": "critical"}, at(MONDAY_DAY)).targets[0]
    assert (oncall.group_by, oncall.group_wait, oncall.group_interval,
            oncall.repeat_interval) == (("service",), 60.0, 300.0, 14400.0)
    fallback = router(FIRST_MATCH).decide({}, at(MONDAY_DAY)).targets[0]
    assert (fallback.route, fallback.group_by, fallback.group_wait) == \
        (DEFAULT_ROUTE, ("service",), 60.0)


def test_no_route_at_all_sends_to_the_default_receivers() -> None:
    decision = router('[alerting]\ndefault_receivers = ["a", "b"]').decide({}, at(MONDAY_DAY))
    assert [t.receiver for t in decision.deliver] == ["a", "b"]
    assert decision.default


def test_several_intervals_are_ored() -> None:
    text = """
[[time_interval]]
name = "mornings"
times = [{ start = "08:00", end = "12:00" }]
[[time_interval]]
name = "evenings"
times = [{ start = "18:00", end = "22:00" }]
[[time_interval]]
name = "sundays"
weekdays = ["sunday"]
[[route]]
receivers = ["r"]
active_time_intervals = ["mornings", "evenings"]
mute_time_intervals = ["sundays"]
"""
    route = router(text)
    assert route.deliverable(0, "r", at("2026-03-30T09:00:00+02:00"))
    assert route.deliverable(0, "r", at("2026-03-30T19:00:00+02:00"))
    assert not route.deliverable(0, "r", at("2026-03-30T13:00:00+02:00"))
    assert not route.deliverable(0, "r", at("2026-03-29T09:00:00+02:00"))  # Sunday: muted
    timing = route.routes[0].timing(at("2026-03-30T19:00:00+02:00"))
    assert timing.active_by == "evenings"


@pytest.mark.parametrize(("route", "receiver", "instant", "expected"), [
    (0, "ops-mail", MONDAY_DAY, True),
    (0, "ops-mail", MONDAY_NIGHT, False),
    (1, "oncall", MONDAY_DAY, False),
    (1, "oncall", MONDAY_NIGHT, True),
    (DEFAULT_ROUTE, "ops-mail", MONDAY_NIGHT, True),
    (DEFAULT_ROUTE, "oncall", MONDAY_NIGHT, False),  # not a default receiver
    (1, "ops-mail", MONDAY_NIGHT, False),            # not a receiver of that route
    (7, "oncall", MONDAY_NIGHT, False),              # no such route (after a reload)
])
def test_deliverable_pairs(route: int, receiver: str, instant: str, expected: bool) -> None:
    assert router(CONTRACT).deliverable(route, receiver, at(instant)) is expected


@pytest.mark.parametrize(("instant", "wake"), [
    (MONDAY_NIGHT, "2026-03-31T09:00:00+02:00"),   # the morning hand-over
    (MONDAY_DAY, "2026-03-30T18:00:00+02:00"),
    ("2026-12-24T20:00:00+01:00", "2026-12-28T09:00:00+01:00"),
])
def test_the_router_says_when_to_wake_up(instant: str, wake: str) -> None:
    assert router(CONTRACT).next_change(at(instant)) == at(wake)


def test_a_held_route_knows_when_it_delivers() -> None:
    routes = router(CONTRACT).routes
    assert routes[0].next_deliverable(at(MONDAY_NIGHT)) == at("2026-03-31T09:00:00+02:00")
    assert routes[0].next_deliverable(at(MONDAY_DAY)) == at(MONDAY_DAY)
    assert routes[1].next_deliverable(at(MONDAY_DAY)) == at("2026-03-30T18:00:00+02:00")


def test_maintenance_windows() -> None:
    sections = routing("""
[[time_interval]]
name = "sunday-night"
weekdays = ["sunday"]
times = [{ start = "01:00", end = "05:00" }]

[[maintenance]]
name = "sunday-upgrades"
matchers = ["service=shop"]
time_intervals = ["sunday-night"]

[[maintenance]]
name = "router-swap"
matchers = []
starts_at = 2026-05-12T22:00:00+02:00
ends_at = "2026-05-12T23:30:00+02:00"

[[maintenance]]
name = "migration-week-nights"
matchers = ["service=db"]
time_intervals = ["sunday-night"]
starts_at = "2026-06-01T00:00:00Z"
ends_at = "2026-06-15T00:00:00Z"
""")
    weekly, once, bounded = sections.maintenance
    sunday_night = at("2026-03-29T02:00:00+02:00")
    assert weekly.covers({"service": "shop"}, sunday_night)
    assert not weekly.covers({"service": "dns"}, sunday_night)
    assert not weekly.covers({"service": "shop"}, at(MONDAY_NIGHT))
    assert weekly.next_change(at(MONDAY_NIGHT)) == at("2026-04-05T01:00:00+02:00")
    assert once.covers({"anything": "x"}, at("2026-05-12T22:00:00+02:00"))
    assert not once.covers({}, at("2026-05-12T23:30:00+02:00"))
    assert once.next_change(at("2026-05-01T00:00:00+00:00")) == at("2026-05-12T20:00:00+00:00")
    assert once.next_change(at("2026-05-13T00:00:00+00:00")) is None
    assert not bounded.active(at("2026-05-31T02:00:00+02:00"))  # a Sunday night, too early
    assert bounded.active(at("2026-06-07T02:00:00+02:00"))
    assert bounded.next_change(at("2026-05-20T00:00:00+00:00")) == \
        at("2026-06-07T01:00:00+02:00")
    assert "is active" in bounded.explain(at("2026-06-07T02:00:00+02:00"))


def documented_example() -> str:
    """The TOML of "A complete example" in docs/routing.md, so the docs cannot rot."""
    doc = (Path(__file__).parent.parent / "docs" / "routing.md").read_text(encoding="utf-8")
    section = doc.split("## A complete example", 1)[1]
    return section.split("```toml\n", 1)[1].split("```", 1)[0]


@pytest.mark.parametrize(("severity", "instant", "deliver", "held"), [
    ("critical", "2026-05-13T10:00:00+02:00", ["ops-mail"], ["oncall"]),   # a Wednesday
    ("critical", "2026-05-14T10:00:00+02:00", ["oncall"], ["ops-mail"]),   # Ascension
    ("critical", "2027-03-29T10:00:00+02:00", ["oncall"], ["ops-mail"]),   # Easter Monday
    ("critical", "2026-07-14T17:59:00+02:00", ["oncall"], ["ops-mail"]),   # Bastille Day
    ("critical", "2026-07-15T17:59:00+02:00", ["ops-mail"], ["oncall"]),
    ("warning", "2026-07-15T18:00:00+02:00", [], ["ops-mail"]),
    ("warning", "2026-11-02T09:00:00+01:00", ["ops-mail"], []),             # after All Saints
    ("info", "2026-11-01T03:00:00+01:00", ["ops-mail"], []),                # default receivers
])
def test_the_documented_example(severity: str, instant: str, deliver: list[str],
                                held: list[str]) -> None:
    problems = Problems("config.toml")
    sections = parse_routing(Table(problems, "", tomllib.loads(documented_example())), PARIS)
    check_receiver_references(sections.alerting, sections.routes, ["ops-mail", "oncall"],
                              problems)
    assert not problems, problems.errors
    decision = Router(sections.routes, sections.alerting).decide(
        {"severity": severity, "check": "shop-fr"}, at(instant))
    assert [t.receiver for t in decision.deliver] == deliver
    assert [t.receiver for t in decision.held] == held


def test_a_held_route_still_takes_the_alert() -> None:
    """As in Alertmanager: an inactive route that matches stops the search (no continue)."""
    decision = router(CONTRACT.split("[[route]]")[0] + """
[[route]]
matchers = ["service=shop"]
receivers = ["shop-team"]
active_time_intervals = ["business-hours"]

[[route]]
matchers = ["severity=critical"]
receivers = ["oncall"]
""").decide({"service": "shop", "severity": "critical"}, at(MONDAY_NIGHT))
    assert [(t.receiver, t.deliverable) for t in decision.targets] == [("shop-team", False)]
    assert len(decision.steps) == 1
    assert decision.steps[0].stopped
    assert not decision.default
