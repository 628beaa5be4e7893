"""``monitord probe --explain`` (a real subprocess) on each evidence scenario: the result,
what was checked, what changed since the daemon's last OK fingerprint, and the evidence."""

from __future__ import annotations

import asyncio
import json
import ssl
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiohttp import web

from monitord.checks.base import check_env
from monitord.clock import SystemClock
from monitord.configfile import load_config
from monitord.evidence import persist
from monitord.evidence.facts import fingerprint
from monitord.store import Store
from tests.support.dnszones import zone_text
from tests.support.evidence import free_loopback_53, run
from tests.support.knot import KnotServer, knot_factory
from tests.support.web import serve

__all__ = ["knot_factory"]


def write_config(tmp_path: Path, check: str, resolvers: tuple[str, ...] = (),
                 evidence_timeout: str = "5s") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(f"""
        [monitord]
        location = "here"
        state_dir = "{tmp_path / 'state'}"
        resolvers = {json.dumps(list(resolvers))}
        [alerting]
        evidence_timeout = "{evidence_timeout}"
        [[check]]
        name = "shop"
        description = "the shop"
        timeout = "3s"
    """) + textwrap.dedent(check))
    return path


async def seed_baseline(path: Path) -> None:
    """Run the check once (it must be OK) and save its fingerprint as the daemon would."""
    config = load_config(path)
    [check] = config.checks
    async with check_env(SystemClock(), "here", tuple(str(r) for r in
                                                      config.monitord.resolvers)) as env:
        result = await run(check, env)
    assert result.status.name == "OK", result.summary
    config.monitord.state_dir.mkdir(parents=True, exist_ok=True)
    store = await Store.open(config.monitord.state_dir / "monitord.db")
    try:
        await store.migrate(persist.COMPONENT, persist.MIGRATIONS)
        rows = {("shop", "here"): (fingerprint(result), 0.0)}
        await store.transaction(lambda conn: persist.save_baselines(conn, rows))
    finally:
        await store.close()


