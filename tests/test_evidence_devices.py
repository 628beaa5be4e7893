"""Evidence for ``snmp`` (a real snmpd) and ``domain_expiry`` (an RDAP server) on loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from monitord.checks.base import check_env
from monitord.clock import SystemClock
from monitord.config.reader import Problems, Table
from monitord.config.schema import CheckConfig
from monitord.evidence.runner import collect
from tests.conftest import free_port
from tests.support.evidence import check
from tests.support.rdap import RdapRegistry, rdap_domain
from tests.support.snmpd import SnmpAgent, switch_ports
from tests.support.web import serve


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpAgent]:
    agent = SnmpAgent(tmp_path_factory.mktemp("snmpd"), free_port(kind=socket.SOCK_DGRAM))
    ports = switch_ports(4)
    agent.set_interfaces([ports[0], replace(ports[1], in_errors=1500, out_discards=3),
                          ports[2], replace(ports[3], in_discards=7)])
    agent.set_uptime(12_345)  # two minutes: it rebooted
    agent.start()
    yield agent
    agent.stop()


def snmp_config(agent: SnmpAgent, tmp_path: Path) -> CheckConfig:
    from monitord.snmp.spec import parse

    (tmp_path / "community").write_text("public\n")
    problems = Problems("test.toml")
    table = Table(problems, "check", {"host": "127.0.0.1", "port": agent.port,
                                      "community_file": str(tmp_path / "community")})
    spec = parse(table)
    table.finish()
    assert not problems, problems.errors
    return CheckConfig(name="router", type="snmp", spec=spec, timeout=3.0)


async def test_snmp_uptime_and_error_counters(agent: SnmpAgent, tmp_path: Path) -> None:
    async with check_env(SystemClock(), "here") as env:
        collected = await collect(snmp_config(agent, tmp_path), env, 5.0)
    device = f"127.0.0.1:{agent.port}"
    assert [e.to_json() for e in collected.evidence] == [
        {"probe": "snmp", "target": f"{device} sysUpTime", "status": "ok", "detail": "up 2m3s"},
        {"probe": "snmp", "target": f"{device} port ge-0/0/1", "status": "failed",
         "detail": "in errors 1500, out discards 3"},
        {"probe": "snmp", "target": f"{device} port ge-0/0/3", "status": "failed",
         "detail": "in discards 7"},
    ]


async def test_rdap_status_and_dates() -> None:
    registry = RdapRegistry({"shop.com": rdap_domain("shop.com", status=("client hold",))})
    async with serve(registry.app()) as base, check_env(SystemClock(), "here") as env:
        config = check("domain_expiry", {"domain": "shop.com", "rdap_url": base + "/"})
        collected = await collect(config, env, 5.0)
        missing = await collect(check("domain_expiry", {"domain": "gone.com",
                                                        "rdap_url": base + "/"}), env, 5.0)
    [item] = collected.evidence
    assert item.to_json() == {
        "probe": "rdap", "target": "shop.com", "status": "ok",
        "detail": "status client hold; registration 2015-03-04T10:00:00Z; "
                  "last changed 2025-03-04T10:00:00Z"}
    assert missing.evidence[0].status == "failed"
    assert "RDAP 404" in missing.evidence[0].detail
