"""End to end: a daemon whose shop's name moves (Knot reload) to an address where nothing
listens. The webhook payload and /api/v1/incidents carry the evidence (the new address, the
refused connect) and what changed (old address → new)."""

from __future__ import annotations

import asyncio
import signal
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from monitord.compat import timeout
from monitord.demo import notification_text
from tests.conftest import free_port
from tests.support.daemon import start_daemon
from tests.support.dnszones import zone_text
from tests.support.evidence import free_loopback_53
from tests.support.knot import KnotServer, knot_factory
from tests.support.web import serve

__all__ = ["knot_factory"]
TOKEN = "evidence-test-token"


async def test_moved_name_is_explained_in_the_notification(
        tmp_path: Path, knot_factory: Callable[..., KnotServer]) -> None:
    dns = free_loopback_53()

    def zone(serial: int, www: str) -> str:
        return zone_text("shop.test", serial=serial, ns=("ns1",), ttl=0,
                         records=[f"ns1 IN A {dns}", f"www IN A {www}"])

    knot = knot_factory({"shop.test": zone(1, "127.0.0.10")}, address=dns, port=53)
    payloads: list[dict[str, Any]] = []
    arrived = asyncio.Event()
    hits: list[str] = []

    async def shop(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(text="welcome")

    async def hook(request: web.Request) -> web.Response:
        payloads.append(await request.json())
        arrived.set()
        return web.json_response({"ok": True})

    target, sink = web.Application(), web.Application()
    target.router.add_get("/", shop)
    sink.router.add_post("/hook", hook)
    api = f"127.0.0.1:{free_port()}"
    (tmp_path / "token").write_text(TOKEN)
    async with serve(target, host="127.0.0.10") as shop_url, serve(sink) as sink_url:
        port = shop_url.rsplit(":", 1)[1]
        config = tmp_path / "config.toml"
        config.write_text(textwrap.dedent(f"""
            [monitord]
            location = "test"
            state_dir = "{tmp_path / 'state'}"
            log_format = "json"
            log_results = "all"
            resolvers = ["{dns}:53"]
            [api]
            listen = "{api}"
            token_file = "{tmp_path / 'token'}"
            [defaults]
            interval = "500ms"
            retry_interval = "250ms"
            timeout = "2s"
            confirm = 2
            [[check]]
            name = "shop"
            type = "http"
            url = "http://www.shop.test:{port}/"
            description = "the shop's front page"
            [[receiver]]
            name = "oncall"
            type = "webhook"
            url = "{sink_url}/hook"
            format = "json"
            [alerting]
            default_receivers = ["oncall"]
            group_wait = "0s"
            evidence_timeout = "3s"
        """))
        proc = await start_daemon(config)
        try:
            await proc.wait_for("check_result", status="OK")
            knot.set_zone("shop.test", zone(2, "127.0.0.99"))
            async with timeout(30):
                while not payloads:
                    arrived.clear()
                    await arrived.wait()
            gathered = await proc.wait_for("evidence_gathered")
            assert gathered["changes"] == ["address: 127.0.0.10 → 127.0.0.99"]
            async with aiohttp.ClientSession() as session, session.get(
                    f"http://{api}/api/v1/incidents",
                    headers={"Authorization": f"Bearer {TOKEN}"}) as response:
                listed = (await response.json())["incidents"]
        finally:
            proc.proc.send_signal(signal.SIGTERM)
            async with timeout(10):
                await proc.proc.wait()

    [incident] = payloads[0]["incidents"]
    assert incident["target"] == f"http://www.shop.test:{port}/"
    assert incident["description"] == "the shop's front page"
    assert incident["changes"] == ["address: 127.0.0.10 → 127.0.0.99"]
    refused = {"probe": "connect", "target": f"127.0.0.99:{port}", "status": "failed",
               "detail": "Connection refused"}
    assert refused in incident["evidence"]
    assert any(e["probe"] == "resolve" and "A 127.0.0.99 (TTL 0)" in e["detail"]
               for e in incident["evidence"])
    assert listed[0]["changes"] == incident["changes"]
    assert listed[0]["evidence"] == incident["evidence"]
    # `monitord demo`'s console sink prints what was checked, the changes and the evidence.
    printed = notification_text(payloads[0])
    assert f"checked: http://www.shop.test:{port}/ — the shop's front page" in printed
    assert "address: 127.0.0.10 → 127.0.0.99" in printed
    assert f"FAILED connect 127.0.0.99:{port}: Connection refused" in printed
