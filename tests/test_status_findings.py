"""A central daemon (in this process) with one probe agent posting over its real API: the
status pages show each location's row (agent-run checks too, stale ones marked), what changed
and the evidence, escaped; the evidence names how the other location saw the problem; and
/metrics counts the agent's results and batches."""

from __future__ import annotations

import asyncio
import io
import json
import re
import textwrap
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from monitord.app import Daemon
from monitord.compat import timeout
from monitord.configfile import load_config
from monitord.model import Status
from tests.conftest import free_port
from tests.support.web import serve

TOKEN = "findings-api-token"
AGENT = "london-agent-token"
XSS = "<script>alert(1)</script> refused"


@dataclass
class Central:
    daemon: Daemon
    base: str
    closed_port: int
    shop_failing: list[bool]

    async def get(self, path: str) -> str:
        async with aiohttp.ClientSession() as http, http.get(
                self.base + path, headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
            assert resp.status == 200, path
            return await resp.text()

    async def post(self, body: Any) -> int:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        async with aiohttp.ClientSession() as http, http.post(
                self.base + "/api/v1/results", data=io.BytesIO(data),
                headers={"Authorization": f"Bearer {AGENT}"}) as resp:
            return resp.status

    async def until(self, ready: Callable[[], bool], within: float = 20.0) -> None:
        async with timeout(within):
            while True:
                if ready():
                    return
                await asyncio.sleep(0.1)


def result(check: str, status: str, summary: str, phase: str | None = None,
           ms: float = 95.0) -> dict[str, Any]:
    at = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
    return {"check": check, "type": "http" if check == "shop" else "tcp",
            "location": "london", "status": status, "phase": phase, "summary": summary,
            "duration_ms": ms, "metrics": {}, "at": at}


@asynccontextmanager
async def central(tmp_path: Path) -> AsyncIterator[Central]:
    failing = [False]

    async def shop(request: web.Request) -> web.Response:
        if failing[0]:
            return web.Response(status=503, text="down for maintenance")
        return web.Response(text="welcome")

    site = web.Application()
    site.router.add_get("/", shop)
    (tmp_path / "token").write_text(TOKEN)
    (tmp_path / "london.token").write_text(AGENT)
    api, closed = free_port(), free_port()
    async with serve(site) as shop_url:
        path = tmp_path / "config.toml"
        path.write_text(textwrap.dedent(f"""
            [monitord]
            location = "paris"
            state_dir = "{tmp_path / 'state'}"
            log_format = "json"
            [api]
            listen = "127.0.0.1:{api}"
            token_file = "{tmp_path / 'token'}"
            [alerting]
            evidence_timeout = "3s"
            [defaults]
            interval = "1s"
            retry_interval = "1s"
            timeout = "2s"
            [[agent]]
            location = "london"
            token_file = "{tmp_path / 'london.token'}"
            silent_after = "1h"
            [[check]]
            name = "shop"
            type = "http"
            url = "{shop_url}/"
            locations = ["paris", "london"]
            confirm = 2
            labels = {{ service = "shop" }}
            [[check]]
            name = "intranet"
            type = "tcp"
            host = "127.0.0.1"
            port = {closed}
            locations = ["london"]
            confirm = 1
        """))
        daemon = Daemon(load_config(path))
        task = asyncio.create_task(daemon.run())
        try:
            run = Central(daemon, f"http://127.0.0.1:{api}", closed, failing)
            await run.until(lambda: daemon.alerting is not None and daemon.intake is not None
                            and "shop" in daemon.states)
            yield run
        finally:
            daemon.request_stop()
            async with timeout(10):
                await task


def open_incident(run: Central, check: str) -> str | None:
    assert run.daemon.alerting is not None
    found = [i.id for i in run.daemon.alerting.incidents()
             if i.check == check and i.ended_at is None]
    return found[0] if found else None


def gathered(run: Central, check: str) -> bool:
    incident = open_incident(run, check)
    assert run.daemon.alerting is not None
    return incident is not None and bool(run.daemon.alerting.diagnosis(incident)[0])


async def test_pages_show_locations_changes_and_evidence(tmp_path: Path) -> None:
    async with central(tmp_path) as run:
        batch = {"location": "london", "batch": 1, "results": [
            result("shop", "OK", "HTTP 200 in 95 ms"),
            result("intranet", "CRITICAL", XSS, "connect", 3.0)]}
        assert await run.post(batch) == 200
        shop = run.daemon.states["shop"]
        await run.until(lambda: shop.last.get("paris") is not None
                        and shop.last["paris"].status is Status.OK)
        run.shop_failing[0] = True
        await run.until(lambda: gathered(run, "shop") and gathered(run, "intranet"))

        # The evidence starts with how the other location saw it when it was confirmed.
        assert run.daemon.alerting is not None
        shop_id = open_incident(run, "shop")
        assert shop_id is not None
        evidence, changes = run.daemon.alerting.diagnosis(shop_id)
        assert evidence[0].probe == "location"
        assert (evidence[0].target, evidence[0].status) == ("london", "ok")
        assert evidence[0].detail.startswith("OK 95 ms")
        assert "status: 200 → 503" in changes
        intranet_id = open_incident(run, "intranet")
        assert intranet_id is not None
        (london,) = [e for e in run.daemon.alerting.diagnosis(intranet_id)[0]
                     if e.probe == "location"]
        assert london.status == "failed"
        assert london.detail.startswith('CRITICAL connect "<script>')

        html = await run.get("/")
        cards = {m.group(1): m.group(0) for m in re.finditer(
            r'<div class="card incident[^"]*" data-incident="[^"]*">.*?<a class="check" '
            r'href="/check/(\w+)">.*?(?=<div class="card incident|<h2>Silences)', html,
            re.S)}
        assert set(cards) == {"shop", "intranet"}
        assert 'data-location="london"' in cards["shop"]
        assert 'data-location="paris"' in cards["shop"]
        assert "status: 200 → 503" in cards["shop"]  # what changed
        assert "Failed evidence" in cards["shop"]
        assert "FAILED http GET" in cards["shop"]
        assert "ok location london" not in cards["shop"]  # short: failed items only
        assert f'href="/check/shop#incident-{shop_id}"' in cards["shop"]
        # An agent-run check: its one location's row; what it said is escaped everywhere.
        assert 'data-location="london"' in cards["intranet"]
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt; refused" in cards["intranet"]
        assert "FAILED location london: CRITICAL connect" in cards["intranet"]

        page = await run.get("/check/shop")
        assert f'id="incident-{shop_id}"' in page
        assert "ok location london: OK 95 ms" in page  # every item on the check page
        assert "FAILED http GET" in page
        assert "status: 200 → 503" in page
        # london posts no more: its row turns stale (older than 3 x interval), marked so.
        await run.until(lambda: any(
            v.location == "london" and v.stale
            for v in run.daemon.alerting.check_states()["shop"].locations))  # type: ignore[union-attr]
        page = await run.get("/check/shop")
        assert re.search(r'<tr class="stale" data-location="london"><td>london<span '
                         r'class="tag"[^>]*>stale</span>', page)
        assert '<tr class="fresh" data-location="paris">' in page
        assert "<script>alert" not in await run.get("/check/intranet")


async def test_agent_counters_in_metrics(tmp_path: Path) -> None:
    async with central(tmp_path) as run:
        first = {"location": "london", "batch": 7, "results": [
            result("shop", "OK", "HTTP 200"), result("intranet", "OK", "connected")]}
        assert await run.post(first) == 200
        assert await run.post(first) == 200  # replayed: acknowledged, not counted
        assert await run.post({**first, "batch": 8, "location": "paris"}) == 403
        assert await run.post(b"x" * (4 * 1024 * 1024 + 1)) == 413
        assert await run.post({**first, "batch": 9, "dropped": 3, "results": [
            result("shop", "OK", "HTTP 200")]}) == 200

        families = {f.name: f for f in text_string_to_metric_families(
            await run.get("/metrics"))}
        results = {s.labels["outcome"]: s.value
                   for s in families["monitord_agent_results"].samples
                   if s.labels["location"] == "london" and s.name.endswith("_total")}
        assert results == {"accepted": 3, "refused": 0, "dropped": 3}
        batches = {s.labels["outcome"]: s.value
                   for s in families["monitord_agent_batches"].samples
                   if s.name.endswith("_total")}
        assert batches == {"accepted": 2, "replayed": 1, "refused": 2}
        (age,) = families["monitord_agent_last_post_seconds"].samples
        assert age.labels == {"location": "london"}
        assert 0 <= age.value < 10
        (silent,) = families["monitord_agent_silent"].samples
        assert (silent.labels, silent.value) == ({"location": "london"}, 0)
