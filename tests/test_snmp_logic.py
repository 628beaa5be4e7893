"""SNMP decisions without an agent: config keys, reboot detection, interfaces, thresholds,
rates. Decision tables over plain values; the agent tests are in test_check_snmp.py."""

from __future__ import annotations

import re
from typing import Any

import pytest

from monitord.config.reader import Problems, SecretRef, Table
from monitord.model import Phase, Status
from monitord.snmp import interfaces, oids, rate, thresholds
from monitord.snmp.spec import CommunityAuth, SnmpSpec, UsmAuth, parse
from monitord.snmp.uptime import Change, UptimeSample, compare, describe
from monitord.snmp.values import Absent

WRAP = 2**32


def parsed(**keys: Any) -> tuple[SnmpSpec, list[str]]:
    problems = Problems("config.toml")
    table = Table(problems, 'check "r1"', {"host": "192.0.2.1", **keys})
    spec = parse(table)
    table.finish()
    return spec, [f"{e.path}: {e.message}" for e in problems.errors]


# -- config -----------------------------------------------------------------------------


def test_v2c_defaults() -> None:
    spec, errors = parsed(community_file="/etc/monitord/community")
    assert errors == []
    assert spec.auth == CommunityAuth(SecretRef(file="/etc/monitord/community"))
    assert (spec.port, spec.version, spec.mode, spec.retries, spec.target) == (
        161, "2c", "interfaces", 1, "192.0.2.1")


def test_v3_auth_priv() -> None:
    spec, errors = parsed(version="3", user="monitor", auth_protocol="SHA-256",
                          auth_key_file="/k/auth", priv_protocol="AES-256",
                          priv_key_env="SNMP_PRIV", mode="uptime")
    assert errors == []
    assert isinstance(spec.auth, UsmAuth)
    assert spec.auth.level == "authPriv"
    assert spec.auth.priv_key == SecretRef(env="SNMP_PRIV")


@pytest.mark.parametrize(
    ("keys", "error"),
    [
        ({}, "community_file: required (or community_env)"),
        ({"community": "public"}, "community: secrets are never written in the config"),
        ({"community_env": "C", "user": "x"}, 'user: only used with version = "3"'),
        ({"version": "3", "community_env": "C", "user": "u"},
         'community_env: only used with version = "2c"'),
        ({"version": "3"}, 'user: required with version = "3"'),
        ({"version": "3", "user": "u", "priv_key_file": "/p"},
         "priv_key_file: privacy needs authentication"),
        ({"version": "3", "user": "u", "auth_protocol": "SHA1"}, "auth_protocol: expected one of"),
        ({"version": "1", "community_env": "C"}, "version: expected one of 2c, 3"),
        ({"community_env": "C", "mode": "oid"}, "oid: required with mode = oid"),
        ({"community_env": "C", "mode": "oid", "oid": "sysUpTime.0", "warn": 1},
         "oid: expected a numeric OID"),
        ({"community_env": "C", "mode": "oid", "oid": "1.3.6.1.2.1.1.5.0"},
         "oid: give warn/crit thresholds or expect"),
        ({"community_env": "C", "include": ["ge-.*"], "mode": "uptime"},
         "include: only used with mode = interfaces or rate"),
        ({"community_env": "C", "mode": "rate", "crit": 150}, "crit: expected a percentage"),
        ({"community_env": "C", "mode": "oid", "oid": "1.3.6.1", "warn": 90, "crit": 80},
         "warn: expected warn at or below crit"),
        ({"community_env": "C", "include": ["ge-(.*"]}, "include: invalid regular expression"),
        ({"community_env": "C", "port": 0}, "port: expected an integer from 1 to 65535"),
        ({"community_env": "C", "comunity_env": "C"}, 'did you mean "community_env"'),
        ({"host": "not a host!", "community_env": "C"}, "host: expected a host name"),
    ],
)
def test_config_errors(keys: dict[str, Any], error: str) -> None:
    _, errors = parsed(**keys)
    assert any(error in e for e in errors), errors


def test_oid_mode_with_leading_dot_and_below() -> None:
    spec, errors = parsed(community_env="C", mode="oid", oid=".1.3.6.1.4.1.2021.4.6.0",
                          warn=100000, crit=50000, direction="below", label="free memory")
    assert errors == []
    assert (spec.oid, spec.below) == ("1.3.6.1.4.1.2021.4.6.0", True)


