"""The daemon as operators run it: start, results logged, reload good and bad, clean stop."""

from __future__ import annotations

import asyncio
import signal
import sys
import textwrap
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import structlog

from monitord.app import Daemon
from monitord.compat import timeout
from monitord.configfile import load_config
from monitord.logs import LEVELS
from monitord.model import Result
from tests.conftest import EVENT_LOOP, free_port
from tests.support.daemon import start_daemon
from tests.support.web import serve

TOKEN = "t0ken-for-tests"


def config_text(state: Path, api_port: int, checks: str, extra: str = "",
                log_results: str = "all", log_level: str = "info") -> str:
    return textwrap.dedent(f"""
        [monitord]
        location = "test"
        state_dir = "{state}"
        log_format = "json"
        log_results = "{log_results}"
        log_level = "{log_level}"
        [api]
        listen = "127.0.0.1:{api_port}"
        token_file = "{state / 'token'}"
        {extra}
        [defaults]
        interval = "1s"
        timeout = "2s"
    """) + textwrap.dedent(checks)


def tcp_check(name: str, port: int) -> str:
    return f"""
        [[check]]
        name = "{name}"
        type = "tcp"
        host = "127.0.0.1"
        port = {port}
    """


@pytest.fixture
async def tcp_target() -> AsyncIterator[int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hello\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


async def test_run_reload_and_stop(tmp_path: Path, tcp_target: int) -> None:
    api_port = free_port()
    (tmp_path / "token").write_text(TOKEN + "\n")
    path = tmp_path / "config.toml"
    path.write_text(config_text(tmp_path, api_port, tcp_check("first", tcp_target)))
    daemon = await start_daemon(path)
    try:
        started = await daemon.wait_for("started")
        assert started["event_loop"] == EVENT_LOOP
        result = await daemon.wait_for("check_result", check="first")
        assert result["status"] == "OK"
        # a check's first result is its first state, not a change
        assert not [x for x in daemon.lines if x.get("event") == "check_state_changed"]

        async with aiohttp.ClientSession() as http:
            base = f"http://127.0.0.1:{api_port}"
            async with http.get(f"{base}/healthz") as resp:
                assert resp.status == 200
            async with http.get(f"{base}/metrics") as resp:
                assert resp.status == 401
            async with http.get(f"{base}/metrics",
                                headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
                assert resp.status == 200
                assert 'monitord_check_status{check="first",type="tcp",location="test"} 0' in (
                    await resp.text())
            async with http.get(f"{base}/api/v1/status",
                                headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
                status = await resp.json()
                assert [c["check"] for c in status["checks"]] == ["first"]

        # An invalid file is rejected; the running configuration goes on.
        path.write_text(config_text(tmp_path, api_port, tcp_check("first", tcp_target))
                        + 'interval = "soon"\n')
        daemon.proc.send_signal(signal.SIGHUP)
        rejected = await daemon.wait_for("reload_rejected")
        assert 'check "first": interval: expected a duration' in rejected["error"]
        await daemon.wait_for("reload_failed")
        await daemon.wait_for("check_result", check="first", since=len(daemon.lines))

        # A valid file: the new check starts, the old one keeps running.
        path.write_text(config_text(tmp_path, api_port, tcp_check("first", tcp_target)
                                    + tcp_check("second", free_port())))
        daemon.proc.send_signal(signal.SIGHUP)
        reloaded = await daemon.wait_for("reloaded", since=len(daemon.lines))
        assert (reloaded["added"], reloaded["removed"], reloaded["changed"]) == (1, 0, 0)
        second = await daemon.wait_for("check_result", check="second")
        assert second["status"] == "CRITICAL"
        assert second["phase"] == "connect"

        daemon.proc.send_signal(signal.SIGTERM)
        async with timeout(5):
            code = await daemon.proc.wait()
        assert code == 0
        await daemon.wait_for("stopped")
    finally:
        if daemon.proc.returncode is None:
            daemon.proc.kill()
            await daemon.proc.wait()


async def test_bad_config_at_start_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[[check]]\nname = "x"\ntype = "tcp"\nhost = "127.0.0.1"\nport = 1\n'
                    'timeout = 10\n')
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitord", "run", "-c", str(path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    assert proc.returncode == 2
    assert f'{path}:6: check "x": timeout: expected a duration like "10s", got 10' in err.decode()


async def test_missing_secret_file_is_a_start_error(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[api]\nlisten = "127.0.0.1:{free_port()}"\n'
                    f'token_file = "{tmp_path / "absent"}"\n')
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitord", "run", "-c", str(path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    assert proc.returncode == 2
    assert "api.token: cannot read file" in err.decode()


async def test_api_port_in_use_is_a_clear_start_error(tmp_path: Path) -> None:
    blocker = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = blocker.sockets[0].getsockname()[1]
    path = tmp_path / "config.toml"
    path.write_text(f'[api]\nlisten = "127.0.0.1:{port}"\n')
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "monitord", "run", "-c", str(path),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        _, err = await proc.communicate()
    finally:
        blocker.close()
        await blocker.wait_closed()
    assert proc.returncode == 1
    assert "cannot start" in err.decode()
    assert "address already in use" in err.decode().lower()


async def test_stop_leaves_no_task_behind(tmp_path: Path, tcp_target: int) -> None:
    path = tmp_path / "config.toml"
    checks = "".join(tcp_check(f"c{i}", tcp_target) for i in range(20))
    (tmp_path / "token").write_text(TOKEN)
    path.write_text(config_text(tmp_path, free_port(), checks))
    daemon = Daemon(load_config(path))
    seen: set[str] = set()
    all_ran = asyncio.Event()

    async def listen(result: Result) -> None:
        seen.add(result.check)
        if len(seen) == 20:
            all_ran.set()

    daemon.result_listeners.append(listen)
    before = asyncio.all_tasks()
    runner = asyncio.create_task(daemon.run())
    await asyncio.wait_for(all_ran.wait(), 10)
    daemon.request_stop()
    async with timeout(5):
        await runner
    leftover = asyncio.all_tasks() - before - {runner}
    assert leftover == set()


@pytest.mark.parametrize(("log_results", "log_level", "written_at"), [
    ("changes", "info", set()),  # each result at debug: not written at info
    ("changes", "debug", {"debug"}),
    ("all", "info", {"info"}),
])
async def test_result_logs_and_restored_state(tmp_path: Path, tcp_target: int, log_results: str,
                                              log_level: str, written_at: set[str]) -> None:
    (tmp_path / "token").write_text(TOKEN)
    path = tmp_path / "config.toml"
    path.write_text(config_text(tmp_path, free_port(), tcp_check("first", tcp_target)
                                + 'interval = "100ms"\n', log_results=log_results,
                                log_level=log_level))

    since: list[datetime | None] = []

    async def run_until_two_results() -> list[dict[str, Any]]:
        daemon = Daemon(load_config(path))
        results: list[Result] = []
        two = asyncio.Event()

        async def listen(result: Result) -> None:
            results.append(result)
            if len(results) == 2:
                two.set()

        daemon.result_listeners.append(listen)
        with structlog.testing.capture_logs() as logs:
            # The level filter `monitord run` sets up (kept by capture_logs).
            structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(
                LEVELS[log_level]))
            task = asyncio.create_task(daemon.run())
            try:
                await asyncio.wait_for(two.wait(), 10)
            finally:
                daemon.request_stop()
                await task
        since.append(daemon.states["first"].since)
        return logs

    saved = structlog.get_config()
    try:
        first = await run_until_two_results()
        # After a restart, the state restored from the store is not a change when found again.
        second = await run_until_two_results()
    finally:
        structlog.configure(**saved)
    each = [e["log_level"] for e in first if e["event"] == "check_result"]
    assert set(each) == written_at
    assert len(each) >= 2 or not written_at
    # A check's first state is no change (no "from None"), nor is finding it again after a
    # restart: the state restored from the store is where it starts.
    assert [e for e in first if e["event"] == "check_state_changed"] == []
    assert [e for e in second if e["event"] == "check_state_changed"] == []
    # ... and since when it holds survives the restart (status shows it, not a blank).
    assert since[0] is not None
    assert since[1] == since[0]


@pytest.mark.parametrize("healthy", [True, False])
async def test_self_heartbeat_pings_only_while_healthy(tmp_path: Path, healthy: bool) -> None:
    from aiohttp import web

    pings: list[str] = []
    got_two = asyncio.Event()

    async def ping(request: web.Request) -> web.Response:
        pings.append(request.path)
        if len(pings) >= 2:
            got_two.set()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/ping/abc", ping)
    async with serve(app) as base:
        path = tmp_path / "config.toml"
        path.write_text(textwrap.dedent(f"""
            [monitord]
            state_dir = "{tmp_path}"
            [monitord.self_heartbeat]
            url = "{base}/ping/abc"
            interval = "100ms"
            [api]
            listen = ""
        """))
        daemon = Daemon(load_config(path))
        if not healthy:
            daemon.health_checks.append(lambda: "outbox: delivery workers stopped")
        task = asyncio.create_task(daemon.run())
        try:
            await asyncio.wait_for(daemon.ready.wait(), 10)
            if healthy:
                await asyncio.wait_for(got_two.wait(), 10)
                assert pings[:2] == ["/ping/abc", "/ping/abc"]
            else:
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(got_two.wait(), 1.0)  # ten intervals: not one ping
                assert pings == []
        finally:
            daemon.request_stop()
            await task
