"""Evidence cost per incident, per check kind: CPU-ms and wall time of one evidence run.

Targets on loopback: a Knot resolver/authoritative server (a separate process), an aiohttp
site over HTTP and HTTPS (trustme CA) and a TCP listener, both in this process — so the CPU
printed includes the servers' side of the web probes (an upper bound for monitord's own).
Target: under 50 CPU-ms per incident; wall time is always below evidence_timeout (the cut).

Run: .venv/bin/python bench/evidence.py [--incidents 20]
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's directory comes first on sys.path: keep the project root first.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import trustme  # noqa: E402
from aiohttp import web  # noqa: E402

from monitord.checks.base import check_env  # noqa: E402
from monitord.checks.registry import KINDS  # noqa: E402
from monitord.clock import SystemClock  # noqa: E402
from monitord.evidence.runner import collect  # noqa: E402
from tests.support.dnszones import make_check, zone_text  # noqa: E402
from tests.support.knot import start_knot  # noqa: E402
from tests.support.web import serve  # noqa: E402

TIMEOUT = 10.0


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="welcome to the shop " * 20)


async def main(incidents: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        zone = zone_text("shop.test", ns=("ns1",), records=["ns1 IN A 127.0.0.1",
                                                            "www IN A 127.0.0.1"])
        knot = start_knot(Path(tmp), {"shop.test": zone})
        try:
            await _measure(knot.endpoint, incidents, Path(tmp))
        finally:
            knot.stop()


async def _measure(resolver: str, incidents: int, tmp: Path) -> None:
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp / "ca.pem"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("www.shop.test").configure_cert(context)
    app = web.Application()
    app.router.add_get("/", hello)
    tcp = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    tcp_port = tcp.sockets[0].getsockname()[1]
    async with serve(app) as plain, serve(app, ssl_context=context) as secure, tcp:
        http_port, https_port = plain.rsplit(":", 1)[1], secure.rsplit(":", 1)[1]
        cases: dict[str, tuple[str, dict[str, Any]]] = {
            "http": ("http", {"url": f"http://www.shop.test:{http_port}/"}),
            "https": ("http", {"url": f"https://www.shop.test:{https_port}/",
                               "ca_file": str(tmp / "ca.pem")}),
            "tcp": ("tcp", {"host": "www.shop.test", "port": tcp_port}),
            "tls": ("tls", {"host": "www.shop.test", "port": int(https_port),
                            "ca_file": str(tmp / "ca.pem")}),
            "dns": ("dns", {"query": "www.shop.test"}),
            "dns_authority": ("dns_authority", {"zone": "shop.test", "min_nameservers": 1,
                                                "nameservers": [resolver]}),
        }
        print(f"{'kind':<14} {'CPU-ms/incident':>16} {'wall ms p50':>12} {'wall ms max':>12} "
              f"{'items':>6}")
        async with check_env(SystemClock(), "bench", (resolver,)) as env:
            for name, (kind, data) in cases.items():
                config = make_check(KINDS[kind], data)
                await collect(config, env, TIMEOUT)  # warm-up: shared sessions, contexts
                walls, cpu, items = [], 0.0, 0
                for _ in range(incidents):
                    cpu_start, wall_start = time.process_time(), time.perf_counter()
                    collected = await collect(config, env, TIMEOUT)
                    walls.append((time.perf_counter() - wall_start) * 1000)
                    cpu += time.process_time() - cpu_start
                    items = len(collected.evidence)
                print(f"{name:<14} {cpu * 1000 / incidents:>16.1f} "
                      f"{statistics.median(walls):>12.1f} {max(walls):>12.1f} {items:>6}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=20)
    asyncio.run(main(parser.parse_args().incidents))
