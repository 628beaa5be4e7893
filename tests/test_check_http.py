"""The ``http`` check against real aiohttp servers (and a knotd resolver) on loopback."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from monitord.checks import http
from monitord.checks.base import CheckEnv, check_env
from monitord.clock import SystemClock
from monitord.config.reader import ConfigInvalid
from monitord.configfile import load_config
from monitord.model import Outcome, Phase, Status
from tests.conftest import free_port
from tests.support import probing
from tests.support.certs import Authority, self_signed_context
from tests.support.dnszones import config_errors, zone_text
from tests.support.knot import KnotServer, start_knot
from tests.support.web import serve

BIG = 50 * 1024 * 1024


class Sent:
    """Bytes of the big body the server managed to hand over to its socket."""

    count = 0


SENT = web.AppKey("sent", Sent)
TIMING_KEYS = {"time_resolve_ms", "time_connect_ms", "time_tls_ms", "time_firstbyte_ms",
               "time_total_ms"}


def target_app() -> web.Application:
    app = web.Application()
    app[SENT] = Sent()

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="hello from monitord's target\n")

    async def fail(request: web.Request) -> web.Response:
        return web.Response(status=500, text="database is down")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(float(request.query["s"]))
        return web.Response(text="finally")

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.match_info["to"].replace("~", "/"))

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop/b" if request.match_info["at"] == "a" else "/loop/a")

    async def hop(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"/hop/{int(request.match_info['n']) + 1}")

    async def big(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = BIG
        await response.prepare(request)
        chunk = b"x" * 65536
        for _ in range(BIG // len(chunk)):
            await response.write(chunk)
            app[SENT].count += len(chunk)
        return response

    async def document(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "checks": {"db": "up"}, "count": 3,
                                  "nodes": [{"healthy": True}, {"healthy": False}]})

    async def echo(request: web.Request) -> web.Response:
        body = await request.text()
        return web.Response(text=f"{request.method} {request.headers.get('X-Token')} {body}")

    async def see_other(request: web.Request) -> web.Response:
        raise web.HTTPSeeOther("/echo")

    app.router.add_get("/ok", ok)
    app.router.add_get("/fail", fail)
    app.router.add_get("/slow", slow)
    app.router.add_get("/go/{to}", redirect)
    app.router.add_get("/loop/{at}", loop)
    app.router.add_get("/hop/{n}", hop)
    app.router.add_get("/big", big)
    app.router.add_get("/json", document)
    app.router.add_route("*", "/echo", echo)
    app.router.add_post("/submit", see_other)
    return app


@pytest.fixture
async def site() -> AsyncIterator[tuple[str, web.Application]]:
    app = target_app()
    async with serve(app) as base:
        yield base, app


env = probing.env


async def probe(env: CheckEnv, data: dict[str, Any], limit: float = 5.0) -> Outcome:
    return await probing.run_once(http.KIND, env, data, limit)


async def test_200_is_ok_with_every_timing(site: tuple[str, web.Application],
                                           env: CheckEnv) -> None:
    outcome = await probe(env, {"url": f"{site[0]}/ok"})
    assert outcome.status is Status.OK, outcome
    assert outcome.phase is None
    assert outcome.summary.startswith("HTTP 200 in ")
    assert set(outcome.metrics) >= TIMING_KEYS
    assert outcome.metrics["status_code"] == 200
    assert outcome.metrics["body_bytes"] == len("hello from monitord's target\n")


async def test_500_is_critical_in_the_response_phase(site: tuple[str, web.Application],
                                                     env: CheckEnv) -> None:
    outcome = await probe(env, {"url": f"{site[0]}/fail"})
    assert (outcome.status, outcome.phase) == (Status.CRITICAL, Phase.RESPONSE)
    assert outcome.summary == "HTTP 500 (expected 200–399)"


async def test_expected_status_list_accepts_what_it_names(site: tuple[str, web.Application],
                                                          env: CheckEnv) -> None:
    outcome = await probe(env, {"url": f"{site[0]}/fail", "expect_status": ["5xx"]})
    assert outcome.status is Status.OK, outcome
    outcome = await probe(env, {"url": f"{site[0]}/ok", "expect_status": [204, "300-399"]})
    assert outcome.status is Status.CRITICAL
    assert "expected 204, 300–399" in outcome.summary


async def test_slower_than_the_timeout_names_the_stage(site: tuple[str, web.Application],
                                                       env: CheckEnv) -> None:
    outcome = await probe(env, {"url": f"{site[0]}/slow?s=30"}, limit=0.5)
    assert (outcome.status, outcome.phase) == (Status.CRITICAL, Phase.TIMEOUT)
    assert outcome.summary == "no result within 500ms (stuck waiting for the response)"
    assert set(outcome.metrics) >= TIMING_KEYS


async def test_slower_than_max_response_time_warns(site: tuple[str, web.Application],
                                                   env: CheckEnv) -> None:
    outcome = await probe(env, {"url": f"{site[0]}/slow?s=0.3", "max_response_time": "100ms"})
    assert (outcome.status, outcome.phase) == (Status.WARNING, Phase.RESPONSE)
    assert "slower than max_response_time 100ms" in outcome.summary
    fast = await probe(env, {"url": f"{site[0]}/ok", "max_response_time": "5s"})
    assert fast.status is Status.OK


async def test_redirect_is_followed(site: tuple[str, web.Application], env: CheckEnv) -> None:
    outcome = await probe(env, {"url": f"{site[0]}/go/~ok", "expect_body": "hello"})
    assert outcome.status is Status.OK, outcome
    assert outcome.metrics["redirects"] == 1
    assert "after 1 redirect" in outcome.summary


async def test_redirect_not_followed_when_told(site: tuple[str, web.Application],
                                               env: CheckEnv) -> None:
    outcome = await probe(env, {"url": f"{site[0]}/go/~ok", "follow_redirects": False,
                                "expect_status": [302]})
    assert outcome.status is Status.OK, outcome
    assert outcome.metrics["redirects"] == 0


async def test_redirect_loop_is_a_clear_failure(site: tuple[str, web.Application],
                                                env: CheckEnv) -> None:
    base = site[0]
    outcome = await probe(env, {"url": f"{base}/loop/a"})
    assert (outcome.status, outcome.phase) == (Status.CRITICAL, Phase.RESPONSE)
    assert outcome.summary == f"redirect loop: {base}/loop/a -> {base}/loop/b -> {base}/loop/a"


async def test_endless_redirect_chain_stops_at_max_redirects(
    site: tuple[str, web.Application], env: CheckEnv
) -> None:
    outcome = await probe(env, {"url": f"{site[0]}/hop/0", "max_redirects": 3})
    assert (outcome.status, outcome.phase) == (Status.CRITICAL, Phase.RESPONSE)
    assert outcome.summary == f"more than 3 redirects (last to {site[0]}/hop/4)"


async def test_post_then_303_becomes_a_get_without_body(site: tuple[str, web.Application],
                                                        env: CheckEnv) -> None:
    outcome = await probe(env, {"url": f"{site[0]}/submit", "method": "POST", "body": "x=1",
                                "headers": {"X-Token": "abc"}, "expect_body": "^GET abc $"})
    assert outcome.status is Status.OK, outcome


async def test_method_headers_and_body_are_sent(site: tuple[str, web.Application],
                                                env: CheckEnv) -> None:
    outcome = await probe(env, {"url": f"{site[0]}/echo", "method": "PUT", "body": "payload",
                                "headers": {"X-Token": "s3"}, "expect_body": "^PUT s3 payload$"})
    assert outcome.status is Status.OK, outcome


@pytest.mark.parametrize(("keys", "status", "words"), [
    ({"expect_body": r"hello from \w+"}, Status.OK, "HTTP 200"),
    ({"expect_body": "goodbye"}, Status.CRITICAL, 'does not match expect_body "goodbye"'),
    ({"reject_body": "monitord's"}, Status.CRITICAL, 'matches reject_body "monitord\'s"'),
    ({"reject_body": "error", "expect_body": "target"}, Status.OK, "HTTP 200"),
])
async def test_body_expressions(site: tuple[str, web.Application], env: CheckEnv,
                                keys: dict[str, str], status: Status, words: str) -> None:
    outcome = await probe(env, {"url": f"{site[0]}/ok", **keys})
    assert outcome.status is status, outcome
    assert words in outcome.summary
    if status is not Status.OK:
        assert outcome.phase is Phase.CONTENT


@pytest.mark.parametrize(("expect", "problem"), [
    ({"status": "ok", "checks": {"db": "up"}, "count": 3}, None),
    ({"nodes.0.healthy": True, "checks.db": "up"}, None),
    ({"count": 3.0}, None),
    ({"nodes.1.healthy": True}, 'JSON "nodes.1.healthy" is false, expected true'),
    ({"count": True}, 'JSON "count" is 3, expected true'),
    ({"checks.cache": "up"}, 'JSON has no "checks.cache"'),
    ({"nodes.5.healthy": True}, 'JSON has no "nodes.5.healthy"'),
])
async def test_expect_json(site: tuple[str, web.Application], env: CheckEnv,
                           expect: dict[str, Any], problem: str | None) -> None:
    outcome = await probe(env, {"url": f"{site[0]}/json", "expect_json": expect})
    if problem is None:
        assert outcome.status is Status.OK, outcome
    else:
        assert (outcome.status, outcome.phase) == (Status.CRITICAL, Phase.CONTENT)
        assert outcome.summary == f"HTTP 200: {problem}"


async def test_expect_json_on_a_body_that_is_not_json(site: tuple[str, web.Application],
                                                      env: CheckEnv) -> None:
    outcome = await probe(env, {"url": f"{site[0]}/ok", "expect_json": {"status": "ok"}})
    assert outcome.phase is Phase.CONTENT
    assert "body is not JSON" in outcome.summary


async def test_a_50_mib_body_is_cut_at_max_body(site: tuple[str, web.Application],
                                                env: CheckEnv) -> None:
    base, app = site
    tracemalloc.start()
    try:
        outcome = await probe(env, {"url": f"{base}/big", "expect_body": "^x+$"})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert outcome.status is Status.OK, outcome
    assert outcome.metrics["body_bytes"] == 1024 * 1024
    await asyncio.sleep(0.2)  # let the server notice the closed connection
    # The client stopped reading at the cap: the server could only push what the socket
    # buffers held, far from the 50 MiB it wanted to send.
    assert app[SENT].count < BIG // 4
    assert peak < 16 * 1024 * 1024  # both ends of the exchange, in this one process


async def test_expect_body_sees_only_the_first_max_body(site: tuple[str, web.Application],
                                                        env: CheckEnv) -> None:
    outcome = await probe(env, {"url": f"{site[0]}/big", "max_body": "64KiB",
                                "expect_body": "y"})
    assert outcome.phase is Phase.CONTENT
    assert outcome.summary.endswith('does not match expect_body "y" (in the first 64 KiB)')


async def test_closed_port_fails_in_connect(env: CheckEnv) -> None:
    port = free_port()
    outcome = await probe(env, {"url": f"http://127.0.0.1:{port}/"})
    assert (outcome.status, outcome.phase) == (Status.CRITICAL, Phase.CONNECT)
    assert outcome.summary.startswith(f"cannot connect to 127.0.0.1:{port}: ")
    assert "refused" in outcome.summary.lower()


# -- TLS ---------------------------------------------------------------------------------


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return Authority.create(tmp_path)


async def test_self_signed_fails_verified_and_passes_unverified(env: CheckEnv) -> None:
    app = target_app()
    async with serve(app, ssl_context=self_signed_context("127.0.0.1")) as base:
        verified = await probe(env, {"url": f"{base}/ok"})
        unverified = await probe(env, {"url": f"{base}/ok", "tls_verify": False})
    assert (verified.status, verified.phase) == (Status.CRITICAL, Phase.TLS)
    assert verified.summary.startswith("certificate rejected: self-signed")
    assert unverified.status is Status.OK, unverified
    assert unverified.metrics["time_tls_ms"] > 0


@pytest.mark.parametrize(("names", "use_ca", "reason"), [
    (("127.0.0.1",), True, None),
    (("www.other.test",), True, "wrong host"),
    (("127.0.0.1",), False, "untrusted chain"),
])
async def test_tls_verification_names_the_reason(
    env: CheckEnv, authority: Authority, names: tuple[str, ...], use_ca: bool,
    reason: str | None,
) -> None:
    app = target_app()
    extra = {"ca_file": str(authority.ca_file)} if use_ca else {}
    async with serve(app, ssl_context=authority.server_context(*names)) as base:
        outcome = await probe(env, {"url": f"{base}/ok", **extra})
    if reason is None:
        assert outcome.status is Status.OK, outcome
    else:
        assert (outcome.status, outcome.phase) == (Status.CRITICAL, Phase.TLS)
        assert outcome.summary.startswith(f"certificate rejected: {reason}")


# -- resolution through a loopback nameserver ----------------------------------------------


@pytest.fixture(scope="module")
def nameserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnotServer]:
    zone = zone_text("monitord.test", records=["ns1 IN A 127.0.0.1", "ns2 IN A 127.0.0.1",
                                               "www IN A 127.0.0.1"])
    server = start_knot(tmp_path_factory.mktemp("http-dns"), {"monitord.test": zone})
    yield server
    server.stop()


async def test_names_resolve_through_the_configured_resolvers(
    site: tuple[str, web.Application], nameserver: KnotServer
) -> None:
    port = site[0].rsplit(":", 1)[1]
    async with check_env(SystemClock(), "here", (nameserver.endpoint,)) as env:
        found = await probe(env, {"url": f"http://www.monitord.test:{port}/ok"})
        missing = await probe(env, {"url": f"http://nowhere.monitord.test:{port}/ok"})
    assert found.status is Status.OK, found
    assert found.metrics["time_resolve_ms"] > 0
    assert (missing.status, missing.phase) == (Status.CRITICAL, Phase.RESOLVE)
    assert missing.summary == "cannot resolve nowhere.monitord.test: Domain name not found"


async def test_time_waiting_for_the_answer_is_first_byte_time(
        site: tuple[str, web.Application], env: CheckEnv) -> None:
    outcome = await probe(env, {"url": f"{site[0]}/slow?s=0.3"})
    assert outcome.status is Status.OK, outcome
    metrics = outcome.metrics
    assert metrics["time_firstbyte_ms"] >= 300  # the server waited 0.3 s before answering
    assert metrics["time_connect_ms"] < metrics["time_firstbyte_ms"]
    assert metrics["time_resolve_ms"] == 0  # an IP address: nothing to resolve


# -- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "message"), [
    ({"url": "ftp://example.net/"}, 'url: expected an http:// or https:// URL with a host, got '
                                    '"ftp://example.net/"'),
    ({"url": "https://x.test/", "expect_body": "(unclosed"},
     'expect_body: invalid regular expression "(unclosed": missing ), unterminated subpattern '
     "at position 0"),
    ({"url": "https://x.test/", "expect_status": 200},
     'expect_status: expected a non-empty array of status codes like [200, "3xx", "500-504"], '
     "got 200"),
    ({"url": "https://x.test/", "expect_status": [200, 700]},
     'expect_status: expected status codes from 100 to 599, "NNN-NNN" ranges or classes like '
     '"2xx", got 700'),
    ({"url": "https://x.test/", "expect_status": ["399-200"]},
     'expect_status: status range "399-200" ends before it starts'),
    ({"url": "https://x.test/", "method": "get"},
     'method: expected an HTTP method in capitals like "GET", got "get"'),
    ({"url": "https://x.test/", "max_body": "lots"},
     'max_body: expected a size like "1MiB", "64KiB" or a number of bytes, got "lots"'),
    ({"url": "https://x.test/", "max_response_time": "0s"},
     'max_response_time: expected a duration above zero, got "0s"'),
    ({"url": "https://x.test/", "expect_json": {"a": {"b": {}}}},
     'expect_json: empty table at "a.b"'),
    ({"url": "https://x.test/", "ca_file": "/nonexistent/ca.pem"},
     "ca_file: cannot use /nonexistent/ca.pem as CA certificates: No such file or directory"),
    ({"url": "https://x.test/", "headers": {"Bad Name": "x"}},
     'headers: invalid header "Bad Name" (a token name and a value on one line)'),
])
def test_config_errors(data: dict[str, Any], message: str) -> None:
    assert config_errors(http.KIND, data) == [message]


def test_all_config_errors_of_a_file_are_reported_together(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("""
[[check]]
name = "shop"
type = "http"
url = "https://shop.example.net/"
expect_body = "[unclosed"
expect_status = ["2xx", "600"]

