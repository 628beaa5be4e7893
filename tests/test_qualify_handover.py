"""The morning hand-over and recoveries that reach whoever was told, across time intervals."""

from __future__ import annotations

import sqlite3
import textwrap
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

import pytest

from monitord import qualify_store as persist
from monitord.configfile import Config, load_config
from monitord.model import AlertEvent, EventKind, Notification
from monitord.qualify import Grouper, Qualifier, QualifySettings
from monitord.qualify.handover import HandOver
from monitord.qualify.pipeline import Pipeline
from monitord.route.routes import Router
from monitord.store import Store
from tests.support.qualify import check, result

PARIS_ROUTES = """
    [monitord]
    timezone = "Europe/Paris"
    [[time_interval]]
    name = "business-hours"
    weekdays = ["monday:friday"]
    times = [{ start = "09:00", end = "18:00" }]
    [[receiver]]
    name = "ops-mail"
    type = "webhook"
    url = "http://127.0.0.1:9/"
    [[receiver]]
    name = "oncall"
    type = "webhook"
    url = "http://127.0.0.1:9/"
    [alerting]
    default_receivers = ["ops-mail"]
    group_wait = "30s"
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

# Tuesday 2026-03-10, Paris is UTC+1: 03:00 local = 02:00 UTC; 09:00 local = 08:00 UTC.
NIGHT = datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc)
MORNING = datetime(2026, 3, 10, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(PARIS_ROUTES))
    return load_config(path)


def pipeline(config: Config, severity: str = "critical",
             handover: HandOver | None = None) -> Pipeline:
    router = Router(config.routes, config.alerting)

    def route(event: AlertEvent, now: datetime):  # type: ignore[no-untyped-def]
        return router.decide(event.labels, now).targets

    checks = [check("shop", labels={"severity": severity}, confirm=1)]
    return Pipeline(Qualifier(checks, QualifySettings()), Grouper(), route, handover)


def sent(p: Pipeline, now: datetime) -> list[tuple[str, str]]:
    notes: list[Notification] = list(p.take_batch(now).notifications)
    return sorted((n.receiver, e.kind.value) for n in notes for e in n.events)


def at(base: datetime, minutes: float) -> datetime:
    from datetime import timedelta

    return base + timedelta(minutes=minutes)


def test_night_page_then_morning_hand_over_then_recovery_to_both(config: Config) -> None:
    p = pipeline(config)
    p.process(result("shop", "C", NIGHT), NIGHT)
    assert sent(p, at(NIGHT, 1)) == [("oncall", "problem")]  # ops-mail's route is held
    p.hand_over(at(MORNING, -1))
    assert sent(p, at(MORNING, -0.5)) == []  # still outside business hours
    p.hand_over(MORNING)
    assert sent(p, at(MORNING, 1)) == [("ops-mail", "problem")]  # the hand-over
    p.hand_over(at(MORNING, 5))
    assert sent(p, at(MORNING, 6)) == []  # told once, not again
    p.process(result("shop", "O", at(MORNING, 60)), at(MORNING, 60))
    # oncall's route is muted in business hours, but it paged someone: it hears the recovery
    assert sent(p, at(MORNING, 61)) == [("oncall", "recovery"), ("ops-mail", "recovery")]


def test_problem_that_recovers_before_the_route_opens_reaches_nobody(config: Config) -> None:
    p = pipeline(config, severity="warning")  # warning: ops-mail only, in business hours
    p.process(result("shop", "W", NIGHT), NIGHT)
    assert sent(p, at(NIGHT, 1)) == []
    p.process(result("shop", "O", at(NIGHT, 30)), at(NIGHT, 30))
    p.hand_over(MORNING)
    assert sent(p, at(MORNING, 1)) == []


def test_repeat_to_a_receiver_never_told_is_a_problem(config: Config) -> None:
    p = pipeline(config, severity="warning")
    p.process(result("shop", "W", NIGHT), NIGHT)
    sent(p, at(NIGHT, 1))
    # no hand-over call (e.g. the daemon was down at 09:00): the first repeat in business
    # hours reaches ops-mail as a problem, not as a repeat of something it never saw
    p.tick(at(MORNING, 240))
    assert sent(p, at(MORNING, 241)) == [("ops-mail", "problem")]


async def test_hand_over_state_survives_a_restart(config: Config, tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "monitord.db")
    await persist.migrate(store)
    p = pipeline(config)
    p.process(result("shop", "C", NIGHT), NIGHT)
    batch = p.take_batch(at(NIGHT, 1))
    assert [n.receiver for n in batch.notifications] == ["oncall"]
    await store.transaction(partial(persist.write, batch=batch))

    def reload(conn: sqlite3.Connection) -> HandOver:
        return persist.load_handover(conn)

    handover = await store.call(reload)
    await store.close()
    assert handover.told(next(iter(handover.open_incidents()))) == {"oncall"}
    again = pipeline(config, handover=handover)
    again.hand_over(MORNING)
    notes = again.take_batch(at(MORNING, 1)).notifications
    assert [(n.receiver, n.events[0].kind) for n in notes] == [("ops-mail", EventKind.PROBLEM)]


def test_a_route_may_repeat_more_often_than_the_default(tmp_path: Path) -> None:
    from monitord.alerting import qualify_settings

    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(PARIS_ROUTES) + 'repeat_interval = "30m"\n')
    config = load_config(path)
    assert config.alerting.repeat_interval == 4 * 3600
    assert qualify_settings(config).repeat_interval == 1800
