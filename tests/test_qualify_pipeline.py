"""The pipeline with the real router: results in, grouped notifications per receiver out."""

from __future__ import annotations

from datetime import datetime, timedelta

from monitord.config.alerting import AlertingConfig
from monitord.model import AlertEvent, EventKind
from monitord.qualify import Grouper, Qualifier, QualifySettings
from monitord.qualify.pipeline import Pipeline, Target
from monitord.route.matchers import Matcher
from monitord.route.routes import Route, Router
from tests.support.qualify import T0, check, result

ROUTER = Router(
    routes=(
        Route(0, ("ops-mail",), continue_=True, group_wait=30.0, group_interval=300.0,
              repeat_interval=3600.0),
        Route(1, ("oncall",), matchers=(Matcher.parse("severity=critical"),),
              group_by=("service",), group_wait=10.0, group_interval=60.0,
              repeat_interval=7200.0),
    ),
    alerting=AlertingConfig(default_receivers=("ops-mail",)),
)


def route(event: AlertEvent, now: datetime) -> tuple[Target, ...]:
    return ROUTER.decide(event.labels, now).targets


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_storm_through_routes_and_groups() -> None:
    checks = [check(f"shop{i}", labels={"service": "shop"}) for i in range(300)]
    checks += [check(f"blog{i}", labels={"service": "blog", "severity": "warning"})
               for i in range(200)]
    p = Pipeline(Qualifier(checks, QualifySettings(repeat_interval=3600.0)), Grouper(), route)
    for i, c in enumerate(checks):
        p.process(result(c.name, "C", at(i / 100)), at(i / 100))
    assert p.next_wakeup(at(5)) == at(10)  # oncall's group_wait
    oncall = p.take_batch(at(10))
    assert [(n.receiver, dict(n.group_labels), len(n.events)) for n in oncall.notifications] \
        == [("oncall", {"service": "shop"}, 300)]
    assert oncall.qualify  # the incidents are in the batch to save with the outbox rows
    [mail] = p.take_batch(at(30)).notifications
    assert (mail.receiver, len(mail.events)) == ("ops-mail", 500)
    # an hour later: the engine repeats; oncall's route repeats every 2 h only
    repeats = p.tick(at(3600)) + p.tick(at(3605))
    assert len(repeats) == 500
    assert {e.kind for e in repeats} == {EventKind.REPEAT}
    batch = p.take_batch(at(3600 + 300))
    assert [(n.receiver, len(n.events)) for n in batch.notifications] == [("ops-mail", 500)]


def test_acknowledge_goes_through_routing() -> None:
    p = Pipeline(Qualifier([check("shop", labels={"service": "shop"})]), Grouper(), route)
    [problem] = p.process(result("shop", "C", at(0)), at(0))
    p.take_batch(at(30))
    [ack] = p.acknowledge(problem.incident_id, "alice", "", at(40))
    assert ack.kind is EventKind.ACKNOWLEDGED
    notes = p.take_batch(at(400)).notifications
    assert sorted(n.receiver for n in notes) == ["oncall", "ops-mail"]
