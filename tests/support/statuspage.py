"""A real daemon, in this process, with checks against loopback servers: some healthy, one
failing (an open incident), one with credentials in its URL. For the status page tests."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from monitord.app import Daemon
from monitord.compat import timeout
from monitord.configfile import load_config
from monitord.model import Result
from tests.conftest import free_port
from tests.support.web import serve

TOKEN = "status-page-t0ken"


@dataclass
class Running:
    daemon: Daemon
    base: str
    token: str = TOKEN


async def _tcp_server() -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


@asynccontextmanager
async def status_daemon(tmp_path: Path, extra_api: str = "") -> AsyncIterator[Running]:
    """The daemon, once the failing check has an open incident and every check a result."""
    site = web.Application()

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="welcome")

    site.router.add_get("/", hello)
    tcp = await _tcp_server()
    open_port = tcp.sockets[0].getsockname()[1]
    closed_port = free_port()
    api_port = free_port()
    (tmp_path / "token").write_text(TOKEN)
    async with serve(site) as web_base:
        host_port = web_base.split("//")[1]
        config = tmp_path / "config.toml"
        config.write_text(textwrap.dedent(f"""
            [monitord]
            location = "paris"
            state_dir = "{tmp_path / 'state'}"
            log_format = "json"
            [api]
            listen = "127.0.0.1:{api_port}"
            token_file = "{tmp_path / 'token'}"
            {extra_api}
            [defaults]
            interval = "1s"
            retry_interval = "1s"
            timeout = "2s"
            confirm = 1
            [[check]]
            name = "shop-web"
            type = "tcp"
            host = "127.0.0.1"
            port = {open_port}
            labels = {{ service = "shop" }}
            [[check]]
            name = "shop-api"
            type = "tcp"
            host = "127.0.0.1"
            port = {closed_port}
            labels = {{ service = "shop" }}
            [[check]]
            name = "login-page"
            type = "http"
            url = "http://bob:hunter2@{host_port}/"
            expect_body = "welcome"
            labels = {{ service = "accounts" }}
            [[check]]
            name = "example-org-ns"
            type = "tcp"
            host = "127.0.0.1"
            port = {open_port}
            labels = {{ domain = "example.org" }}
        """))
        daemon = Daemon(load_config(config))
        settled = asyncio.Event()

        async def watch(result: Result) -> None:
            # Runs before alerting sees the result: the incident shows at a later one.
            if daemon.alerting and daemon.alerting.incidents() and len(daemon.states) == 4:
                settled.set()

        daemon.result_listeners.append(watch)
        task = asyncio.create_task(daemon.run())
        try:
            async with timeout(20):
                await settled.wait()
            yield Running(daemon, f"http://127.0.0.1:{api_port}")
        finally:
            daemon.request_stop()
            async with timeout(10):
                await task
            tcp.close()
            await tcp.wait_closed()