# -- reboot detection -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "elapsed", "change"),
    [
        (None, 100, 60, Change.FIRST),
        (100_000, 106_000, 60, Change.STEADY),  # advanced exactly with the clock
        (100_000, 105_000, 60, Change.STEADY),  # 10 s behind: polling jitter
        (100_000, 500, 60, Change.REBOOTED),  # went back
        (100_000, 5_000, 3600, Change.REBOOTED),  # rebooted ~59 minutes ago
        (100_000, 200_000, 3600, Change.REBOOTED),  # grew, but by far less than an hour
        (WRAP - 3000, 3000, 60, Change.WRAPPED),  # 2^32 ticks: 497 days, not a reboot
        (WRAP - 3000, 2500, 60, Change.WRAPPED),
        (WRAP - 100_000, 500, 60, Change.REBOOTED),  # far from the wrap point
        (WRAP - 3000, 3000, 7200, Change.REBOOTED),  # wrapped, but should be near 717,000
    ],
)
def test_sysuptime_decision(before: int | None, after: int, elapsed: float,
                            change: Change) -> None:
    previous = None if before is None else UptimeSample(1000.0, before)
    assert compare(previous, UptimeSample(1000.0 + elapsed, after)) is change


@pytest.mark.parametrize(
    ("before", "after", "change"),
    [
        ((100_000, 7), (106_000, 7), Change.STEADY),
        ((100_000, 7), (500, 8), Change.REBOOTED),
        ((100_000, 7), (900_000, 8), Change.REBOOTED),  # boots settle it, whatever the ticks
        ((WRAP - 10, 7), (6_000, 7), Change.WRAPPED),  # same boot: only the wrap goes back
        ((100_000, 7), (106_000, 1), Change.REBOOTED),  # agent lost its persistent state
    ],
)
def test_engine_boots_decision(before: tuple[int, int], after: tuple[int, int],
                               change: Change) -> None:
    previous = UptimeSample(0.0, before[0], before[1])
    assert compare(previous, UptimeSample(60.0, after[0], after[1])) is change


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (59, "59s"), (61, "1m1s"), (3600 * 5 + 7, "5h7s"), (86400 * 12 + 3600 * 3, "12d3h"),
     (86400 * 497 + 60, "497d1m")],
)
def test_uptime_text(seconds: float, text: str) -> None:
    assert describe(seconds) == text


# -- interfaces -------------------------------------------------------------------------


def columns(rows: list[tuple[str, str, int, int]]) -> dict[str, dict[str, Any]]:
    """(name, alias, admin, oper) per ifIndex 1..n."""
    table: dict[str, dict[str, Any]] = {c: {} for c in interfaces.COLUMNS}
    for index, (name, alias, admin, oper) in enumerate(rows, start=1):
        key = str(index)
        table[oids.IF_NAME][key] = name
        table[oids.IF_DESCR][key] = f"descr {name}"
        table[oids.IF_ALIAS][key] = alias
        table[oids.IF_ADMIN_STATUS][key] = admin
        table[oids.IF_OPER_STATUS][key] = oper
    return table


PORTS = [("ge-0/0/0", "uplink isp-a", 1, 1), ("ge-0/0/1", "uplink isp-b", 1, 2),
         ("ge-0/0/2", "", 2, 2), ("lo0", "", 1, 1), ("ge-0/0/3", "spare", 1, 7)]


@pytest.mark.parametrize(
    ("include", "exclude", "status", "summary"),
    [
        ((), (), Status.CRITICAL,
         '2 of 4 interfaces down: ge-0/0/1 (down) "uplink isp-b", ge-0/0/3 (lowerLayerDown) '
         '"spare" (1 administratively down, ignored)'),
        (("ge-.*",), ("spare",), Status.CRITICAL, '1 of 2 interfaces down: ge-0/0/1 (down)'),
        (("lo0", "ge-0/0/0"), (), Status.OK, "2 interfaces up"),
        ((), (".*isp-b", "ge-0/0/3"), Status.OK, "2 interfaces up (1 administratively down"),
        (("ge-0/0/2",), (), Status.OK, "0 interfaces up (1 administratively down, ignored)"),
        (("xe-.*",), (), Status.CRITICAL, "no interface matches include/exclude (5 on the device)"),
        (("descr lo0",), (), Status.OK, "1 interfaces up"),  # ifDescr is matched too
        (("ge-0",), (), Status.CRITICAL, "no interface matches"),  # anchored: no prefix match
    ],
)
def test_interfaces_decision(include: tuple[str, ...], exclude: tuple[str, ...],
                             status: Status, summary: str) -> None:
    found = interfaces.interfaces_from(columns(PORTS))
    outcome = interfaces.evaluate(found, [re.compile(p) for p in include],
                                  [re.compile(p) for p in exclude])
    assert outcome.status is status
    assert outcome.summary.startswith(summary), outcome.summary


