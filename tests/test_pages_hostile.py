"""Hostile browsers against the status pages of a real daemon on loopback: slow form bodies
are cut within ``[api] request_timeout``, ``next`` never redirects off the server, a session
dies with the token it was opened with, page silences are bounded like the API's, and failed
logins are logged at a bounded rate."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest
import structlog

from monitord.api.pages import _local
from tests.support.statuspage import TOKEN, Running, status_daemon
from tests.test_status_pages import csrf, login

HOSTILE_NEXT = ["/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "//evil.example",
                "/\\evil.example", "\\/evil.example", "https://evil.example/",
                "http:/evil.example", "javascript:alert(1)", "evil.example", "/\x00/evil",
                "/\x7f/evil.example", "/a\\b", ""]
FAST = 'request_timeout = "1s"'


@pytest.mark.parametrize("path", HOSTILE_NEXT)
def test_local_refuses_what_a_browser_could_read_as_another_host(path: str) -> None:
    assert _local(path) == "/"


@pytest.mark.parametrize("path", ["/", "/check/shop-api", "/check/a?x=1#top", "/a/b//c"])
def test_local_keeps_a_path_on_this_server(path: str) -> None:
    assert _local(path) == path


async def _trickle(run: Running, path: str, cookie: str = "") -> tuple[bytes, float]:
    """POST ``path`` announcing 1000 bytes and sending one every 0.2 s: what the daemon
    answers before it closes, and how long that took."""
    port = int(run.base.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write((f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                  "Content-Type: application/x-www-form-urlencoded\r\n"
                  f"{cookie}\r\n").encode())
    started = time.monotonic()
    answer = bytearray()

    async def read() -> None:
        while chunk := await reader.read(65536):
            answer.extend(chunk)

    reading = asyncio.create_task(read())
    try:
        while not reading.done() and time.monotonic() - started < 15:
            writer.write(b"a")
            await asyncio.sleep(0.2)
    except ConnectionError:
        pass
    finally:
        writer.close()
        reading.cancel()
    return bytes(answer), time.monotonic() - started


async def test_slow_form_bodies_are_cut(tmp_path: Path) -> None:
    async with status_daemon(tmp_path, FAST) as run, aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        answer, took = await _trickle(run, "/login")
        assert took < 8  # request_timeout is 1 s; without a bound it never ends
        assert answer.startswith(b"HTTP/1.1 408")
        answer, took = await _trickle(run, "/logout")  # no session: refused before the body
        assert answer.startswith(b"HTTP/1.1 403")
        assert took < 8
        cookie = (await login(http, run.base)).split(";")[0]
        for path in ("/logout", "/ui/silences", "/ui/incidents/x/ack"):
            answer, took = await _trickle(run, path, f"Cookie: {cookie}\r\n")
            assert took < 8, path
            assert answer.startswith(b"HTTP/1.1 408"), path


async def test_next_never_leaves_the_server(tmp_path: Path) -> None:
    async with status_daemon(tmp_path) as run, aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        for hostile in HOSTILE_NEXT:
            async with http.post(f"{run.base}/login", allow_redirects=False, data={
                    "user": "alice", "token": TOKEN, "next": hostile}) as resp:
                assert (resp.status, resp.headers["Location"]) == (303, "/"), repr(hostile)
            async with http.get(f"{run.base}/login", params={"next": hostile},
                                allow_redirects=False) as resp:  # logged in: redirected
                assert (resp.status, resp.headers["Location"]) == (303, "/"), repr(hostile)


async def test_a_session_dies_with_its_token(tmp_path: Path) -> None:
    async with status_daemon(tmp_path) as run, aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await login(http, run.base)
        async with http.get(f"{run.base}/check/shop-api") as resp:
            token = csrf(await resp.text())
        (tmp_path / "token").write_text("a-new-t0ken")
        assert await run.daemon.reload()
        async with http.get(f"{run.base}/", allow_redirects=False) as resp:
            assert resp.status == 303
            assert resp.headers["Location"].startswith("/login")
        async with http.post(f"{run.base}/ui/silences", allow_redirects=False, data={
                "csrf": token, "scope": "check", "value": "shop-api",
                "duration": "1h"}) as resp:
            assert resp.status == 403
        async with http.post(f"{run.base}/login", allow_redirects=False, data={
                "user": "alice", "token": "a-new-t0ken", "next": "/"}) as resp:
            assert resp.status == 303
        async with http.get(f"{run.base}/", allow_redirects=False) as resp:
            assert resp.status == 200


async def test_page_silences_are_bounded(tmp_path: Path) -> None:
    async with status_daemon(tmp_path) as run, aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await login(http, run.base)
        async with http.get(f"{run.base}/check/shop-api") as resp:
            token = csrf(await resp.text())
        for duration, status in (("2900000d", 400), ("99999999d", 400),
                                 ("99999999999999d", 400), ("367d", 400), ("366d", 303)):
            async with http.post(f"{run.base}/ui/silences", allow_redirects=False, data={
                    "csrf": token, "scope": "check", "value": "shop-api",
                    "duration": duration}) as resp:
                assert resp.status == status, duration
        assert run.daemon.alerting is not None
        (silence,) = run.daemon.alerting.silences(run.daemon.clock.now())
        assert (silence.ends_at - silence.starts_at).days == 366


async def test_failed_logins_are_logged_at_a_bounded_rate(tmp_path: Path) -> None:
    async with status_daemon(tmp_path) as run, aiohttp.ClientSession() as http:
        with structlog.testing.capture_logs() as logs:
            for _ in range(50):
                async with http.post(f"{run.base}/login",
                                     data={"user": "x" * 500, "token": "nope"}) as resp:
                    assert resp.status == 401
        failed = [e for e in logs if e["event"] == "page_login_failed"]
        assert 1 <= len(failed) <= 10
        assert all(len(e["user"]) <= 40 for e in failed)
