"""Probe agents end to end: a central daemon (paris) and three agents (london, frankfurt,
amsterdam) as real processes on loopback, a real web target, real Knot resolvers, real
webhook receivers.

A target fails for one location only because that agent has its own resolver, which answers
a dead address: the check is degraded, routed to the route that asks for degraded="true",
and nobody is paged. When a second location fails (quorum 2) there is exactly one incident,
listing every location. The central daemon restarted while agents buffer: no second page.
An agent killed: one agent:LOCATION incident, and its results stop counting.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import textwrap
import urllib.request
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from monitord.compat import timeout
from tests.conftest import free_port
from tests.support.daemon import Proc
from tests.support.dnszones import zone_text
from tests.support.knot import KnotServer, knot_factory  # noqa: F401 (fixture)
from tests.support.web import serve

AGENTS = ("london", "frankfurt", "amsterdam")
DEAD = "127.0.0.9"  # nothing listens there: connection refused


@dataclass
class Sinks:
    oncall: list[dict[str, Any]] = field(default_factory=list)
    chat: list[dict[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_until(self, predicate: Callable[[], bool], within: float = 40.0) -> None:
        async with timeout(within):
            while not predicate():
                self.arrived.clear()
                await self.arrived.wait()


def incidents(payloads: list[dict[str, Any]], event: str | None = None,
              check: str | None = None) -> list[dict[str, Any]]:
    return [i for p in payloads for i in p["incidents"]
            if (event is None or i["event"] == event) and (check is None or i["check"] == check)]


def zone(address: str, serial: int = 1) -> str:
    # TTL 1: resolvers may cache an answer for its TTL, and the test changes one
    return zone_text("shop.test", serial=serial, ttl=1, records=[
        "ns1 IN A 127.0.0.1", "ns2 IN A 127.0.0.1", f"www IN A {address}"])


@pytest.fixture
async def sinks() -> AsyncIterator[tuple[Sinks, str, str]]:
    s = Sinks()

    async def shop(request: web.Request) -> web.Response:
        return web.Response(text="Add to basket")

    def recorder(into: list[dict[str, Any]]) -> Callable[[web.Request], Any]:
        async def hook(request: web.Request) -> web.Response:
            into.append(await request.json())
            s.arrived.set()
            return web.json_response({"ok": True})
        return hook

    target, sink = web.Application(), web.Application()
    target.router.add_get("/", shop)
    sink.router.add_post("/oncall", recorder(s.oncall))
    sink.router.add_post("/chat", recorder(s.chat))
    async with serve(target) as target_url, serve(sink) as sink_url:
        yield s, target_url, sink_url


def central_config(tmp: Path, port: int, target_port: int, sink_url: str,
                   resolver: str) -> Path:
    agents = "".join(f"""
        [[agent]]
        location = "{name}"
        token_file = "{tmp / (name + '.token')}"
        silent_after = "30s"
        """ for name in AGENTS)
    path = tmp / "central.toml"
    path.write_text(textwrap.dedent(f"""
        [monitord]
        location = "paris"
        state_dir = "{tmp / 'central'}"
        resolvers = ["{resolver}"]
        [api]
        listen = "127.0.0.1:{port}"
        anonymous_read = true
        [defaults]
        interval = "1s"
        retry_interval = "1s"
        timeout = "2s"
        confirm = 2
        [[check]]
        name = "shop"
        type = "http"
        url = "http://www.shop.test:{target_port}/"
        expect_body = "Add to basket"
        locations = ["paris", "london", "frankfurt", "amsterdam"]
        quorum = 2
        {agents}
        [[receiver]]
        name = "oncall"
        type = "webhook"
        url = "{sink_url}/oncall"
        format = "json"
        [[receiver]]
        name = "chat"
        type = "webhook"
        url = "{sink_url}/chat"
        format = "json"
        [alerting]
        default_receivers = ["oncall"]
        group_wait = "200ms"
        group_interval = "1s"
        [[route]]
        matchers = ["degraded=true"]
        receivers = ["chat"]
    """))
    for name in AGENTS:
        (tmp / f"{name}.token").write_text(f"token-of-{name}-0123456789\n")
    return path


def agent_config(tmp: Path, name: str, port: int, resolver: str) -> Path:
    path = tmp / f"{name}.toml"
    path.write_text(textwrap.dedent(f"""
        [monitord]
        location = "{name}"
        state_dir = "{tmp / name}"
        resolvers = ["{resolver}"]
        [central]
        url = "http://127.0.0.1:{port}"
        token_file = "{tmp / (name + '.token')}"
        poll = "1s"
    """))
    return path


async def spawn(*args: str) -> Proc:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitord", *args, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return Proc(proc)


async def stop(proc: Proc, sig: int = signal.SIGTERM) -> None:
    if proc.proc.returncode is None:
        proc.proc.send_signal(sig)
    async with timeout(15):
        await proc.proc.wait()


def status(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/status", timeout=5) as r:
        data: dict[str, Any] = json.load(r)
    return data


async def wait_status(port: int, predicate: Callable[[dict[str, Any]], bool],
                      within: float = 40.0) -> dict[str, Any]:
    async with timeout(within):
        while True:
            data = await asyncio.to_thread(status, port)
            if predicate(data):
                return data
            await asyncio.sleep(0.3)


def shop_state(data: dict[str, Any]) -> str:
    [shop] = [c for c in data["checks"] if c["check"] == "shop"]
    return str(shop.get("state"))


async def test_degraded_quorum_restart_and_silent_agent(
        tmp_path: Path, sinks: tuple[Sinks, str, str],
        knot_factory: Callable[..., KnotServer]) -> None:  # noqa: F811
    s, target_url, sink_url = sinks
    target_port = int(target_url.rsplit(":", 1)[1])
    good = knot_factory({"shop.test": zone("127.0.0.1")})
    bad = knot_factory({"shop.test": zone(DEAD)})
    frankfurt_dns = knot_factory({"shop.test": zone("127.0.0.1")})
    resolvers = {"london": bad.endpoint, "frankfurt": frankfurt_dns.endpoint,
                 "amsterdam": good.endpoint}
    port = free_port("127.0.0.1")
    central_path = central_config(tmp_path, port, target_port, sink_url, good.endpoint)
    central = first_central = await spawn("run", "-c", str(central_path))
    agents = {n: await spawn("agent", "-c", str(agent_config(tmp_path, n, port, r)))
              for n, r in resolvers.items()}
    try:
        await central.wait_for("started")
        # london alone fails: degraded, routed to chat, nobody paged
        await wait_status(port, lambda d: shop_state(d) == "degraded")
        await s.wait_until(lambda: bool(incidents(s.chat, "problem", "shop")))
        [degraded] = incidents(s.chat, "problem", "shop")
        assert degraded["labels"]["degraded"] == "true"
        assert 'london CRITICAL connect "' in degraded["diagnosis"]
        assert "paris OK" in degraded["diagnosis"]
        await asyncio.sleep(2)
        assert incidents(s.oncall, check="shop") == []

        # frankfurt fails too: quorum 2 reached, exactly one incident listing every location
        frankfurt_dns.set_zone("shop.test", zone(DEAD, serial=2))
        await s.wait_until(lambda: bool(incidents(s.oncall, "problem", "shop")))
        [page] = incidents(s.oncall, "problem", "shop")
        assert "degraded" not in page["labels"]
        assert {loc["location"] for loc in page["locations"]} == {
            "paris", "london", "frankfurt", "amsterdam"}
        assert page["id"] == degraded["id"]  # the same incident, promoted
        await wait_status(port, lambda d: shop_state(d) == "problem")

        # the central daemon restarts while the agents keep probing and buffering
        await stop(central)
        first_central = central
        await asyncio.sleep(3)
        central = await spawn("run", "-c", str(central_path))
        await central.wait_for("started")
        london = agents["london"]
        back = await london.wait_for("central_reachable", within=40)
        assert back["dropped"] == 0
        await asyncio.sleep(3)
        assert len(incidents(s.oncall, "problem", "shop")) == 1, [  # no second page
            (i["id"], i["event"], i["labels"].get("degraded"), i["diagnosis"])
            for i in incidents(s.oncall) + incidents(s.chat)]
        replayed = [line for line in central.lines if line.get("event") == "agent_batch_replayed"]
        assert all(line["batch"] <= line["accepted_up_to"] for line in replayed)

        # amsterdam is killed: one agent:amsterdam incident, its results stop counting
        await stop(agents["amsterdam"], signal.SIGKILL)
        await s.wait_until(lambda: bool(incidents(s.oncall, "problem", "agent:amsterdam")),
                           within=60)
        assert [i["check"] for i in incidents(s.oncall, "problem")
                if i["check"].startswith("agent:")] == ["agent:amsterdam"]
        await wait_status(port, lambda d: any(
            loc["location"] == "amsterdam" and loc["stale"]
            for c in d["checks"] if c["check"] == "shop" for loc in c.get("locations", [])))
        assert len(incidents(s.oncall, "problem", "shop")) == 1
    finally:
        for proc in [first_central, central, *agents.values()]:
            await stop(proc)
            assert proc.proc.stderr is not None
            rest = (await proc.proc.stderr.read()).decode(errors="replace").splitlines()
            print("\n".join(line for line in rest if "check_result" not in line))
