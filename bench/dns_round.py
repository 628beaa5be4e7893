"""Benchmark: one full round of every domain check for a 120-domain portfolio, on loopback.

Starts, all on 127.0.55.x (one port, UDP and TCP):

* a parent zone ``bench.`` (one knotd) delegating each domain to three nameservers,
* three authoritative knotd instances serving the 120 zones (half of them DNSSEC-signed),
* two more knotd instances that the record checks use as their resolvers (no recursive
  resolver is installed here; an authoritative server answers the same stub queries),
* an RDAP server (aiohttp, in a child process so its CPU is not counted as ours).

Then loads a config with one ``[[domain]]`` block for the 120 names (``expect`` A and MX,
expiry by RDAP) and runs every generated check once through ``monitord probe``'s code path:
120 dns_authority + 240 dns (A and MX, each asking both resolvers) + 120 domain_expiry = 480
checks. Prints wall time and CPU time (user + system, this process) per round.

    .venv/bin/python bench/dns_round.py [--domains 120] [--rounds 3]

Targets: a full round under 2 s wall and under 1 CPU-second. Talks only to 127.0.55.0/24 and
127.0.0.1, and stops every server it started.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's directory comes first on sys.path, and this file is dns.py: it
# would shadow dnspython. The repository root goes there instead (for monitord and tests).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from monitord.configfile import load_config  # noqa: E402
from monitord.model import Status  # noqa: E402
from monitord.probe import probe_once  # noqa: E402
from tests.support.dnssec import sign  # noqa: E402
from tests.support.dnszones import zone_text  # noqa: E402
from tests.support.knot import KnotServer, free_udp_tcp_port, start_knot  # noqa: E402

PARENT = "127.0.55.1"
AUTHORITATIVE = ("127.0.55.11", "127.0.55.12", "127.0.55.13")
RESOLVERS = ("127.0.55.21", "127.0.55.22")


def zones(directory: Path, count: int) -> tuple[str, dict[str, str]]:
    """The parent zone text and the 120 child zones (name -> text)."""
    now = datetime.now(timezone.utc)
    parent = [f"ns IN A {PARENT}"]
    children = {}
    for index in range(count):
        name = f"d{index:03d}.bench"
        ns = {f"ns{i + 1}": address for i, address in enumerate(AUTHORITATIVE)}
        text = zone_text(name, serial=2026010101, ns=list(ns), records=[
            *(f"{label} IN A {address}" for label, address in ns.items()),
            "@ IN A 192.0.2.10", "@ IN MX 10 mx.example.net.", "www IN A 192.0.2.11"])
        parent += [f"{name}. IN NS {label}.{name}." for label in ns]
        parent += [f"{label}.{name}. IN A {address}" for label, address in ns.items()]
        if index % 2 == 0:
            signed = sign(directory / name, name, text, now - timedelta(days=5),
                          now + timedelta(days=25))
            text = signed.text
            parent.append(signed.ds)
        children[name] = text
    return zone_text("bench", ns=["ns"], records=parent), children


def config_text(directory: Path, names: list[str], port: int, rdap: str) -> str:
    quoted = ", ".join(f'"{n}"' for n in names)
    resolvers = ", ".join(f'"{r}:{port}"' for r in RESOLVERS)
    return f"""
[monitord]
location = "bench"
state_dir = "{directory}"

[defaults]
timeout = "5s"

[[domain]]
names = [{quoted}]
expect = {{ A = ["192.0.2.10"], MX = ["10 mx.example.net."] }}
resolvers = [{resolvers}]
parent_nameservers = ["{PARENT}:{port}"]
port = {port}
rdap_url = "{rdap}"
"""


def serve_rdap(port: int) -> None:
    """The RDAP server (child process): every domain expires in a year."""
    from aiohttp import web

    expires = (datetime.now(timezone.utc) + timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")

    async def domain(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        return web.json_response({
            "objectClassName": "domain", "ldhName": name, "status": ["active"],
            "events": [{"eventAction": "expiration", "eventDate": expires}]},
            content_type="application/rdap+json")

    app = web.Application()
    app.router.add_get("/domain/{name}", domain)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def start_rdap() -> tuple[subprocess.Popen[bytes], str]:
    port = free_udp_tcp_port(["127.0.0.1"])
    process = subprocess.Popen([sys.executable, __file__, "--serve-rdap", str(port)])
    import socket

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, f"http://127.0.0.1:{port}/"
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the RDAP server did not start")


async def rounds(config_path: Path, count: int, only: str | None) -> None:
    config = load_config(config_path)
    checks = [c for c in config.checks if only is None or c.type == only]
    print(config.expansion.describe())
    for number in range(1, count + 1):
        wall, cpu = time.perf_counter(), time.process_time()
        results = await probe_once(config, checks)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        statuses = Counter(r.status.name for r in results)
        print(f"round {number}: {len(results)} checks in {wall:.3f} s wall, {cpu:.3f} CPU-s "
              f"({', '.join(f'{n} {s}' for s, n in statuses.most_common())})")
        for result in results:
            if result.status is not Status.OK:
                print(f"  {result.check}: {result.status.name} {result.summary}")
                break


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", help="run only the checks of this type")
    parser.add_argument("--serve-rdap", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_rdap:
        serve_rdap(args.serve_rdap)
        return
    with tempfile.TemporaryDirectory(prefix="monitord-bench-dns-") as temp:
        directory = Path(temp)
        started: list[KnotServer] = []
        rdap_process = None
        try:
            port = free_udp_tcp_port([PARENT, *AUTHORITATIVE, *RESOLVERS])
            t0 = time.perf_counter()
            parent, children = zones(directory / "keys", args.domains)
            started.append(start_knot(directory, {"bench": parent}, PARENT, port))
            for address in (*AUTHORITATIVE, *RESOLVERS):
                started.append(start_knot(directory, children, address, port))
            rdap_process, rdap = start_rdap()
            print(f"setup: {len(started)} knotd, {args.domains} zones, RDAP server "
                  f"({time.perf_counter() - t0:.1f} s); {os.cpu_count()} CPUs")
            path = directory / "config.toml"
            path.write_text(config_text(directory, sorted(children), port, rdap))
            asyncio.run(rounds(path, args.rounds, args.only))
        finally:
            if rdap_process is not None:
                rdap_process.terminate()
                rdap_process.wait(timeout=5)
            for server in started:
                server.stop()


if __name__ == "__main__":
    main()
