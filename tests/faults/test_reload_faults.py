"""Reload = build the new world, then swap: SIGHUP with a faulty file keeps the old world
whole (one log line says why); a good file changes what it says, token included."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from tests.conftest import free_port
from tests.faults.edges import TOKEN, config_text
from tests.support.daemon import Proc, on_test_loop, start_daemon


class Running:
    def __init__(self, proc: Proc, path: Path, port: int) -> None:
        self.proc, self.path, self.port = proc, path, port
        self.base = f"http://127.0.0.1:{port}"

    async def reload(self, text: str, expect: str) -> dict[str, object]:
        since = len(self.proc.lines)
        self.path.write_text(text)
        on_test_loop(self.path)  # the same loop as at start: no restart-only change
        self.proc.proc.send_signal(signal.SIGHUP)
        return await self.proc.wait_for(expect, since=since)

    async def status(self, token: str) -> int:
        async with aiohttp.ClientSession() as http, http.get(
                f"{self.base}/api/v1/status",
                headers={"Authorization": f"Bearer {token}"}) as resp:
            return resp.status


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Running]:
    (tmp_path / "token").write_text(TOKEN + "\n")
    port = free_port()
    path = tmp_path / "config.toml"
    path.write_text(config_text(tmp_path, port))
    proc = await start_daemon(path)
    try:
        await proc.wait_for("started")
        yield Running(proc, path, port)
    finally:
        if proc.proc.returncode is None:
            proc.proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.proc.wait(), 20)


async def _still_whole(running: Running) -> None:
    """The old world answers: the process lives, the API takes the old token, checks run."""
    assert running.proc.proc.returncode is None
    assert await running.status(TOKEN) == 200
    since = len(running.proc.lines)
    await running.proc.wait_for("check_result", since=since, check="tcp-closed")


def _base(tmp_path: Path, running: Running) -> str:
    return config_text(tmp_path, running.port)


async def test_deeply_nested_toml_keeps_the_old_world(daemon: Running) -> None:
    line = await daemon.reload("a = " + "[" * 5000 + "]" * 5000 + "\n", "reload_failed")
    assert "nested" in str(line)
    await _still_whole(daemon)


async def test_missing_receiver_ca_file_keeps_the_old_world(daemon: Running,
                                                            tmp_path: Path) -> None:
    text = _base(tmp_path, daemon) + f"""
[alerting]
default_receivers = ["hook"]
[[receiver]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:{free_port()}/hook"
ca_file = "{tmp_path / 'no-such-ca.pem'}"
"""
    line = await daemon.reload(text, "reload_failed")
    assert "ca_file" in str(line)
    await _still_whole(daemon)


async def test_unusable_receiver_ca_file_keeps_the_old_world(daemon: Running,
                                                             tmp_path: Path) -> None:
    """Readable but not certificates: only building the sender finds out."""
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    text = _base(tmp_path, daemon) + f"""
[alerting]
default_receivers = ["hook"]
[[receiver]]
name = "hook"
type = "webhook"
url = "https://127.0.0.1:{free_port()}/hook"
ca_file = "ca.pem"
"""
    line = await daemon.reload(text, "reload_failed")
    assert "ca_file: cannot use it as CA certificates" in str(line)
    await _still_whole(daemon)


async def test_unreadable_receiver_secret_keeps_the_old_world(daemon: Running,
                                                              tmp_path: Path) -> None:
    text = _base(tmp_path, daemon) + f"""
[alerting]
default_receivers = ["hook"]
[[receiver]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:{free_port()}/hook"
format = "pagerduty"
routing_key_file = "{tmp_path / 'no-such-key'}"
"""
    line = await daemon.reload(text, "reload_failed")
    assert "no-such-key" in str(line)
    await _still_whole(daemon)


async def test_new_token_file_takes_effect(daemon: Running, tmp_path: Path) -> None:
    (tmp_path / "token2").write_text("the-new-token\n")
    text = _base(tmp_path, daemon).replace(str(tmp_path / "token"), str(tmp_path / "token2"))
    await daemon.reload(text, "reloaded")
    assert await daemon.status(TOKEN) == 401
    assert await daemon.status("the-new-token") == 200


async def test_self_heartbeat_and_caps_take_effect(daemon: Running, tmp_path: Path) -> None:
    pings: list[str] = []

    async def ping(request: web.Request) -> web.Response:
        pings.append(request.path)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/ping", ping)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        text = _base(tmp_path, daemon).replace(
            'log_results = "all"',
            'log_results = "all"\nmax_concurrent_checks = 7\nmax_checks_per_host = 3\n'
            f'[monitord.self_heartbeat]\nurl = "http://127.0.0.1:{port}/ping"\n'
            'interval = "1s"\n', 1)
        since = len(daemon.proc.lines)
        await daemon.reload(text, "reloaded")
        for _ in range(100):
            if pings:
                break
            await asyncio.sleep(0.1)
        assert pings, "the self-heartbeat added by the reload never pinged"
        restart = [line for line in daemon.proc.lines[since:]
                   if line.get("event") == "reload_needs_restart"]
        assert restart == []
        caps = await daemon.proc.wait_for("limits_changed", since=since)
        assert (caps["max_concurrent_checks"], caps["max_checks_per_host"]) == (7, 3)
    finally:
        await runner.cleanup()


async def test_restart_only_settings_are_named(daemon: Running, tmp_path: Path) -> None:
    text = _base(tmp_path, daemon).replace('location = "test"', 'location = "elsewhere"')
    text = text.replace("[[check]]", '[[check]]\nlocations = ["elsewhere"]')
    line = await daemon.reload(text, "reload_needs_restart")
    assert line["setting"] == "monitord.location"
