"""One central daemon ingesting result batches from probe agents, over loopback.

A real ``monitord run`` process with 2,000 checks assigned to 4 agent locations (quorum 2)
and no check of its own; this script plays the 4 agents and posts synthetic batches at the
rate of 2,000 checks every 10 s per agent (a batch per agent per second), about 1 % of the
results failing so incidents open, degrade and recover. Prints results/s ingested, the
central daemon's CPU time per result (from /proc), ingest-to-decision latency (a POST
returns once its results are qualified and committed) p50/p99, and its RSS.

    .venv/bin/python bench/agents.py [--checks 2000] [--agents 4] [--seconds 30]

Targets: <= 0.05 CPU-ms per ingested result at the central daemon, p99 < 250 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import sys
import tempfile
import textwrap
import time
from datetime import datetime, timezone
from pathlib import Path

import aiohttp
from loopback import free_port

INTERVAL = 10.0



def write_config(tmp: Path, port: int, checks: int, agents: list[str]) -> Path:
    blocks = [textwrap.dedent(f"""
        [monitord]
        location = "paris"
        state_dir = "{tmp / 'state'}"
        log_level = "warning"
        [api]
        listen = "127.0.0.1:{port}"
        [defaults]
        interval = "10s"
        confirm = 2
        locations = {json.dumps(agents)}
        quorum = 2
    """)]
    for name in agents:
        (tmp / f"{name}.token").write_text(f"token-{name}\n")
        blocks.append(f'[[agent]]\nlocation = "{name}"\ntoken_file = "{tmp / name}.token"\n')
    blocks += [f'[[check]]\nname = "c{i}"\ntype = "tcp"\nhost = "127.0.0.1"\nport = 9\n'
               for i in range(checks)]
    path = tmp / "central.toml"
    path.write_text("\n".join(blocks))
    return path


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def agent(session: aiohttp.ClientSession, base: str, name: str, checks: int,
                until: float, latencies: list[float], counts: list[int]) -> None:
    rng = random.Random(name)
    per_second = checks / INTERVAL
    batch, sent, start = int(time.time() * 1000), 0.0, time.monotonic()
    failing = set(rng.sample(range(checks), checks // 100))
    headers = {"Authorization": f"Bearer token-{name}", "Content-Type": "application/json"}
    while time.monotonic() < until:
        due = (time.monotonic() - start) * per_second
        now = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
        results = []
        while sent < due:
            i = int(sent) % checks
            bad = i in failing and rng.random() < 0.9
            results.append({"check": f"c{i}", "type": "tcp", "location": name,
                            "status": "CRITICAL" if bad else "OK",
                            "phase": "connect" if bad else None,
                            "summary": "refused" if bad else "connected in 1 ms",
                            "duration_ms": 1.0, "metrics": {}, "at": now})
            sent += 1
        if results:
            batch += 1
            body = json.dumps({"location": name, "batch": batch, "results": results}).encode()
            t0 = time.perf_counter()
            async with session.post(base + "/api/v1/results", data=io.BytesIO(body),
                                    headers=headers) as response:
                await response.read()
                assert response.status == 200, response.status
            latencies.append(time.perf_counter() - t0)
            counts.append(len(results))
        await asyncio.sleep(1.0)


async def main(checks: int, agents: int, seconds: float) -> None:
    names = [f"agent{i}" for i in range(agents)]
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        port = free_port()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "monitord", "run", "-c",
            str(write_config(tmp, port, checks, names)), stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            async with aiohttp.ClientSession() as session:
                for _ in range(200):  # wait for the API
                    try:
                        async with session.get(base + "/healthz") as r:
                            if r.status in (200, 503):
                                break
                    except aiohttp.ClientError:
                        await asyncio.sleep(0.1)
                warm = time.monotonic() + 3
                await asyncio.gather(*(agent(session, base, n, checks, warm, [], [])
                                       for n in names))
                cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
                latencies: list[float] = []
                counts: list[int] = []
                until = time.monotonic() + seconds
                await asyncio.gather(*(agent(session, base, n, checks, until, latencies,
                                             counts) for n in names))
                elapsed, cpu = time.monotonic() - t0, cpu_seconds(proc.pid) - cpu0
                rss = rss_mib(proc.pid)
        finally:
            proc.terminate()
            await proc.wait()
    total = sum(counts)
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    print(f"{agents} agents x {checks} checks every {INTERVAL:g}s, {seconds:g}s measured")
    print(f"ingested: {total} results, {total / elapsed:.0f} results/s, "
          f"{len(latencies)} batches")
    print(f"central CPU: {cpu * 1000 / max(1, total):.4f} ms per result "
          f"({cpu / elapsed * 100:.1f}% of a core)")
    print(f"ingest-to-decision latency: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    print(f"central RSS: {rss:.1f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--agents", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    asyncio.run(main(args.checks, args.agents, args.seconds))
