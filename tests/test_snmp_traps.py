"""The SNMP trap receiver: config, trap meanings, and real snmptrap/snmpinform on loopback."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from monitord.checks.base import CheckEnv, check_env
from monitord.clock import SystemClock
from monitord.compat import timeout
from monitord.config.reader import Problems, Table
from monitord.config.schema import CheckConfig
from monitord.model import Phase, Result, Status
from monitord.snmp import oids
from monitord.snmp.listener import TrapListenError
from monitord.snmp.receiver import TrapReceiver
from monitord.snmp.spec import parse
from monitord.snmp.trap_config import EnterpriseTrap, SnmpTrapsConfig, parse_snmp_traps
from monitord.snmp.trapmap import Trap, interpret, recipients
from tests.conftest import free_port
from tests.support.snmpd import V3User, send_notification

ENGINE_ID = "8000000001020304"
TRAP_USER = V3User("trapper", "trapauth123", "trappriv123")
FAN_FAILURE = "1.3.6.1.4.1.99999.0.7"
IF_ENTRY = "1.3.6.1.2.1.2.2.1"


def traps_config(tmp_path: Path, **keys: Any) -> tuple[SnmpTrapsConfig | None, list[str]]:
    problems = Problems("config.toml")
    config = parse_snmp_traps(Table(problems, "snmp_traps", keys))
    return config, [f"{e.path}: {e.message}" for e in problems.errors]


def snmp_check(name: str, host: str = "127.0.0.1", **keys: Any) -> CheckConfig:
    problems = Problems("config.toml")
    spec = parse(Table(problems, name, {"host": host, "community_env": "C", **keys}))
    assert not problems, problems.errors
    return CheckConfig(name=name, type="snmp", spec=spec)


# -- config -------------------------------------------------------------------------------


def test_config(tmp_path: Path) -> None:
    config, errors = traps_config(
        tmp_path, listen="127.0.0.1:1162", communities_file="/etc/monitord/trap-communities",
        user=[{"name": "trapper", "auth_protocol": "SHA-256", "auth_key_file": "/k/a",
               "priv_key_file": "/k/p", "engine_ids": ["0x80001F8880AABBCCDD"]}],
        trap=[{"name": "fanFailure", "oid": FAN_FAILURE, "status": "critical"}],
        max_rate=50)
    assert errors == []
    assert config is not None
    assert str(config.listen) == "127.0.0.1:1162"
    assert config.users[0].engine_ids == ("80001f8880aabbccdd",)
    assert config.traps == (EnterpriseTrap(FAN_FAILURE, "fanFailure", Status.CRITICAL),)
    assert (config.max_rate, config.max_packet_size, config.repoll_interval) == (50, 8192, 10.0)


def test_no_section_no_receiver() -> None:
    assert parse_snmp_traps(None) is None


@pytest.mark.parametrize(
    ("keys", "error"),
    [
        ({}, "give communities_file (or communities_env) or a [[snmp_traps.user]]"),
        ({"communities": "public"}, "communities: secrets are never written in the config"),
        ({"communities_env": "C", "listen": "0.0.0.0"}, "listen: expected host:port"),
        ({"communities_env": "C", "user": [{"name": "a", "engine_ids": ["xyz"]}]},
         "engine_ids: expected SNMP engine ids in hex"),
        ({"communities_env": "C", "user": [{"name": "a"}, {"name": "a"}]}, 'user "a" is defined'),
        ({"communities_env": "C", "trap": [{"name": "x", "oid": "fan"}]},
         "oid: expected a numeric"),
        ({"communities_env": "C", "trap": [{"name": "x"}]}, "oid: required"),
        ({"communities_env": "C", "trap": [{"name": "x", "oid": "1.3.6.1", "status": "ok"}]},
         "status: expected one of warning, critical"),
        ({"communities_env": "C", "max_packet_size": 100}, "max_packet_size: expected an integer"),
        ({"communities_env": "C", "listn": "x"}, 'did you mean "listen"'),
    ],
)
def test_config_errors(tmp_path: Path, keys: dict[str, Any], error: str) -> None:
    _, errors = traps_config(tmp_path, **keys)
    assert any(error in e for e in errors), errors


def test_section_is_loaded_with_the_config(tmp_path: Path) -> None:
    from monitord.configfile import load_config

    path = tmp_path / "config.toml"
    path.write_text('[snmp_traps]\nlisten = "127.0.0.1:1162"\ncommunities_env = "TRAPS"\n')
    loaded = load_config(path)
    assert loaded.snmp_traps is not None
    assert loaded.snmp_traps.listen.port == 1162


# -- what a trap means --------------------------------------------------------------------


def link(trap_oid: str, index: int, admin: int = 1, name: str | None = None) -> Trap:
    varbinds: list[tuple[str, Any]] = [(f"{IF_ENTRY}.1.{index}", index),
                                       (f"{IF_ENTRY}.7.{index}", admin),
                                       (f"{IF_ENTRY}.8.{index}", 2)]
    if name:
        varbinds.append((f"{oids.IF_NAME}.{index}", name))
    return Trap("192.0.2.1", trap_oid, tuple(varbinds))


ENTERPRISE = {FAN_FAILURE: EnterpriseTrap(FAN_FAILURE, "fanFailure", Status.CRITICAL)}


@pytest.mark.parametrize(
    ("trap", "status", "summary"),
    [
        (link(oids.LINK_DOWN, 3, name="ge-0/0/2"), Status.CRITICAL,
         "linkDown trap from 192.0.2.1: ge-0/0/2 (ifIndex 3) down; re-polling"),
        (link(oids.LINK_DOWN, 3), Status.CRITICAL,
         "linkDown trap from 192.0.2.1: an interface (ifIndex 3) down; re-polling"),
        (link(oids.LINK_DOWN, 3, admin=2), None,
         "linkDown trap from 192.0.2.1: an interface (ifIndex 3) shut down by an operator"),
        (link(oids.LINK_UP, 3), None, "linkUp trap from 192.0.2.1: an interface (ifIndex 3) up"),
        (Trap("192.0.2.1", oids.COLD_START), Status.WARNING,
         "coldStart trap from 192.0.2.1: the device restarted; re-polling"),
        (Trap("192.0.2.1", oids.WARM_START), Status.WARNING, "warmStart trap"),
        (Trap("192.0.2.1", oids.AUTHENTICATION_FAILURE), Status.WARNING,
         "authenticationFailure trap from 192.0.2.1: the device rejected a request"),
        (Trap("192.0.2.1", FAN_FAILURE), Status.CRITICAL, "fanFailure trap from 192.0.2.1"),
    ],
)
def test_trap_meaning(trap: Trap, status: Status | None, summary: str) -> None:
    hint = interpret(trap, ENTERPRISE)
    assert hint is not None
    assert hint.status is status
    assert hint.summary.startswith(summary), hint.summary


def test_unknown_trap_oid_means_nothing() -> None:
    assert interpret(Trap("192.0.2.1", "1.3.6.1.4.1.9.9.43.2.0.1"), ENTERPRISE) is None


@pytest.mark.parametrize(
    ("trap", "expected"),
    [
        (link(oids.LINK_DOWN, 3, name="ge-0/0/2"), ["ports"]),
        (link(oids.LINK_DOWN, 9, name="xe-1/0/0"), ["uplinks"]),
        (link(oids.LINK_DOWN, 3), ["ports", "uplinks"]),  # unnamed: cannot be filtered out
        (link(oids.LINK_UP, 3), []),
        (Trap("192.0.2.1", oids.COLD_START), ["uptime"]),
        (Trap("192.0.2.1", oids.AUTHENTICATION_FAILURE), ["ports", "uplinks", "uptime"]),
    ],
)
def test_which_checks_get_a_result(trap: Trap, expected: list[str]) -> None:
    checks = [snmp_check("ports", exclude=["xe-.*"]), snmp_check("uplinks", include=["xe-.*"]),
              snmp_check("uptime", mode="uptime")]
    hint = interpret(trap, ENTERPRISE)
    assert hint is not None
    assert [c.name for c in recipients(hint, checks)] == expected


# -- the receiver on loopback ---------------------------------------------------------------


class Harness:
    def __init__(self, receiver: TrapReceiver, workdir: Path) -> None:
        self.receiver = receiver
        self.workdir = workdir
        self.results: list[Result] = []
        self.repolls: list[str] = []
        self.arrived = asyncio.Event()

    @property
    def target(self) -> str:
        host, port = self.receiver.address
        return f"{host}:{port}"

    async def send(self, trap_oid: str, varbinds: dict[str, tuple[str, str]] | None = None,
                   **options: Any) -> None:
        done = await asyncio.to_thread(send_notification, self.workdir, self.target, trap_oid,
                                       varbinds, **options)
        assert done.returncode == 0, done.stderr

    async def until(self, condition: Callable[[], bool]) -> None:
        """Wait (bounded) for the receiver to have handled what was sent."""
        async with timeout(5):
            while not condition():  # noqa: ASYNC110 - plain counters: nothing to await
                await asyncio.sleep(0.01)


@pytest.fixture
async def env() -> AsyncIterator[CheckEnv]:
    async with check_env(SystemClock(), "paris") as env:
        yield env


@pytest.fixture
async def harness(tmp_path: Path, env: CheckEnv) -> AsyncIterator[Harness]:
    (tmp_path / "communities").write_text("public\nother-community\n")
    (tmp_path / "auth").write_text(TRAP_USER.auth_key + "\n")
    (tmp_path / "priv").write_text(str(TRAP_USER.priv_key) + "\n")
    config, errors = traps_config(
        tmp_path, listen=f"127.0.0.1:{free_port(kind=socket.SOCK_DGRAM)}",
        communities_file=str(tmp_path / "communities"),
        user=[{"name": TRAP_USER.name, "auth_key_file": str(tmp_path / "auth"),
               "priv_key_file": str(tmp_path / "priv"), "engine_ids": [ENGINE_ID]}],
        trap=[{"name": "fanFailure", "oid": FAN_FAILURE, "status": "critical"}],
        max_packet_size=1500, max_rate=50)
    assert errors == []
    assert config is not None
    checks = [snmp_check("core-router"), snmp_check("core-router-uptime", mode="uptime"),
              snmp_check("firewall", host="127.0.0.3")]
    holder: list[Harness] = []

    async def on_result(result: Result) -> None:
        holder[0].results.append(result)
        holder[0].arrived.set()

    receiver = TrapReceiver(config, checks, on_result, lambda name: holder[0].repolls.append(name),
                            env=env)
    holder.append(Harness(receiver, tmp_path / "tools"))
    await receiver.start()
    task = asyncio.create_task(receiver.serve())
    yield holder[0]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await receiver.close()


async def test_v2c_link_down_gives_a_result_and_a_repoll(harness: Harness) -> None:
    await harness.send(oids.LINK_DOWN, {f"{IF_ENTRY}.1.3": ("i", "3"),
                                        f"{IF_ENTRY}.7.3": ("i", "1"),
                                        f"{IF_ENTRY}.8.3": ("i", "2"),
                                        f"{oids.IF_NAME}.3": ("s", "ge-0/0/2")})
    await asyncio.wait_for(harness.arrived.wait(), 5)
    [result] = harness.results
    assert (result.check, result.type, result.location) == ("core-router", "snmp", "paris")
    assert (result.status, result.phase) == (Status.CRITICAL, Phase.SNMP)
    assert result.summary == "linkDown trap from 127.0.0.1: ge-0/0/2 (ifIndex 3) down; re-polling"
    await harness.until(lambda: len(harness.repolls) == 2)
    assert sorted(harness.repolls) == ["core-router", "core-router-uptime"]


async def test_repolls_are_coalesced(harness: Harness) -> None:
    await harness.send(oids.LINK_UP, community="other-community")
    await harness.send(oids.LINK_UP)
    await harness.until(lambda: harness.receiver.stats["received"] == 2)
    await harness.until(lambda: harness.receiver.stats["repolls"] == 2)
    assert harness.results == []  # linkUp alone proves nothing: only the re-poll decides
    assert sorted(harness.repolls) == ["core-router", "core-router-uptime"]


async def test_v3_trap_and_inform(harness: Harness) -> None:
    await harness.send(oids.COLD_START, user=TRAP_USER, engine_id=ENGINE_ID, community="")
    await asyncio.wait_for(harness.arrived.wait(), 5)
    assert [(r.check, r.status) for r in harness.results] == [
        ("core-router-uptime", Status.WARNING)]
    harness.arrived.clear()
    await harness.send(FAN_FAILURE, user=TRAP_USER, inform=True)  # acknowledged, or it fails
    await asyncio.wait_for(harness.arrived.wait(), 5)
    assert [(r.check, r.status) for r in harness.results[1:]] == [
        ("core-router", Status.CRITICAL), ("core-router-uptime", Status.CRITICAL)]
    assert harness.results[1].summary == "fanFailure trap from 127.0.0.1; re-polling"


async def test_unknown_sender_is_counted_and_logged_not_alerted(harness: Harness) -> None:
    with capture_logs() as logs:
        for _ in range(3):
            await harness.send(oids.LINK_DOWN, source="127.0.0.2")
        await harness.until(lambda: harness.receiver.unknown_senders == 3)
    assert harness.results == []
    assert harness.repolls == []
    unknown = [e for e in logs if e["event"] == "snmp_trap_unknown_sender"]
    assert [(e["sender"], e["trap"]) for e in unknown] == [("127.0.0.2", "linkDown")]
    assert harness.receiver.stats["logs_suppressed"] == 2


async def test_wrong_community_and_wrong_key_are_rejected(harness: Harness) -> None:
    await harness.send(oids.LINK_DOWN, community="guess")
    wrong = V3User(TRAP_USER.name, "not-the-key1", TRAP_USER.priv_key)
    await harness.send(oids.LINK_DOWN, user=wrong, engine_id=ENGINE_ID)
    await harness.until(lambda: harness.receiver.stats["rejected"] == 2)
    assert harness.results == []
    assert harness.receiver.stats["received"] == 0


async def test_oversized_and_flooding_datagrams_are_dropped_unparsed(harness: Harness) -> None:
    host, port = harness.receiver.address
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"\x30" * 4000, (host, port))
        for _ in range(120):
            sock.sendto(b"\x30\x00", (host, port))
    await harness.until(lambda: harness.receiver.stats["oversized"] == 1)
    await harness.until(lambda: harness.receiver.stats["rate_limited"] >= 60)
    assert harness.results == []


async def test_port_in_use_is_a_clear_start_up_error(tmp_path: Path, env: CheckEnv) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        config, _ = traps_config(tmp_path, listen=f"127.0.0.1:{port}", communities_env="HOME")
        assert config is not None

        async def ignore(result: Result) -> None:
            raise AssertionError(result)

        receiver = TrapReceiver(config, [], ignore, print, env=env)
        with pytest.raises(TrapListenError,
                           match=f"cannot listen for SNMP traps on 127.0.0.1:{port}: "
                                 "Address already in use"):
            await receiver.start()


async def test_unreadable_communities_are_a_start_up_error(tmp_path: Path,
                                                           env: CheckEnv) -> None:
    config, _ = traps_config(tmp_path, listen=f"127.0.0.1:{free_port(kind=socket.SOCK_DGRAM)}",
                             communities_file=str(tmp_path / "missing"))
    assert config is not None
    receiver = TrapReceiver(config, [], harness_never, print, env=env)
    with pytest.raises(TrapListenError, match="cannot use the SNMP trap credentials: No such"):
        await receiver.start()


async def harness_never(result: Result) -> None:
    raise AssertionError(result)
