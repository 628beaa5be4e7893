"""The trap receiver inside the daemon: a linkDown from a polled device is a hint that makes
the daemon re-poll that device at once, and the poll's answer (not the trap) decides."""

from __future__ import annotations

import asyncio
import socket
import textwrap
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from monitord.app import Daemon
from monitord.configfile import load_config
from monitord.model import Result
from tests.conftest import free_port
from tests.support.snmpd import SnmpAgent, send_notification, switch_ports

LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[SnmpAgent]:
    agent = SnmpAgent(tmp_path / "snmpd", free_port(kind=socket.SOCK_DGRAM))
    agent.set_interfaces(switch_ports(4))
    agent.set_uptime(1_000_000)
    agent.start()
    yield agent
    agent.stop()


async def test_link_down_trap_repolls_the_device(tmp_path: Path, agent: SnmpAgent) -> None:
    (tmp_path / "community").write_text("public\n")
    trap_port = free_port(kind=socket.SOCK_DGRAM)
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(f"""
        [monitord]
        state_dir = "{tmp_path / 'state'}"
        [api]
        listen = ""
        [[check]]
        name = "core-router"
        type = "snmp"
        host = "127.0.0.1"
        port = {agent.port}
        community_file = "{tmp_path / 'community'}"
        mode = "interfaces"
        interval = "1h"          # its first scheduled poll is far away: only a trap polls now
        [snmp_traps]
        listen = "127.0.0.1:{trap_port}"
        communities_file = "{tmp_path / 'community'}"
    """))
    daemon = Daemon(load_config(path))
    results: list[Result] = []
    polled = asyncio.Event()

    async def listen(result: Result) -> None:
        results.append(result)
        if "trap" not in result.summary:
            polled.set()

    daemon.result_listeners.append(listen)
    task = asyncio.create_task(daemon.run())
    try:
        await asyncio.wait_for(daemon.ready.wait(), 10)
        # The device's port 3 really is down now, then the device says so with a trap.
        ports = switch_ports(4)
        ports[2] = replace(ports[2], oper=2)
        agent.set_interfaces(ports)
        done = await asyncio.to_thread(
            send_notification, tmp_path / "tools", f"127.0.0.1:{trap_port}", LINK_DOWN,
            {"1.3.6.1.2.1.2.2.1.1.3": ("i", "3"), "1.3.6.1.2.1.2.2.1.8.3": ("i", "2")})
        assert done.returncode == 0, done.stderr
        await asyncio.wait_for(polled.wait(), 15)
    finally:
        daemon.request_stop()
        await task
    hint, *polls = results
    assert "linkDown trap from 127.0.0.1" in hint.summary
    assert polls, "the trap made the daemon poll the device"
    assert polls[0].status.name == "CRITICAL"
    assert daemon.traps is not None
    assert daemon.traps.stats["repolls"] >= 1
