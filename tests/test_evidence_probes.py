"""Evidence probes against real loopback parts: Knot zones, aiohttp servers, trustme CAs.

Each scenario is the on-call's question: where does the name point now (per resolver, per
authoritative server), does every address answer, which certificate is served, where does
the site redirect — and what changed since the last OK result.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import trustme
from aiohttp import web

from monitord.checks.base import CheckEnv, check_env
from monitord.clock import SystemClock
from monitord.evidence.facts import changes, fingerprint, merge
from monitord.evidence.runner import Collected, collect
from monitord.model import Evidence, Phase, Status
from tests.support.dnszones import zone_text
from tests.support.evidence import check, free_loopback_53, run
from tests.support.knot import KnotServer, knot_factory
from tests.support.web import serve

__all__ = ["knot_factory"]  # the fixture, used by name


def items(collected: Collected, probe: str) -> list[Evidence]:
    return [e for e in collected.evidence if e.probe == probe]


def hello_app(text: str = "welcome to the shop") -> web.Application:
    app = web.Application()

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text=text)

    app.router.add_get("/", hello)
    return app


@pytest.fixture
async def shop() -> AsyncIterator[str]:
    """The shop's web server on 127.0.0.10 (its base URL)."""
    async with serve(hello_app(), host="127.0.0.10") as base:
        yield base


async def test_name_moved_to_a_dead_address(
        knot_factory: Callable[..., KnotServer], shop: str) -> None:
    address = free_loopback_53()
    port = int(shop.rsplit(":", 1)[1])

    def zone(serial: int, www: str) -> str:
        return zone_text("shop.test", serial=serial, ns=("ns1",), ttl=0,
                         records=[f"ns1 IN A {address}", f"www IN A {www}"])

    knot = knot_factory({"shop.test": zone(1, "127.0.0.10")}, address=address, port=53)
    config = check("http", {"url": f"http://www.shop.test:{port}/"})
    async with check_env(SystemClock(), "here", (f"{address}:53",)) as env:
        good = await run(config, env)
        assert good.status is Status.OK, good.summary
        assert good.facts["address"] == "127.0.0.10"
        knot.set_zone("shop.test", zone(2, "127.0.0.99"))
        bad = await run(config, env)
        assert bad.phase is Phase.CONNECT, bad.summary
        collected = await collect(config, env, 5.0)

    resolved = items(collected, "resolve")
    assert [(e.target, e.status) for e in resolved] == [
        (f"www.shop.test via {address}:53", "ok")]
    assert "A 127.0.0.99 (TTL 0)" in resolved[0].detail
    authoritative = items(collected, "authoritative")
    assert authoritative[0].target == f"www.shop.test at ns1.shop.test {address}:53 " \
                                      "(zone shop.test)"
    assert "A 127.0.0.99" in authoritative[0].detail
    connects = {e.target: e for e in items(collected, "connect")}
    assert connects[f"127.0.0.99:{port}"].status == "failed"
    assert connects[f"127.0.0.99:{port}"].detail == "Connection refused"
    http = items(collected, "http")[0]
    assert http.status == "failed"
    assert "ClientConnectorError" in http.detail
    assert "address: 127.0.0.10 → 127.0.0.99" in changes(
        fingerprint(good), merge(fingerprint(bad), collected.facts))


async def test_two_resolvers_that_disagree_are_each_named(
        knot_factory: Callable[..., KnotServer]) -> None:
    def zone(www: str) -> str:
        return zone_text("shop.test", ns=("ns1",), records=["ns1 IN A 127.0.0.1",
                                                            f"www IN A {www}"])

    first = knot_factory({"shop.test": zone("127.0.0.10")}, address="127.0.0.1")
    second = knot_factory({"shop.test": zone("127.0.0.11")}, address="127.0.0.1")
    config = check("dns", {"query": "www.shop.test", "record": "A"})
    resolvers = (first.endpoint, second.endpoint)
    async with check_env(SystemClock(), "here", resolvers) as env:
        collected = await collect(config, env, 5.0)

    resolved = items(collected, "resolve")
    assert [(e.target, e.status, e.detail) for e in resolved[:2]] == [
        (f"www.shop.test via {first.endpoint}", "ok", "A 127.0.0.10 (TTL 300)"),
        (f"www.shop.test via {second.endpoint}", "ok", "A 127.0.0.11 (TTL 300)"),
    ]
    assert resolved[2].status == "failed"
    assert resolved[2].detail == (f"disagreement: {first.endpoint} says 127.0.0.10; "
                                  f"{second.endpoint} says 127.0.0.11")
    # The zone's own server (ns1 on port 53 of 127.0.0.1) is asked too; nothing serves there.
    assert items(collected, "authoritative")[0].target.startswith("www.shop.test at ns1")


def _leaf_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", common_name="shop").configure_cert(context)
    return context


async def test_certificate_from_another_ca(tmp_path: Path) -> None:
    ours, other = trustme.CA(organization_name="Shop CA"), trustme.CA(
        organization_name="Unknown CA")
    ca_file = tmp_path / "ca.pem"
    ours.cert_pem.write_to_path(str(ca_file))
    context = _leaf_context(ours)
    async with serve(hello_app(), ssl_context=context) as base, \
            check_env(SystemClock(), "here") as env:
        config = check("http", {"url": base + "/", "ca_file": str(ca_file)})
        good = await run(config, env)
        assert good.status is Status.OK, good.summary
        other.issue_cert("127.0.0.1", common_name="shop").configure_cert(context)  # swapped
        bad = await run(config, env)
        assert bad.phase is Phase.TLS, bad.summary
        collected = await collect(config, env, 5.0)

    tls = items(collected, "tls")[0]
    assert tls.status == "failed"
    assert tls.target.startswith("127.0.0.1:")
    assert "subject CN=shop" in tls.detail
    assert "O=Unknown CA" in tls.detail
    assert "chain rejected: untrusted chain" in tls.detail
    assert "SANs 127.0.0.1" in tls.detail
    found = changes(fingerprint(good), merge(fingerprint(bad), collected.facts))
    assert len(found) == 1
    assert found[0].startswith("certificate: issuer changed (")
    assert "O=Shop CA" in found[0]
    assert found[0].endswith("O=Unknown CA)")