async def explain(path: Path, *flags: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitord", "probe", "-c", str(path), "--explain", *flags,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert not err, err.decode()
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def explain_json(path: Path) -> dict[str, Any]:
    _, out = await explain(path, "--json")
    [line] = out.splitlines()
    parsed: dict[str, Any] = json.loads(line)
    return parsed


async def test_moved_name(tmp_path: Path, knot_factory: Callable[..., KnotServer]) -> None:
    dns = free_loopback_53()

    def zone(serial: int, www: str) -> str:
        return zone_text("shop.test", serial=serial, ns=("ns1",), ttl=0,
                         records=[f"ns1 IN A {dns}", f"www IN A {www}"])

    knot = knot_factory({"shop.test": zone(1, "127.0.0.10")}, address=dns, port=53)
    app = web.Application()
    app.router.add_get("/", _page("welcome"))
    async with serve(app, host="127.0.0.10") as base:
        port = base.rsplit(":", 1)[1]
        path = write_config(tmp_path, f"""
            type = "http"
            url = "http://www.shop.test:{port}/"
        """, resolvers=(f"{dns}:53",))
        await seed_baseline(path)
        knot.set_zone("shop.test", zone(2, "127.0.0.99"))
        status, text = await explain(path)
    assert status == 2
    lines = text.splitlines()
    assert lines[0].startswith("CRITICAL shop (http, here) [connect]: ")
    assert lines[1] == f"  checked: http://www.shop.test:{port}/ — the shop"
    assert lines[2] == "  changed: address: 127.0.0.10 → 127.0.0.99"
    assert lines[3] == "  evidence:"
    assert f"    ok resolve www.shop.test via {dns}:53: A 127.0.0.99 (TTL 0); AAAA none" in lines
    assert f"    FAILED connect 127.0.0.99:{port}: Connection refused" in lines
    assert any(line.startswith(f"    ok authoritative www.shop.test at ns1.shop.test {dns}:53")
               and "A 127.0.0.99 (TTL 0)" in line for line in lines)


async def test_resolvers_that_disagree(tmp_path: Path,
                                       knot_factory: Callable[..., KnotServer]) -> None:
    servers = [knot_factory({"shop.test": zone_text("shop.test", ns=("ns1",), records=[
        "ns1 IN A 127.0.0.1", f"www IN A {www}"])}) for www in ("127.0.0.10", "127.0.0.11")]
    path = write_config(tmp_path, """
        type = "dns"
        query = "www.shop.test"
        expect = ["127.0.0.10"]
    """, resolvers=tuple(s.endpoint for s in servers))
    result = await explain_json(path)
    assert result["status"] == "CRITICAL"
    assert result["target"] == "A www.shop.test"
    first, second = (s.endpoint for s in servers)
    assert {"probe": "resolve", "target": "www.shop.test", "status": "failed",
            "detail": f"disagreement: {first} says 127.0.0.10; {second} says 127.0.0.11"
            } in result["evidence"]


@pytest.fixture
async def swapped_shop(tmp_path: Path) -> AsyncIterator[tuple[str, ssl.SSLContext,
                                                              trustme.CA]]:
    ours, other = trustme.CA(organization_name="Shop CA"), trustme.CA(
        organization_name="Unknown CA")
    ours.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ours.issue_cert("127.0.0.1", common_name="shop").configure_cert(context)
    app = web.Application()
    app.router.add_get("/", _page("welcome"))
    async with serve(app, ssl_context=context) as base:
        yield base, context, other


async def test_certificate_from_another_ca(
        tmp_path: Path, swapped_shop: tuple[str, ssl.SSLContext, trustme.CA]) -> None:
    base, context, other = swapped_shop
    path = write_config(tmp_path, f"""
        type = "http"
        url = "{base}/"
        ca_file = "{tmp_path / 'ca.pem'}"
    """)
    await seed_baseline(path)
    other.issue_cert("127.0.0.1", common_name="shop").configure_cert(context)
    result = await explain_json(path)
    assert result["phase"] == "tls"
    [change] = result["changes"]
    assert change.startswith("certificate: issuer changed (")
    assert change.endswith("O=Unknown CA)")
    [tls] = [e for e in result["evidence"] if e["probe"] == "tls"]
    assert "chain rejected: untrusted chain" in tls["detail"]


async def test_redirect_target_changed(tmp_path: Path) -> None:
    where = {"to": "/home"}
    app = web.Application()

    async def root(request: web.Request) -> web.Response:
        raise web.HTTPFound(where["to"])

    app.router.add_get("/", root)
    app.router.add_get("/home", _page("welcome"))
    app.router.add_get("/maintenance", _page("back soon"))
    async with serve(app) as base:
        path = write_config(tmp_path, f"""
            type = "http"
            url = "{base}/"
            expect_body = "welcome"
        """)
        await seed_baseline(path)
        where["to"] = "/maintenance"
        result = await explain_json(path)
    assert result["changes"] == ["redirect: now to /maintenance (was /home)"]
    [http] = [e for e in result["evidence"] if e["probe"] == "http"]
    assert http["detail"].startswith("HTTP/1.1 302 Found; Location: /maintenance")


async def test_a_hanging_probe_is_cut_at_evidence_timeout(tmp_path: Path) -> None:
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        path = write_config(tmp_path, f"""
            type = "http"
            url = "http://127.0.0.1:{port}/"
        """, evidence_timeout="1s")
        started = time.monotonic()
        status, text = await explain(path)
        took = time.monotonic() - started
        for writer in held:
            writer.close()
    assert status == 2
    assert f"    UNFINISHED http GET http://127.0.0.1:{port}/: not finished within 1s" in \
        text.splitlines()
    assert took < 3 + 1 + 5  # check timeout + evidence_timeout + interpreter start


def _page(body: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def page(request: web.Request) -> web.Response:
        return web.Response(text=body)

    return page
