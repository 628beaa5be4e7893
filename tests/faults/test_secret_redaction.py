"""A password planted in a check URL never shows: not in the log, the API, the status page,
the database or ``probe`` output. The target still receives it (as basic authentication)."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import aiohttp
from aiohttp import web

from tests.conftest import free_port
from tests.faults.edges import TOKEN, config_text
from tests.support.daemon import start_daemon
from tests.support.web import serve

PLANTED = "Planted-Pa55word"


async def test_planted_url_password_appears_nowhere(tmp_path: Path) -> None:
    seen_auth: list[str] = []

    async def start(request: web.Request) -> web.Response:
        seen_auth.append(request.headers.get("Authorization", ""))
        raise web.HTTPFound(f"http://user:{PLANTED}@{request.host}/loop")

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"http://user:{PLANTED}@{request.host}/start")

    async def bad(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": f"http://user:{PLANTED}@[::1/"})

    app = web.Application()
    app.router.add_get("/bad", bad)
    app.router.add_get("/start", start)
    app.router.add_get("/loop", loop)
    (tmp_path / "token").write_text(TOKEN + "\n")
    port = free_port()
    async with serve(app) as base:
        target = base.replace("http://", f"http://user:{PLANTED}@")
        closed = f"http://user:{PLANTED}@127.0.0.1:{free_port()}/"
        path = tmp_path / "config.toml"
        path.write_text(config_text(tmp_path, port, extra=f"""
            [[check]]
            name = "loop"
            type = "http"
            url = "{target}/start"
            interval = "1s"
            confirm = 1
            [[check]]
            name = "badloc"
            type = "http"
            url = "{target}/bad"
            interval = "1s"
            confirm = 1
            [[check]]
            name = "closed"
            type = "http"
            url = "{closed}"
            interval = "1s"
            confirm = 1
        """))
        daemon = await start_daemon(path)
        answers: list[str] = []
        try:
            await daemon.wait_for("alert_event", check="loop")
            await daemon.wait_for("alert_event", check="closed")
            await daemon.wait_for("alert_event", check="badloc")
            async with aiohttp.ClientSession(
                    headers={"Authorization": f"Bearer {TOKEN}"}) as http:
                for endpoint in ("/api/v1/status", "/", "/api/v1/incidents", "/metrics"):
                    async with http.get(f"http://127.0.0.1:{port}{endpoint}") as resp:
                        assert resp.status == 200, endpoint
                        answers.append(await resp.text())
        finally:
            daemon.proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(daemon.proc.wait(), 20)
        assert daemon.proc.stderr is not None
        log = "\n".join(str(line) for line in daemon.lines)
        log += (await daemon.proc.stderr.read()).decode(errors="replace")
        probe = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "monitord", "probe", "-c", str(path),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        probe_out, probe_err = await asyncio.wait_for(probe.communicate(), 60)
        probe_json = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "monitord", "probe", "--json", "-c", str(path),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        json_out, json_err = await asyncio.wait_for(probe_json.communicate(), 60)

    database = b"".join(await asyncio.to_thread(
        lambda: [p.read_bytes() for p in sorted(tmp_path.glob("monitord.db*"))]))
    outputs = {
        "log": log, "api": "\n".join(answers), "database": database.decode("latin-1"),
        "probe": (probe_out + probe_err + json_out + json_err).decode(errors="replace"),
    }
    for where, text in outputs.items():
        leaks = [line for line in text.splitlines() if PLANTED in line]
        assert not leaks, (where, leaks[:2])
    assert "user:***@[::1/" in log  # the invalid Location was shown, redacted
    assert "redirect loop" in outputs["probe"]
    assert seen_auth
    assert seen_auth[0].startswith("Basic ")  # the target still got the credentials
