"""The snmp check against a real net-snmp snmpd on loopback (see tests/support/snmpd.py)."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from monitord.checks.base import CheckEnv, check_env
from monitord.config.reader import Problems, Table
from monitord.config.schema import CheckConfig
from monitord.model import Outcome, Phase, Status
from monitord.snmp.kind import KIND
from monitord.snmp.spec import parse
from monitord.testing import FakeClock
from tests.conftest import free_port
from tests.support.snmpd import ENTERPRISE, IF_X_TABLE, SnmpAgent, V3User, switch_ports

USERS = (
    V3User("mon", "authpass123", "privpass123"),
    V3User("mon256", "authpass256", "privpass256", "SHA-256", "AES-256"),
    V3User("monmd5", "authpassmd5", "privpassmd5", "MD5", "DES"),
    V3User("monauth", "authonly123"),
)
SESSIONS = f"{ENTERPRISE}.1.0"  # the firewall's session count in the tests' device
GIGABIT_SECOND = 125_000_000  # octets in one second at 1 Gbit/s


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpAgent]:
    agent = SnmpAgent(tmp_path_factory.mktemp("snmpd"), free_port(kind=socket.SOCK_DGRAM),
                      users=USERS)
    agent.set_interfaces(switch_ports(4))
    agent.set_uptime(1_000_000)
    agent.start()
    yield agent
    agent.stop()


@pytest.fixture(autouse=True)
def device(agent: SnmpAgent) -> SnmpAgent:
    """Every test starts from the same healthy device."""
    agent.set_interfaces(switch_ports(4))
    agent.set_uptime(1_000_000)
    agent.set(SESSIONS, "gauge", 1200)
    return agent


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def env(clock: FakeClock) -> AsyncIterator[CheckEnv]:
    async with check_env(clock, "paris") as env:
        yield env


@pytest.fixture
def secrets(tmp_path: Path) -> Path:
    for name, value in (("community", "public"), ("wrong-community", "private"),
                        ("auth", "authpass123"), ("priv", "privpass123"), ("wrong", "wrongpass1"),
                        ("auth256", "authpass256"), ("priv256", "privpass256"),
                        ("authmd5", "authpassmd5"), ("privmd5", "privpassmd5"),
                        ("authonly", "authonly123")):
        (tmp_path / name).write_text(value + "\n")
    return tmp_path


def config(agent: SnmpAgent, secrets: Path, *, timeout: float = 3.0, interval: float = 60.0,
           **keys: Any) -> CheckConfig:
    keys.setdefault("host", "127.0.0.1")
    keys.setdefault("port", agent.port)
    if keys.get("version") == "3":
        keys.setdefault("user", "mon")
        keys.setdefault("auth_key_file", str(secrets / "auth"))
        keys.setdefault("priv_key_file", str(secrets / "priv"))
    else:
        keys.setdefault("community_file", str(secrets / "community"))
    problems = Problems("test.toml")
    table = Table(problems, "check", keys)
    spec = parse(table)
    table.finish()
    assert not problems, problems.errors
    return CheckConfig(name="router", type="snmp", spec=spec, timeout=timeout, interval=interval)


async def run(env: CheckEnv, cfg: CheckConfig) -> Outcome:
    return await KIND.build(cfg, env).run()


# -- interfaces ---------------------------------------------------------------------------


async def test_all_interfaces_up(agent: SnmpAgent, secrets: Path, env: CheckEnv) -> None:
    outcome = await run(env, config(agent, secrets))
    assert outcome.status is Status.OK, outcome.summary
    assert outcome.summary == "4 interfaces up"
    assert outcome.metrics["interfaces"] == 4
    assert outcome.metrics["requests"] == 1  # five columns walked side by side


async def test_admin_up_oper_down_is_critical(agent: SnmpAgent, secrets: Path,
                                              env: CheckEnv) -> None:
    ports = switch_ports(4)
    agent.set_interfaces([ports[0], replace(ports[1], oper=2),
                          replace(ports[2], admin=2, oper=2), ports[3]])
    outcome = await run(env, config(agent, secrets))
    assert outcome.status is Status.CRITICAL
    assert outcome.phase is Phase.SNMP
    assert outcome.summary == ('1 of 3 interfaces down: ge-0/0/1 (down) "port 2" '
                               "(1 administratively down, ignored)")


async def test_include_exclude(agent: SnmpAgent, secrets: Path, env: CheckEnv) -> None:
    ports = switch_ports(4)
    agent.set_interfaces([*ports[:3], replace(ports[3], oper=2)])
    excluded = await run(env, config(agent, secrets, exclude=["ge-0/0/3"]))
    assert (excluded.status, excluded.summary) == (Status.OK, "3 interfaces up")
    included = await run(env, config(agent, secrets, include=["port [34]"]))  # by ifAlias
    assert included.status is Status.CRITICAL
    assert included.summary.startswith("1 of 2 interfaces down: ge-0/0/3")


async def test_48_ports_over_snmpv3(agent: SnmpAgent, secrets: Path, env: CheckEnv) -> None:
    agent.set_interfaces(switch_ports(48))
    outcome = await run(env, config(agent, secrets, version="3"))
    assert (outcome.status, outcome.summary) == (Status.OK, "48 interfaces up")
    # snmpd answers at most 100 values per GETBULK: 25 rows of the four columns walked.
    assert outcome.metrics["requests"] == 2


async def test_without_ifxtable_names_come_from_ifdescr(agent: SnmpAgent, secrets: Path,
                                                        env: CheckEnv) -> None:
    ports = switch_ports(3)
    agent.set_interfaces([ports[0], replace(ports[1], oper=2), ports[2]])
    for oid in [k for k in agent.values if k.startswith(IF_X_TABLE)]:
        agent.remove(oid)
    outcome = await run(env, config(agent, secrets))
    assert (outcome.status, outcome.summary) == (
        Status.CRITICAL, "1 of 3 interfaces down: port ge-0/0/1 (down)")


# -- uptime -------------------------------------------------------------------------------


async def test_uptime_going_back_is_a_reboot_for_one_interval(
        agent: SnmpAgent, secrets: Path, env: CheckEnv, clock: FakeClock) -> None:
    check = KIND.build(config(agent, secrets, mode="uptime", interval=60.0), env)
    first = await check.run()
    assert (first.status, first.summary) == (Status.OK, "up 2h46m")
    await clock.advance(60)
    agent.set_uptime(4_500)
    rebooted = await check.run()
    assert rebooted.status is Status.WARNING
    assert rebooted.phase is Phase.SNMP
    assert rebooted.summary == "rebooted: up 45s, was up 2h46m (seen by sysUpTime)"
    await clock.advance(30)  # still within one interval of the reboot
    agent.set_uptime(7_500)
    assert (await check.run()).status is Status.WARNING
    await clock.advance(30)
    agent.set_uptime(10_500)
    settled = await check.run()
    assert (settled.status, settled.summary) == (Status.OK, "up 1m45s")
    assert settled.metrics["uptime_s"] == 105


async def test_uptime_wrap_is_not_a_reboot(agent: SnmpAgent, secrets: Path, env: CheckEnv,
                                          clock: FakeClock) -> None:
    check = KIND.build(config(agent, secrets, mode="uptime"), env)
    agent.set_uptime(2**32 - 3_000)
    assert (await check.run()).status is Status.OK
    await clock.advance(60)
    agent.set_uptime(3_000)
    outcome = await check.run()
    assert outcome.status is Status.OK, outcome.summary
    assert "wrapped after 497 days, not a reboot" in outcome.summary


async def test_snmpv3_agent_restart_counts_as_reboot(
        agent: SnmpAgent, secrets: Path, env: CheckEnv, clock: FakeClock) -> None:
    check = KIND.build(config(agent, secrets, mode="uptime", version="3"), env)
    first = await check.run()
    assert first.status is Status.OK, first.summary
    boots = first.metrics["engine_boots"]
    agent.restart()  # same uptime served, but snmpEngineBoots goes up
    await clock.advance(60)
    agent.set_uptime(1_006_000)
    outcome = await check.run()
    assert outcome.status is Status.WARNING, outcome.summary
    assert "seen by snmpEngineBoots" in outcome.summary
    assert outcome.metrics["engine_boots"] == boots + 1


# -- oid ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sessions", "status", "summary"),
    [(1200, Status.OK, "sessions = 1200"),
     (90_000, Status.WARNING, "sessions = 90000, above warn 80000"),
     (150_000, Status.CRITICAL, "sessions = 150000, above crit 120000")],
)
async def test_session_count_thresholds(agent: SnmpAgent, secrets: Path, env: CheckEnv,
                                        sessions: int, status: Status, summary: str) -> None:
    agent.set(SESSIONS, "gauge", sessions)
    outcome = await run(env, config(agent, secrets, mode="oid", oid=SESSIONS, label="sessions",
                                    warn=80_000, crit=120_000))
    assert (outcome.status, outcome.summary) == (status, summary)
    assert outcome.metrics["value"] == sessions


async def test_expected_string(agent: SnmpAgent, secrets: Path, env: CheckEnv) -> None:
    agent.set(f"{ENTERPRISE}.2.0", "string", "standby")
    cfg = config(agent, secrets, mode="oid", oid=f"{ENTERPRISE}.2.0", label="ha state",
                 expect="active")
    outcome = await run(env, cfg)
    assert (outcome.status, outcome.summary) == (Status.CRITICAL,
                                                 "ha state = 'standby', expected /active/")


@pytest.mark.parametrize(
    ("oid", "absent"),
    [(f"{ENTERPRISE}.9.0", "noSuchInstance"),  # inside a subtree the agent serves
     ("1.3.6.1.4.1.424242.1.0", "noSuchObject")],  # nothing registered there at all
)
async def test_missing_oid(agent: SnmpAgent, secrets: Path, env: CheckEnv, oid: str,
                           absent: str) -> None:
    outcome = await run(env, config(agent, secrets, mode="oid", oid=oid, warn=1))
    assert outcome.status is Status.CRITICAL
    assert outcome.phase is Phase.CONTENT
    assert outcome.summary == f"the agent has no value at {oid.lstrip('.')} ({absent})"


# -- failures -----------------------------------------------------------------------------


async def test_wrong_community(agent: SnmpAgent, secrets: Path, env: CheckEnv) -> None:
    cfg = config(agent, secrets, community_file=str(secrets / "wrong-community"))
    outcome = await run(env, cfg)
    assert outcome.status is Status.CRITICAL
    # The agent stays silent on a wrong community; it does answer an SNMPv3 probe, so the
    # silence is not an unreachable host.
    assert outcome.phase is Phase.AUTH
    assert "the community is probably wrong" in outcome.summary


@pytest.mark.parametrize(
    ("keys", "phase", "summary"),
    [
        ({"auth_key_file": "wrong"}, Phase.AUTH, "wrong digest: the authentication key or "
                                                 "protocol is wrong"),
        ({"auth_protocol": "SHA-256"}, Phase.AUTH, "wrong digest"),
        ({"user": "nobody"}, Phase.AUTH, "the agent has no SNMPv3 user 'nobody'"),
        ({"priv_key_file": "wrong"}, Phase.AUTH, "the privacy key or protocol is probably wrong"),
    ],
)
async def test_wrong_v3_credentials(agent: SnmpAgent, secrets: Path, env: CheckEnv,
                                    keys: dict[str, str], phase: Phase, summary: str) -> None:
    keys = {k: str(secrets / v) if k.endswith("_file") else v for k, v in keys.items()}
    outcome = await run(env, config(agent, secrets, version="3", **keys))
    assert outcome.status is Status.CRITICAL
    assert outcome.phase is phase
    assert summary in outcome.summary, outcome.summary


@pytest.mark.parametrize(
    "keys",
    [
        {"user": "mon256", "auth_protocol": "SHA-256", "auth_key_file": "auth256",
         "priv_protocol": "AES-256", "priv_key_file": "priv256"},
        {"user": "monmd5", "auth_protocol": "MD5", "auth_key_file": "authmd5",
         "priv_protocol": "DES", "priv_key_file": "privmd5"},
    ],
)
async def test_other_v3_protocols(agent: SnmpAgent, secrets: Path, env: CheckEnv,
                                  keys: dict[str, str]) -> None:
    keys = {k: str(secrets / v) if k.endswith("_file") else v for k, v in keys.items()}
    outcome = await run(env, config(agent, secrets, version="3", mode="uptime", **keys))
    assert outcome.status is Status.OK, outcome.summary


async def test_auth_no_priv_user(agent: SnmpAgent, secrets: Path, env: CheckEnv,
                                 tmp_path: Path) -> None:
    problems = Problems("t")
    table = Table(problems, "check", {"host": "127.0.0.1", "port": agent.port, "version": "3",
                                      "user": "monauth", "mode": "uptime",
                                      "auth_key_file": str(secrets / "authonly")})
    cfg = CheckConfig(name="r", type="snmp", spec=parse(table), timeout=3.0)
    assert not problems
    assert (await run(env, cfg)).status is Status.OK


async def test_unreachable_port(agent: SnmpAgent, secrets: Path, env: CheckEnv) -> None:
    silent = free_port(kind=socket.SOCK_DGRAM)
    outcome = await run(env, config(agent, secrets, timeout=1.5, port=silent))
    assert outcome.status is Status.CRITICAL
    assert outcome.phase is Phase.TIMEOUT
    assert outcome.summary == (
        f"no response from 127.0.0.1:{silent} (2 × 450ms): the device is unreachable, does not "
        "run SNMP, or the community is wrong (an SNMPv2c agent stays silent on a wrong "
        "community)")


async def test_unreadable_secret(agent: SnmpAgent, secrets: Path, env: CheckEnv) -> None:
    outcome = await run(env, config(agent, secrets, community_file=str(secrets / "missing")))
    assert (outcome.status, outcome.phase) == (Status.UNKNOWN, Phase.INTERNAL)
    assert "cannot read the SNMP community from file" in outcome.summary


# -- rate ---------------------------------------------------------------------------------


async def test_rates_and_counter_reset(agent: SnmpAgent, secrets: Path, env: CheckEnv,
                                       clock: FakeClock) -> None:
    check = KIND.build(config(agent, secrets, mode="rate", include=["ge-0/0/[01]"], warn=50,
                              crit=80), env)
    assert "baseline taken for 2 interfaces" in (await check.run()).summary
    base = 10**15  # far above 2^32: 64-bit counters are used
    ports = switch_ports(4)
    busy = replace(ports[0], in_octets=base + 60 * GIGABIT_SECOND * 6 // 10)
    agent.set_interfaces([busy, *ports[1:]])
    await clock.advance(60)
    agent.set_uptime(1_006_000)
    outcome = await check.run()
    assert outcome.status is Status.OK, outcome.summary  # from 0 to 10^15 in a minute:
    assert "1 counters reset" in outcome.summary  # no link carries that, so a new baseline
    await clock.advance(60)
    agent.set_uptime(1_012_000)
    busier = replace(busy, in_octets=busy.in_octets + 60 * GIGABIT_SECOND * 85 // 100)
    agent.set_interfaces([busier, *ports[1:]])
    outcome = await check.run()
    assert outcome.status is Status.CRITICAL
    assert outcome.summary == "ge-0/0/0 in 85.0% of 1 Gbit/s (above crit 80%)"
    await clock.advance(60)
    agent.set_uptime(1_018_000)
    agent.set_interfaces(ports)  # counters cleared on the device
    outcome = await check.run()
    assert outcome.status is Status.OK
    assert "1 counters reset, baseline taken again" in outcome.summary


# -- sharing and lazy import ----------------------------------------------------------------


async def test_one_engine_per_credential_set(agent: SnmpAgent, secrets: Path,
                                             env: CheckEnv) -> None:
    outcomes = [await run(env, config(agent, secrets)),
                await run(env, config(agent, secrets, version="3")),
                await run(env, config(agent, secrets, mode="uptime")),
                await run(env, config(agent, secrets, version="3", mode="uptime"))]
    assert all(o.status is Status.OK for o in outcomes), outcomes
    engines = [key for key in env._resources if key.startswith("snmp.engine")]
    assert len(engines) == 2


def test_config_loading_does_not_import_pysnmp(tmp_path: Path) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text(textwrap.dedent("""
        [[check]]
        name = "core-router"
        type = "snmp"
        host = "192.0.2.1"
        community_env = "SNMP_COMMUNITY"
        [[check]]
        name = "shop"
        type = "http"
        url = "https://shop.example/"
    """))
    script = ("import sys; from monitord.configfile import load_config; "
              f"c = load_config({str(config_file)!r}); "
              "print(len(c.checks), 'pysnmp' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["2", "False"]
