"""End-to-end alerting latency: from the confirming result to the notification leaving the
outbox, through the real daemon (scheduler, qualification, routing, grouping, SQLite outbox,
webhook sender) to a webhook receiver on loopback.

Each of N http checks starts failing at its own instant; ``confirm = 1`` and
``group_by = ["check"]`` make every incident its own group, so the expected delay is exactly
``group_wait``. Printed: the latency beyond group_wait (p50, p99, max) and the daemon's CPU
time. Target: p99 under 100 ms beyond group_wait.

Run: .venv/bin/python bench/alerting_e2e.py [--checks 200] [--spread 10]
Everything (target, receiver, daemon) runs in this process on loopback; it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import tempfile
import textwrap
import time
from pathlib import Path

from aiohttp import web
from loopback import free_port

from monitord.app import Daemon
from monitord.configfile import load_config
from monitord.logs import configure_logging
from monitord.model import Result

GROUP_WAIT = 1.0



def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else 0.0


async def main(checks: int, spread: float) -> None:
    configure_logging("json", "error")
    start = time.monotonic()
    rng = random.Random(7)
    fail_at = {f"c{i}": start + 3 + rng.uniform(0, spread) for i in range(checks)}
    confirmed: dict[str, float] = {}
    arrived: dict[str, float] = {}
    all_arrived = asyncio.Event()

    async def target(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if time.monotonic() >= fail_at[name]:
            return web.Response(status=500, text="broken")
        return web.Response(text="fine")

    async def hook(request: web.Request) -> web.Response:
        now = time.monotonic()
        payload = await request.json()
        for incident in payload["incidents"]:
            if incident["event"] == "problem":
                arrived.setdefault(incident["check"], now)
        if len(arrived) == checks:
            all_arrived.set()
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/{name}", target)
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()

    with tempfile.TemporaryDirectory() as state:
        path = Path(state) / "config.toml"
        body = "".join(textwrap.dedent(f"""
            [[check]]
            name = "c{i}"
            type = "http"
            url = "http://127.0.0.1:{port}/c{i}"
        """) for i in range(checks))
        path.write_text(textwrap.dedent(f"""
            [monitord]
            state_dir = "{state}"
            log_level = "error"
            [api]
            listen = ""
            [defaults]
            interval = "1s"
            timeout = "2s"
            confirm = 1
            [[receiver]]
            name = "hook"
            type = "webhook"
            url = "http://127.0.0.1:{port}/hook"
            [alerting]
            default_receivers = ["hook"]
            group_by = ["check"]
            group_wait = "{GROUP_WAIT}s"
        """) + body)
        daemon = Daemon(load_config(path))

        async def listen(result: Result) -> None:
            if result.status.is_problem:
                confirmed.setdefault(result.check, time.monotonic())

        # Registered first so the time is taken before qualification sees the result.
        daemon.result_listeners.insert(0, listen)
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        task = asyncio.create_task(daemon.run())
        try:
            await asyncio.wait_for(all_arrived.wait(), timeout=spread + 30)
        finally:
            daemon.request_stop()
            await task
            await runner.cleanup()
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)

    beyond = [arrived[c] - confirmed[c] - GROUP_WAIT for c in arrived if c in confirmed]
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    print(f"incidents: {len(beyond)} of {checks} checks, group_wait {GROUP_WAIT:.0f}s")
    print(f"latency beyond group_wait: p50 {percentile(beyond, 50) * 1000:.1f} ms, "
          f"p99 {percentile(beyond, 99) * 1000:.1f} ms, max {max(beyond) * 1000:.1f} ms "
          "(target: p99 < 100 ms)")
    print(f"process CPU during the run: {cpu:.2f} s (target, receiver and daemon together)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checks", type=int, default=200)
    parser.add_argument("--spread", type=float, default=10.0,
                        help="seconds over which the checks start failing")
    args = parser.parse_args()
    asyncio.run(main(args.checks, args.spread))