async def test_redirect_target_changed(unused_port: int) -> None:
    where = {"to": "/home"}
    app = web.Application()

    async def root(request: web.Request) -> web.Response:
        raise web.HTTPFound(where["to"])

    async def page(request: web.Request) -> web.Response:
        text = "welcome" if request.path == "/home" else "down for maintenance"
        return web.Response(text=text, headers={"Set-Cookie": "session=abc123; Path=/"})

    app.router.add_get("/", root)
    app.router.add_get("/{page}", page)
    async with serve(app) as base, check_env(SystemClock(), "here") as env:
        config = check("http", {"url": base + "/", "expect_body": "welcome"})
        good = await run(config, env)
        assert good.status is Status.OK, good.summary
        where["to"] = "/maintenance"
        bad = await run(config, env)
        assert bad.phase is Phase.CONTENT, bad.summary
        collected = await collect(config, env, 5.0)

    http = items(collected, "http")[0]
    assert http.target == f"GET {base}/"
    assert http.detail.startswith("HTTP/1.1 302 Found; Location: /maintenance;")
    assert changes(fingerprint(good), merge(fingerprint(bad), collected.facts)) == [
        "redirect: now to /maintenance (was /home)"]


async def test_body_preview_redacts_cookies_and_secrets() -> None:
    app = web.Application()

    async def leaky(request: web.Request) -> web.Response:
        return web.Response(status=500, text='error: password=hunter2 token: abc "ok"',
                            headers={"Set-Cookie": "sid=s3cr3t"})

    app.router.add_get("/", leaky)
    async with serve(app) as base, check_env(SystemClock(), "here") as env:
        base_with_user = base.replace("http://", "http://admin:pw@")
        collected = await collect(check("http", {"url": base_with_user + "/?api_key=k"}),
                                  env, 5.0)
    http = items(collected, "http")[0]
    assert "hunter2" not in http.detail
    assert "s3cr3t" not in http.detail
    assert "pw" not in http.target
    assert "=k" not in http.target
    assert "Set-Cookie: (1 cookie, redacted)" in http.detail
    assert 'body starts "error: password=[redacted] token: [redacted] "ok""' in http.detail


async def test_tcp_evidence_every_address(unused_port: int) -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, check_env(SystemClock(), "here") as env:
        collected = await collect(check("tcp", {"host": "127.0.0.1", "port": port}), env, 5.0)
        closed = await collect(check("tcp", {"host": "127.0.0.1", "port": unused_port}), env,
                               5.0)
    assert [e.status for e in items(collected, "connect")] == ["ok", "ok"]
    assert items(collected, "connect")[1].detail.startswith("connected in ")
    assert items(closed, "connect")[1].detail == "Connection refused"


async def test_dns_authority_keeps_the_per_server_table(
        knot_factory: Callable[..., KnotServer]) -> None:
    text = zone_text("shop.test", serial=7, ns=("ns1",), records=["ns1 IN A 127.0.0.1"])
    knot = knot_factory({"shop.test": text}, address="127.0.0.1")
    config = check("dns_authority", {"zone": "shop.test", "nameservers": [knot.endpoint],
                                     "min_nameservers": 1})
    env = CheckEnv(clock=SystemClock(), location="here")
    try:
        collected = await collect(config, env, 5.0)
    finally:
        await env.aclose()
    [row] = items(collected, "authority")
    assert row.status == "ok"
    assert row.detail.startswith("serial 7; NS ns1.shop.test; AA yes over UDP, yes over TCP")


async def test_a_server_name_behind_a_cname_is_not_asked_as_a_server(
        knot_factory: Callable[..., KnotServer]) -> None:
    # ns1 is a CNAME: its target is a name, never an address to send queries to.
    text = zone_text("shop.test", ns=("ns1",), records=[
        "ns1 IN CNAME host.shop.test.", "host IN A 127.0.0.1", "www IN A 127.0.0.10"])
    knot = knot_factory({"shop.test": text}, address="127.0.0.1")
    config = check("dns", {"query": "www.shop.test", "record": "A"})
    async with check_env(SystemClock(), "here", (knot.endpoint,)) as env:
        collected = await collect(config, env, 5.0)
    targets = [e.target for e in items(collected, "authoritative")]
    assert targets == ["www.shop.test at ns1.shop.test 127.0.0.1:53 (zone shop.test)"], targets


async def test_a_redirect_fact_is_redacted_and_bounded() -> None:
    where = {"to": "/home"}
    app = web.Application()

    async def root(request: web.Request) -> web.Response:
        raise web.HTTPFound(where["to"])

    app.router.add_get("/", root)
    async with serve(app) as base, check_env(SystemClock(), "here") as env:
        config = check("http", {"url": base + "/", "follow_redirects": False})
        good = await run(config, env)
        where["to"] = base.replace("//", "//u:secret@") + "/x?pad=" + "p" * 500
        bad = await run(config, env)
        collected = await collect(config, env, 5.0)

    for facts in (bad.facts, collected.facts):
        assert "secret" not in facts["redirect"]
        assert len(facts["redirect"]) <= 200
    [change] = changes(fingerprint(good), merge(fingerprint(bad), collected.facts))
    assert change.startswith("redirect: now to http://u:***@127.0.0.1:")
    assert "secret" not in change