[[check]]
name = "api"
type = "http"
url = "https://api.example.net/"
reject_body = "*"
folow_redirects = false
""")
    with pytest.raises(ConfigInvalid) as caught:
        load_config(path)
    lines = [str(e) for e in caught.value.errors]
    assert any(line.startswith(f'{path}:6: check "shop": expect_body: invalid regular '
                               f'expression "[unclosed"') for line in lines), lines
    assert f'{path}:7: check "shop": expect_status: expected status codes from 100 to 599, ' \
           f'"NNN-NNN" ranges or classes like "2xx", got "600"' in lines
    assert any(line.startswith(f'{path}:13: check "api": reject_body: invalid regular '
                               f'expression "*"') for line in lines), lines
    assert f'{path}:14: check "api": folow_redirects: unknown key (did you mean ' \
           f'"follow_redirects"?)' in lines


@pytest.mark.parametrize("host", ["a" * 64 + ".com", "a..b"])
async def test_redirect_to_an_unencodable_host_fails_in_resolve(env: CheckEnv,
                                                                host: str) -> None:
    # Such a Location passes the URL parser; the name codec of the resolver refuses it.
    app = web.Application()

    async def hostile(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"http://{host}/")

    app.router.add_get("/", hostile)
    async with serve(app) as base:
        outcome = await probe(env, {"url": f"{base}/"})
    assert (outcome.status, outcome.phase) == (Status.CRITICAL, Phase.RESOLVE)
    assert outcome.summary == f"cannot resolve {host}: invalid host name"


async def test_a_bad_redirect_target_is_shown_redacted_and_cut(env: CheckEnv) -> None:
    app = web.Application()

    async def hostile(request: web.Request) -> web.Response:
        raise web.HTTPFound("ftp://u:secret@files.test/" + "p" * 500)

    app.router.add_get("/", hostile)
    async with serve(app) as base:
        outcome = await probe(env, {"url": f"{base}/"})
    assert outcome.phase is Phase.RESPONSE
    assert outcome.summary.startswith("HTTP 302: redirect to 'ftp://u:***@files.test/pp")
    assert "secret" not in outcome.summary
    assert len(outcome.summary) < 300