def test_interfaces_summary_is_bounded_and_ordered_by_index() -> None:
    rows = [(f"ge-0/0/{i}", "", 1, 2) for i in range(12)]
    table = columns(rows)
    outcome = interfaces.evaluate(interfaces.interfaces_from(table), [], [])
    assert outcome.summary == ("12 of 12 interfaces down: ge-0/0/0 (down), ge-0/0/1 (down), "
                               "ge-0/0/2 (down), ge-0/0/3 (down), ge-0/0/4 (down) and 7 more")
    assert outcome.phase is Phase.SNMP
    assert outcome.metrics["interfaces_down"] == 12


def test_no_interfaces_is_missing_content() -> None:
    outcome = interfaces.evaluate([], [], [])
    assert (outcome.status, outcome.phase) == (Status.CRITICAL, Phase.CONTENT)


def test_name_falls_back_to_descr() -> None:
    table = columns([("ge-0/0/0", "", 1, 1)])
    table[oids.IF_NAME] = {}
    assert interfaces.interfaces_from(table)[0].name == "descr ge-0/0/0"


# -- oid thresholds ---------------------------------------------------------------------


def oid_spec(**keys: Any) -> SnmpSpec:
    spec, errors = parsed(community_env="C", mode="oid", oid="1.3.6.1.4.1.99999.1.0", **keys)
    assert errors == []
    return spec


@pytest.mark.parametrize(
    ("keys", "value", "status", "summary"),
    [
        ({"warn": 1000, "crit": 2000, "label": "sessions"}, 999, Status.OK, "sessions = 999"),
        ({"warn": 1000, "crit": 2000, "label": "sessions"}, 1000, Status.OK, "sessions = 1000"),
        ({"warn": 1000, "crit": 2000, "label": "sessions"}, 1001, Status.WARNING,
         "sessions = 1001, above warn 1000"),
        ({"warn": 1000, "crit": 2000, "label": "sessions"}, 2500, Status.CRITICAL,
         "sessions = 2500, above crit 2000"),
        ({"crit": 2000}, 1500, Status.OK, "1.3.6.1.4.1.99999.1.0 = 1500"),
        ({"warn": 10, "crit": 5, "direction": "below"}, 7, Status.WARNING, "below warn 10"),
        ({"warn": 10, "crit": 5, "direction": "below"}, 3, Status.CRITICAL, "below crit 5"),
        ({"warn": 1.5}, "0.42", Status.OK, "= 0.42"),  # UCD laLoad is a string
        ({"warn": 1.5}, "2.10", Status.WARNING, "= 2.1, above warn 1.5"),
        ({"warn": 1.5}, "n/a", Status.UNKNOWN, "'n/a' is not a number"),
        ({"expect": "active|standby"}, "standby", Status.OK, "= 'standby'"),
        ({"expect": "active"}, "active-degraded", Status.CRITICAL,
         "= 'active-degraded', expected /active/"),
        ({"warn": 1}, Absent.NO_SUCH_OBJECT, Status.CRITICAL,
         "the agent has no value at 1.3.6.1.4.1.99999.1.0 (noSuchObject)"),
    ],
)
def test_oid_decision(keys: dict[str, Any], value: Any, status: Status, summary: str) -> None:
    outcome = thresholds.evaluate(oid_spec(**keys), value)
    assert outcome.status is status
    assert summary in outcome.summary, outcome.summary


# -- rates ------------------------------------------------------------------------------


