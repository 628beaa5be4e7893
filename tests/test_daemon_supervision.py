"""A bug escaping a long-lived task of the daemon (the scheduler's check loops, the
self-heartbeat) is logged, shown on /healthz while the task waits to restart, and never
ends the daemon: checks keep running, pings resume."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from monitord.app import Daemon
from monitord.compat import timeout
from monitord.configfile import load_config
from monitord.heartbeat import self_ping
from monitord.model import Result
from tests.conftest import free_port
from tests.support.web import serve


def failing_once(real: Callable[..., Awaitable[Any]], failed: asyncio.Event
                 ) -> Callable[..., Awaitable[Any]]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not failed.is_set():
            failed.set()
            raise RuntimeError("injected fault")
        return await real(*args, **kwargs)
    return wrapper


async def healthz_problems(api: str, within: float, needle: str) -> list[str]:
    """Poll /healthz until a problem line contains ``needle``."""
    async with timeout(within), aiohttp.ClientSession() as session:
        while True:
            async with session.get(f"{api}/healthz") as resp:
                body = await resp.json()
            found = [p for p in body.get("problems", []) if needle in p]
            if found:
                assert resp.status == 503
                return found
            await asyncio.sleep(0.05)


async def test_a_crash_in_a_check_loop_or_the_self_heartbeat_is_survived(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pings: list[float] = []

    async def ping(request: web.Request) -> web.Response:
        pings.append(asyncio.get_running_loop().time())
        return web.Response(text="ok")

    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    app = web.Application()
    app.router.add_get("/ping", ping)
    api_port = free_port()
    ping_failed, check_failed = asyncio.Event(), asyncio.Event()
    monkeypatch.setattr(self_ping, "ping_forever", failing_once(self_ping.ping_forever,
                                                                 ping_failed))
    async with serve(app) as base:
        path = tmp_path / "config.toml"
        path.write_text(textwrap.dedent(f"""
            [monitord]
            state_dir = "{tmp_path}"
            [monitord.self_heartbeat]
            url = "{base}/ping"
            interval = "100ms"
            [api]
            listen = "127.0.0.1:{api_port}"
            [[check]]
            name = "port"
            type = "tcp"
            host = "127.0.0.1"
            port = {port}
            interval = "200ms"
        """))
        daemon = Daemon(load_config(path))
        daemon.scheduler._run_check = failing_once(  # type: ignore[method-assign]
            daemon.scheduler._run_check, check_failed)
        results: list[Result] = []

        async def listen(result: Result) -> None:
            results.append(result)

        daemon.result_listeners.append(listen)
        task = asyncio.create_task(daemon.run())
        try:
            async with timeout(10):
                await daemon.ready.wait()
            api = f"http://127.0.0.1:{api_port}"
            found = await healthz_problems(api, 5, "restarting")
            assert any("self-heartbeat" in p or "check:port" in p for p in found)
            async with timeout(10):
                while len(results) < 3 or len(pings) < 3:
                    assert not task.done()
                    await asyncio.sleep(0.05)
            assert ping_failed.is_set()
            assert check_failed.is_set()
            assert not task.done()
            async with aiohttp.ClientSession() as session, \
                    session.get(f"{api}/healthz") as resp:
                assert resp.status == 200  # both restarted: healthy again
            assert daemon.supervision.failures == {"self-heartbeat": 1, "check:port": 1}
        finally:
            daemon.request_stop()
            await task
            server.close()
            await server.wait_closed()
