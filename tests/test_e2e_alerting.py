"""End to end: a real daemon process, a real web target, a real webhook receiver.

A problem is confirmed, notified once, and its recovery follows — also when the daemon is
killed (SIGKILL) in the middle of the incident and restarted. (A kill in the middle of a
confirmation is aimed precisely in tests/test_qualify_store.py, where a feeder process is
killed between two results.)
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from monitord.compat import timeout
from tests.conftest import free_port
from tests.support.daemon import on_test_loop, start_daemon
from tests.support.web import serve


@dataclass
class World:
    """The web target (its health is a flag) and the webhook sink (it records payloads)."""

    healthy: bool = True
    payloads: list[dict[str, Any]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    target_url: str = ""
    sink_url: str = ""

    def events(self) -> list[tuple[str, str]]:
        """(check, event) for every incident entry received, duplicates folded by key."""
        seen, out = set(), []
        for key, payload in zip(self.keys, self.payloads):
            if key in seen:
                continue
            seen.add(key)
            out += [(i["check"], i["event"]) for i in payload["incidents"]]
        return out

    async def wait_until(self, predicate: Any, within: float = 30.0) -> None:
        async with timeout(within):
            while not predicate():
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
async def world() -> AsyncIterator[World]:
    w = World()

    async def shop(request: web.Request) -> web.Response:
        if w.healthy:
            return web.Response(text="Add to basket")
        return web.Response(status=503, text="database down")

    async def hook(request: web.Request) -> web.Response:
        w.keys.append(request.headers.get("Idempotency-Key", ""))
        w.paths.append(request.path)
        w.payloads.append(await request.json())
        w.arrived.set()
        return web.json_response({"ok": True})

    target = web.Application()
    target.router.add_get("/", shop)
    sink = web.Application()
    sink.router.add_post("/hook", hook)
    sink.router.add_post("/hook-v2", hook)
    async with serve(target) as w.target_url, serve(sink) as w.sink_url:
        yield w


def write_config(tmp_path: Path, w: World) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(f"""
        [monitord]
        location = "test"
        state_dir = "{tmp_path / 'state'}"
        [api]
        listen = ""
        [defaults]
        interval = "500ms"
        retry_interval = "250ms"
        timeout = "2s"
        confirm = 2
        [[check]]
        name = "shop"
        type = "http"
        url = "{w.target_url}/"
        expect_body = "Add to basket"
        [[receiver]]
        name = "oncall"
        type = "webhook"
        url = "{w.sink_url}/hook"
        format = "json"
        [alerting]
        default_receivers = ["oncall"]
        group_wait = "200ms"
        group_interval = "1s"
    """))
    return path


async def start(path: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitord", "run", "-c", str(on_test_loop(path)),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})


async def stop(proc: asyncio.subprocess.Process, sig: int = signal.SIGTERM) -> int:
    if proc.returncode is None:
        proc.send_signal(sig)
    async with timeout(10):
        return await proc.wait()


async def test_problem_notified_once_then_recovery(tmp_path: Path, world: World) -> None:
    proc = await start(write_config(tmp_path, world))
    try:
        world.healthy = False
        await world.wait_until(lambda: ("shop", "problem") in world.events())
        [payload] = [p for p in world.payloads if p["status"] == "firing"]
        [incident] = payload["incidents"]
        assert incident["status"] == "CRITICAL"
        assert incident["phase"] == "response"
        assert "503" in incident["summary"]
        assert incident["diagnosis"]
        world.healthy = True
        await world.wait_until(lambda: ("shop", "recovery") in world.events())
        assert world.events() == [("shop", "problem"), ("shop", "recovery")]
    finally:
        assert await stop(proc) == 0


async def test_sigkill_mid_incident_loses_nothing_and_repeats_nothing(
        tmp_path: Path, world: World) -> None:
    path = write_config(tmp_path, world)
    proc = await start(path)
    try:
        world.healthy = False
        await world.wait_until(lambda: ("shop", "problem") in world.events())
    finally:
        await stop(proc, signal.SIGKILL)
    # While the daemon is dead the site recovers; the restarted daemon must see the open
    # incident, not notify the problem again, and deliver the recovery.
    world.healthy = True
    proc = await start(path)
    try:
        await world.wait_until(lambda: ("shop", "recovery") in world.events())
        await asyncio.sleep(2)  # several more check rounds: nothing else may arrive
        assert world.events() == [("shop", "problem"), ("shop", "recovery")]
    finally:
        assert await stop(proc) == 0


async def test_a_dead_receiver_is_reported_to_the_others(tmp_path: Path, world: World) -> None:
    """ops-mail's server is down: after receiver_alert_after the on-call hook hears of it."""
    path = write_config(tmp_path, world)
    dead = free_port()
    path.write_text(path.read_text().replace(
        '[alerting]\ndefault_receivers = ["oncall"]',
        f'[[receiver]]\nname = "ops-hook"\ntype = "webhook"\n'
        f'url = "http://127.0.0.1:{dead}/hook"\nformat = "json"\n'
        '[alerting]\ndefault_receivers = ["oncall", "ops-hook"]\n'
        'receiver_alert_after = "1s"'))
    proc = await start(path)
    try:
        world.healthy = False
        await world.wait_until(lambda: ("receiver:ops-hook", "problem") in world.events())
        [alert] = [i for p in world.payloads for i in p["incidents"]
                   if i["check"] == "receiver:ops-hook"]
        assert "ops-hook" in alert["summary"]
        assert ("shop", "problem") in world.events()  # the other receiver still works
    finally:
        assert await stop(proc) == 0


async def test_reload_swaps_receivers_and_the_recovery_follows(tmp_path: Path,
                                                               world: World) -> None:
    path = write_config(tmp_path, world)
    daemon = await start_daemon(path)
    proc = daemon.proc
    try:
        world.healthy = False
        await world.wait_until(lambda: ("shop", "problem") in world.events())
        # Reload only once the daemon has recorded the delivery: a send cut short by the
        # reload is sent again (at-least-once, same Idempotency-Key), which is not the point.
        await daemon.wait_for("notification delivered", receiver="oncall")
        # The on-call tool moved: the new URL must carry the recovery, the old one nothing more.
        path.write_text(path.read_text().replace("/hook\"", "/hook-v2\""))
        proc.send_signal(signal.SIGHUP)
        await daemon.wait_for("reloaded")  # the site recovers only once the reload landed
        world.healthy = True
        await world.wait_until(lambda: ("shop", "recovery") in world.events())
        assert world.paths == ["/hook", "/hook-v2"]
        assert world.events() == [("shop", "problem"), ("shop", "recovery")]
    finally:
        assert await stop(proc) == 0