def counters(at: float, ticks: int, ports: dict[int, dict[str, int]]) -> rate.CounterSample:
    table: dict[str, dict[str, Any]] = {c: {} for c in rate.COLUMNS}
    for index, values in ports.items():
        key = str(index)
        table[oids.IF_NAME][key] = f"ge-0/0/{index}"
        table[oids.IF_OPER_STATUS][key] = values.get("oper", 1)
        table[oids.IF_HIGH_SPEED][key] = values.get("speed", 1000)
        table[oids.IF_HC_IN_OCTETS][key] = values.get("in", 0)
        table[oids.IF_HC_OUT_OCTETS][key] = values.get("out", 0)
        table[oids.IF_IN_ERRORS][key] = values.get("errors", 0)
        table[oids.IF_OUT_ERRORS][key] = 0
        if "disc" in values:
            table[oids.IF_COUNTER_DISCONTINUITY][key] = values["disc"]
    return rate.sample_from(table, UptimeSample(at, ticks))


def rate_spec(**keys: Any) -> SnmpSpec:
    spec, errors = parsed(community_env="C", mode="rate", **keys)
    assert errors == []
    return spec


GIGABIT_SECOND = 125_000_000  # octets in one second at 1 Gbit/s


@pytest.mark.parametrize(
    ("after", "elapsed", "status", "summary"),
    [
        ({1: {"in": 1000 + 60 * GIGABIT_SECOND // 100}}, 60, Status.OK,
         "1 interfaces, busiest ge-0/0/1 in 1.0% of 1 Gbit/s"),
        ({1: {"in": 1000 + 60 * GIGABIT_SECOND * 85 // 100}}, 60, Status.WARNING,
         "ge-0/0/1 in 85.0% of 1 Gbit/s (above warn 80%)"),
        ({1: {"in": 1000, "out": 60 * GIGABIT_SECOND * 95 // 100}}, 60, Status.CRITICAL,
         "ge-0/0/1 out 95.0% of 1 Gbit/s (above crit 90%)"),
        ({1: {"in": 0}}, 60, Status.OK, "1 counters reset, baseline taken again"),  # went back
        ({1: {"in": 10**9, "disc": 5}}, 60, Status.OK, "1 counters reset"),  # discontinuity
        ({1: {"in": 10**12}}, 60, Status.OK, "1 counters reset"),  # 133 Gbit/s on 1 Gbit/s
        ({1: {"in": 1000, "errors": 600}}, 60, Status.WARNING,
         "ge-0/0/1 10.0 errors+discards/s (above warn 5)"),
        ({1: {"in": 10**9, "oper": 2}}, 60, Status.OK, "0 interfaces"),  # down: not measured
    ],
)
def test_rate_decision(after: dict[int, dict[str, int]], elapsed: float, status: Status,
                       summary: str) -> None:
    spec = rate_spec(warn=80, crit=90, error_warn=5, error_crit=50)
    previous = counters(0.0, 100_000, {1: {"in": 1000}})
    current = counters(elapsed, 100_000 + int(elapsed * 100), after)
    outcome = rate.evaluate(spec, previous, current)
    assert outcome.status is status, outcome.summary
    assert summary in outcome.summary, outcome.summary


def test_rate_first_poll_and_reboot_take_a_baseline() -> None:
    spec = rate_spec(crit=90)
    first = counters(0.0, 100_000, {1: {"in": 5 * 10**9}})
    outcome = rate.evaluate(spec, None, first)
    assert outcome.status is Status.OK
    assert "baseline taken" in outcome.summary
    # After a reboot the counters restart from 0 and may already exceed the old values:
    # that difference is not traffic.
    rebooted = counters(60.0, 1_000, {1: {"in": 9 * 10**9}})
    outcome = rate.evaluate(spec, first, rebooted)
    assert outcome.status is Status.OK
    assert "rebooted" in outcome.summary


def test_rate_metrics() -> None:
    spec = rate_spec()
    previous = counters(0.0, 100_000, {1: {}, 2: {"speed": 10_000}})
    current = counters(10.0, 101_000, {1: {"in": GIGABIT_SECOND}, 2: {"out": GIGABIT_SECOND}})
    outcome = rate.evaluate(spec, previous, current)
    assert outcome.metrics["in_bps"] == pytest.approx(1e8)
    assert outcome.metrics["out_bps"] == pytest.approx(1e8)
    assert outcome.metrics["max_util_pct"] == pytest.approx(10.0)
    assert "busiest ge-0/0/1 in 10.0% of 1 Gbit/s" in outcome.summary
