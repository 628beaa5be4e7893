"""Hostile API clients, against the real daemon on loopback: every bad request is a 4xx with
a JSON body (never a 500), slow and idle connections are cut, connections are capped, the
heartbeat endpoint answers refusals at the same cost, and refusal logs are rate-limited."""

from __future__ import annotations

import asyncio
import hmac
import json
import signal
import statistics
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from tests.conftest import free_port
from tests.faults.edges import TOKEN, config_text
from tests.support.daemon import Proc, start_daemon

HEARTBEAT_TOKEN = "hb-t0ken-for-faults"
EXTRA = """
[[check]]
name = "nightly"
type = "heartbeat"
interval = "1h"
period = "24h"
token_file = "hb.token"
"""


class Api:
    def __init__(self, proc: Proc, port: int) -> None:
        self.proc, self.port = proc, port
        self.base = f"http://127.0.0.1:{port}"

    async def raw(self, request: bytes, wait: float = 5.0) -> bytes:
        """Send raw bytes, return everything the daemon answers until it closes."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(request)
        await writer.drain()
        try:
            return await asyncio.wait_for(reader.read(), wait)
        finally:
            writer.close()


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    (tmp_path / "token").write_text(TOKEN + "\n")
    (tmp_path / "hb.token").write_text(HEARTBEAT_TOKEN + "\n")
    port = free_port()
    path = tmp_path / "config.toml"
    text = config_text(tmp_path, port, extra=EXTRA).replace(
        "[api]\n", '[api]\nrequest_timeout = "1s"\nmax_connections = 8\n', 1)
    path.write_text(text)
    proc = await start_daemon(path)
    try:
        await proc.wait_for("api_listening")
        yield Api(proc, port)
    finally:
        if proc.proc.returncode is None:
            proc.proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.proc.wait(), 20)


def _status_and_json(answer: bytes) -> tuple[int, object]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body) if body else None


def _post(path: str, body: bytes, headers: str = "") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{headers}"
            f"Connection: close\r\n\r\n").encode() + body


@pytest.mark.parametrize("body", [
    {"matchers": ["check=x"], "duration": "99999999999d", "comment": "overflow"},
    {"matchers": ["check=x"], "starts_at": "9999-12-31T23:59:59+00:00", "duration": "1d"},
    {"matchers": ["check=x"], "ends_at": "9999-12-31T23:59:59+00:00"},
    {"matchers": ["check=x"], "starts_at": "0001-01-01T00:00:00+00:00", "duration": "1h"},
])
async def test_silence_times_that_overflow_are_400(api: Api, body: dict[str, object]) -> None:
    status, answer = _status_and_json(await api.raw(_post("/api/v1/silences",
                                                          json.dumps(body).encode())))
    assert status == 400
    assert isinstance(answer, dict)
    assert "error" in answer


async def test_deeply_nested_json_body_is_400(api: Api) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    status, answer = _status_and_json(await api.raw(_post("/api/v1/silences", body)))
    assert status == 400
    assert isinstance(answer, dict)


async def test_non_utf8_authorization_header_is_401(api: Api) -> None:
    for path in ("/api/v1/status", "/api/v1/heartbeat/nightly"):
        request = (f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                   "Authorization: Bearer ").encode() + b"\xff\xfe\xc3(" + b"\r\n\r\n"
        status, answer = _status_and_json(await api.raw(request))
        assert status == 401, path
        assert isinstance(answer, dict)


async def test_unknown_path_and_method_answer_json(api: Api) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{api.base}/nope") as resp:
            assert resp.status == 404
            assert "error" in await resp.json()
        async with http.put(f"{api.base}/api/v1/status") as resp:
            assert resp.status == 405
            assert "error" in await resp.json()


async def test_no_traceback_and_no_500_in_the_log(api: Api) -> None:
    await test_deeply_nested_json_body_is_400(api)
    await test_non_utf8_authorization_header_is_401(api)
    await api.proc.wait_for("check_result", since=len(api.proc.lines))
    raw = [line for line in api.proc.lines if line.get("event") == "raw"]
    assert raw == []  # every line of the log is one JSON object
    assert not [line for line in api.proc.lines if "Traceback" in json.dumps(line)]


async def test_idle_and_slow_connections_are_cut(api: Api) -> None:
    started = time.monotonic()
    idle = await api.raw(b"", wait=10)
    partial = await api.raw(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n", wait=10)
    assert (idle, partial) == (b"", b"")
    assert time.monotonic() - started < 8  # request_timeout is 1 s


async def test_slow_body_is_cut(api: Api) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", api.port)
    writer.write(_post("/api/v1/silences", b"{")[:-1].replace(b"Content-Length: 1",
                                                              b"Content-Length: 100"))
    await writer.drain()
    started = time.monotonic()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    assert time.monotonic() - started < 8
    if answer:
        assert _status_and_json(answer)[0] == 408


async def test_connections_are_capped(api: Api) -> None:
    held = [await asyncio.open_connection("127.0.0.1", api.port) for _ in range(8)]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", api.port)
        assert await asyncio.wait_for(reader.read(), 0.9) == b""  # closed before the timeout
        writer.close()
    finally:
        for _, writer in held:
            writer.close()
    await asyncio.sleep(0.2)
    async with aiohttp.ClientSession() as http, http.get(f"{api.base}/healthz") as resp:
        assert resp.status in (200, 503)


async def test_refusals_are_logged_at_a_bounded_rate(api: Api) -> None:
    since = len(api.proc.lines)
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            async with http.get(f"{api.base}/api/v1/status",
                                headers={"Authorization": "Bearer wrong"}) as resp:
                assert resp.status == 401
    await api.proc.wait_for("check_result", since=len(api.proc.lines))
    refused = [line for line in api.proc.lines[since:]
               if line.get("event") == "api_unauthorized"]
    assert 1 <= len(refused) <= 20


async def test_heartbeat_refusals_cost_the_same(api: Api) -> None:
    """Interleaved, so that load on the machine hits both alike; the bound is generous."""
    wrong = {"Authorization": "Bearer not-the-token"}
    times: dict[str, list[float]] = {"nightly": [], "no-such-check": []}
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            for name, samples in times.items():
                started = time.perf_counter()
                async with http.post(f"{api.base}/api/v1/heartbeat/{name}",
                                     headers=wrong) as resp:
                    assert resp.status == 401
                    await resp.read()
                samples.append(time.perf_counter() - started)
    existing = statistics.median(times["nightly"])
    unknown = statistics.median(times["no-such-check"])
    assert 0.75 < existing / unknown < 1.33, (existing, unknown)


async def test_heartbeat_refusals_do_identical_work(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The proof behind the timing: an unknown check and a wrong token for an existing one
    go through the same steps, counted (a thread hop, a secret read, digests, a compare)."""
    from aiohttp.test_utils import TestClient, TestServer

    from monitord.clock import SystemClock
    from monitord.config.reader import SecretRef
    from monitord.configfile import load_config
    from monitord.heartbeat import api as heartbeat_api
    from monitord.heartbeat.api import heartbeat_routes
    from monitord.heartbeat.board import HeartbeatBoard

    (tmp_path / "token").write_text(TOKEN + "\n")
    (tmp_path / "hb.token").write_text(HEARTBEAT_TOKEN + "\n")
    path = tmp_path / "config.toml"
    path.write_text(config_text(tmp_path, free_port(), extra=EXTRA))
    checks = {c.name: c for c in load_config(path).checks}
    board = HeartbeatBoard(SystemClock())
    app = web.Application()
    heartbeat_routes(app, board, lambda: checks, lambda name: None)

    calls: list[str] = []
    for owner, name in ((SecretRef, "read"), (heartbeat_api, "_digest"),
                        (hmac, "compare_digest"), (asyncio, "to_thread")):
        real = getattr(owner, name)

        def spy(*args: object, _real: object = real, _name: str = name, **kw: object) -> object:
            calls.append(_name)
            return _real(*args, **kw)  # type: ignore[operator]

        monkeypatch.setattr(owner, name, spy)

    async with TestClient(TestServer(app)) as client:
        work = {}
        for name in ("nightly", "no-such-check"):
            calls.clear()
            resp = await client.post(f"/api/v1/heartbeat/{name}",
                                     headers={"Authorization": "Bearer wrong"})
            assert resp.status == 401
            work[name] = sorted(calls)
    assert work["nightly"] == work["no-such-check"]
    assert "read" in work["nightly"]
