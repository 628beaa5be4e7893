"""``monitord routes``: the explanation text and the exit statuses."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from monitord.cli import main
from monitord.config.schema import CheckConfig
from monitord.configfile import Config, load_config
from monitord.route.explain import cmd_routes

CONFIG = """
[monitord]
timezone = "Europe/Paris"

[[receiver]]
name = "ops-mail"
type = "webhook"
url = "http://127.0.0.1:9/ops"

[[receiver]]
name = "oncall"
type = "webhook"
url = "http://127.0.0.1:9/oncall"

[[time_interval]]
name = "business-hours"
weekdays = ["monday:friday"]
times = [{ start = "09:00", end = "18:00" }]
exclude_dates = ["2026-12-25"]

[[time_interval]]
name = "sunday-night"
weekdays = ["sunday"]
times = [{ start = "01:00", end = "05:00" }]

[[maintenance]]
name = "sunday-upgrades"
matchers = ["service=shop"]
time_intervals = ["sunday-night"]

[alerting]
default_receivers = ["ops-mail"]

[[route]]
matchers = ["severity=~critical|warning"]
receivers = ["ops-mail"]
active_time_intervals = ["business-hours"]
continue = true

[[route]]
name = "night"
matchers = ["severity=critical"]
receivers = ["oncall"]
mute_time_intervals = ["business-hours"]
group_by = ["service"]
group_wait = "10s"
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    return path


@pytest.fixture
def config(config_file: Path) -> Config:
    shop = CheckConfig(name="shop-fr", type="http", spec=None,  # type: ignore[arg-type]
                       labels={"service": "shop", "severity": "critical"})
    return dataclasses.replace(load_config(config_file), checks=(shop,))


def test_critical_at_night(config: Config) -> None:
    status, text = cmd_routes(config, "2026-03-30T22:00:00+02:00", [], "shop-fr")
    assert status == 0
    assert text == """\
alert {check="shop-fr", service="shop", severity="critical", type="http"}
at 2026-03-30T22:00:00+02:00 = Monday 2026-03-30 22:00 CEST (Europe/Paris)

route[1]: severity=~critical|warning: matched
  active_time_intervals business-hours: outside "business-hours": Monday 2026-03-30 22:00 \
CEST (Europe/Paris): not in times 09:00–18:00
  inactive: outside all its active_time_intervals: holds for ops-mail
  continue = true: the next route is tried
route "night": severity=critical: matched
  mute_time_intervals business-hours: outside "business-hours": Monday 2026-03-30 22:00 \
CEST (Europe/Paris): not in times 09:00–18:00
  not muted: delivers to oncall
  first match: stop here

deliver now: oncall (route[2], group_by [service], group_wait 10s, group_interval 5m, \
repeat_interval 4h)
held: ops-mail (route[1]) until 2026-03-31T09:00:00+02:00
maintenance: no window holds this alert now
"""


def test_warning_in_business_hours_given_in_utc(config: Config) -> None:
    status, text = cmd_routes(config, "2026-03-30T08:00:00Z", ["severity=warning"], "shop-fr")
    assert status == 0
    assert 'alert {check="shop-fr", service="shop", severity="warning", type="http"}' in text
    assert "at 2026-03-30T08:00:00+00:00 = Monday 2026-03-30 10:00 CEST" in text
    assert '  active by "business-hours": delivers to ops-mail' in text
    assert ('route "night": severity=critical: not matched (severity=critical fails: '
            'severity="warning")') in text
    assert "deliver now: ops-mail (route[1], group_by [], group_wait 30s" in text
    assert "held:" not in text


def test_unmatched_labels_go_to_the_default_receivers(config: Config) -> None:
    status, text = cmd_routes(config, "2026-12-25T10:00:00+01:00", ["team=dba"], None)
    assert status == 0
    assert "not matched (severity=~critical|warning fails: no severity label)" in text
    assert "no route matched: [alerting] default_receivers" in text
    assert "deliver now: ops-mail (default_receivers, " in text


def test_holidays_and_maintenance_are_explained(config: Config) -> None:
    _, christmas = cmd_routes(config, "2026-12-25T10:00:00+01:00", [], "shop-fr")
    assert "2026-12-25 is an excluded date" in christmas
    assert "held: ops-mail (route[1]) until 2026-12-28T09:00:00+01:00" in christmas
    _, sunday = cmd_routes(config, "2026-03-29T03:30:00+02:00", [], "shop-fr")
    assert ('maintenance "sunday-upgrades" is active: inside "sunday-night": Sunday '
            "2026-03-29 03:30 CEST (Europe/Paris) is in weekdays sunday; times 01:00–05:00 "
            "(this alert is held while it lasts)") in sunday


@pytest.mark.parametrize(("at", "labels", "check", "message"), [
    ("2026-03-30 22:00", ["a=b"], None, '--at: "2026-03-30 22:00" has no UTC offset'),
    ("monday", ["a=b"], None, "--at: expected an ISO 8601 date and time with an offset"),
    ("2026-03-30T22:00:00+02:00", ["severity"], None, "--label: expected NAME=VALUE"),
    ("2026-03-30T22:00:00+02:00", ["1x=b"], None, "--label: expected NAME=VALUE"),
    ("2026-03-30T22:00:00+02:00", [], "nope", '--check: no check named "nope"'),
])
def test_bad_input_exits_2(config: Config, at: str, labels: list[str], check: str | None,
                           message: str) -> None:
    status, text = cmd_routes(config, at, labels, check)
    assert status == 2
    assert message in text


def test_the_command_line(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["routes", "-c", str(config_file), "--at", "2026-03-30T22:00:00+02:00",
            "--label", "severity=critical", "--label", "service=shop"]
    assert main(argv) == 0
    assert "deliver now: oncall (route[2]" in capsys.readouterr().out
    assert main(["routes", "-c", str(config_file), "--at", "yesterday", "--label", "a=b"]) == 2
    assert "monitord routes: --at: expected an ISO 8601" in capsys.readouterr().err


def test_without_labels_the_default_route_is_explained(config: Config) -> None:
    status, text = cmd_routes(config, "2026-03-30T22:00:00+02:00", [], None)
    assert status == 0
    assert text.startswith("no --label or --check: explaining an alert without labels")
    assert "no route matched: [alerting] default_receivers" in text
