"""Benchmark: N ``http`` checks through the real scheduler, runner and HTTP client.

Starts a local HTTP target on loopback — nginx when Debian's is installed, else an aiohttp
server in another process, so the target's CPU is not counted as ours — then runs N checks
at a fixed interval, lets one interval pass (every check started once, spread by name), and
measures over ``--duration`` seconds:

* sustained checks/s (completed runs / seconds),
* CPU seconds (user + system, this process only) per 1,000 checks,
* scheduler lag (how late runs started against their plan), p50 / p99 / max,
* peak RSS of this process,
* garbage-collector pauses (a full collection over every live object is what stalls the
  loop longest).

``--tune-gc`` shows the effect of freezing the start-up objects (``gc.freeze()``) and raising
the young-generation threshold, which the daemon does not do (yet).

    .venv/bin/python bench/checks.py                       # 5,000 checks every 5 s, ~60 s
    .venv/bin/python bench/checks.py --checks 500 --duration 15

It only talks to 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from loopback import free_port, nginx_conf

from monitord.checks import http
from monitord.checks.base import CheckEnv
from monitord.checks.kind import Check
from monitord.clock import SystemClock
from monitord.config.durations import parse_duration
from monitord.config.schema import CheckConfig
from monitord.model import Result
from monitord.runner import CheckRunner
from monitord.scheduler import LagStats, Scheduler


def serve_aiohttp(port: int) -> None:
    """The target when nginx is missing (run in a child process: ``--serve PORT``)."""
    from aiohttp import web

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    app = web.Application()
    app.router.add_get("/{tail:.*}", ok)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None, backlog=4096)


@contextlib.contextmanager
def target() -> Iterator[tuple[str, str]]:
    """A running HTTP target: (kind, base URL)."""
    port = free_port()
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx")
                                      else None)
    with tempfile.TemporaryDirectory(prefix="monitord-bench-") as directory:
        if nginx:
            conf = Path(directory, "nginx.conf")
            conf.write_text(nginx_conf(directory, port))
            command = [nginx, "-c", str(conf), "-p", directory, "-e", f"{directory}/error.log"]
            kind = "nginx"
        else:
            command = [sys.executable, __file__, "--serve", str(port)]
            kind = "aiohttp (separate process)"
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        try:
            _wait_listening(port, process)
            yield kind, f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the HTTP target exited with status {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise SystemExit("the HTTP target did not start listening")


def make_checks(count: int, base: str, interval: float, timeout: float,
                env: CheckEnv) -> list[tuple[CheckConfig, Check]]:
    checks: list[tuple[CheckConfig, Check]] = []
    for index in range(count):
        spec = http.HttpSpec(url=f"{base}/check/{index}", expect_status=((200, 200),))
        config = CheckConfig(name=f"bench-{index:05d}", type="http", spec=spec,
                             interval=interval, timeout=timeout, locations=("bench",))
        checks.append((config, http.KIND.build(config, env)))
    return checks


def cpu_seconds() -> tuple[float, float]:
    """(user, system) CPU seconds of this process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


class GcPauses:
    """Counts and times the collector's passes per generation (via ``gc.callbacks``)."""

    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.total = [0.0, 0.0, 0.0]
        self.longest = [0.0, 0.0, 0.0]
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
            return
        generation, took = info["generation"], time.perf_counter() - self._start
        self.count[generation] += 1
        self.total[generation] += took
        self.longest[generation] = max(self.longest[generation], took)


def tune_gc() -> None:
    """Never rescan what start-up built; collect the young generation less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


async def bench(args: argparse.Namespace, base: str) -> tuple[dict[str, float], dict[str, str]]:
    clock = SystemClock()
    env = CheckEnv(clock=clock, location="bench")
    statuses: Counter[str] = Counter()
    samples: dict[str, str] = {}
    measuring = False

    async def on_result(result: Result) -> None:
        if measuring:
            statuses[result.status.name] += 1
            if result.status.name != "OK":
                samples.setdefault(result.status.name, result.summary)

    scheduler = Scheduler(clock=clock, run_check=CheckRunner(clock, "bench"),
                          on_result=on_result, max_concurrent=args.max_concurrent,
                          max_per_host=args.max_per_host)
    checks = make_checks(args.checks, base, args.interval, args.timeout, env)
    runner = asyncio.create_task(scheduler.run(checks))
    try:
        await asyncio.sleep(args.interval)  # every check has started once: steady state
        if args.tune_gc:
            tune_gc()
        scheduler.lag = LagStats(keep=10_000_000)  # keep every sample of the window
        pauses = GcPauses()
        gc.callbacks.append(pauses)
        measuring = True
        runs0, (user0, sys0), wall0 = scheduler.runs, cpu_seconds(), time.monotonic()
        await asyncio.sleep(args.duration)
        (user1, sys1), wall = cpu_seconds(), time.monotonic() - wall0
        runs = scheduler.runs - runs0
        measuring = False
        gc.callbacks.remove(pauses)
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        await env.aclose()
    lag = scheduler.lag
    user, system = user1 - user0, sys1 - sys0
    cpu = user + system
    return {
        "runs": runs,
        "seconds": wall,
        "checks_per_s": runs / wall,
        "cpu_per_1000": cpu / runs * 1000 if runs else float("nan"),
        "user_per_1000": user / runs * 1000 if runs else float("nan"),
        "sys_per_1000": system / runs * 1000 if runs else float("nan"),
        "cpu_share": cpu / wall,
        "gc_count": sum(pauses.count),
        "gc_seconds": sum(pauses.total),
        "gc_full": pauses.count[2],
        "gc_full_longest_ms": pauses.longest[2] * 1000,
        "lag_p50_ms": lag.percentile(50) * 1000,
        "lag_p99_ms": lag.percentile(99) * 1000,
        "lag_max_ms": lag.percentile(100) * 1000,
        "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "ok": statuses["OK"],
        "not_ok": sum(statuses.values()) - statuses["OK"],
    }, samples


def report(args: argparse.Namespace, kind: str, figures: dict[str, float],
           samples: dict[str, str]) -> None:
    rate = args.checks / args.interval

    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    print(f"target            {kind}")
    print(f"checks            {args.checks} every {args.interval:g}s "
          f"(planned {rate:.0f} checks/s), measured over {figures['seconds']:.1f}s")
    print(f"sustained         {figures['checks_per_s']:.1f} checks/s "
          f"({figures['runs']:.0f} runs; {figures['ok']:.0f} OK, {figures['not_ok']:.0f} not OK)")
    print(f"CPU               {figures['cpu_per_1000']:.3f} s per 1,000 checks "
          f"(user {figures['user_per_1000']:.3f} + system {figures['sys_per_1000']:.3f}; "
          f"{figures['cpu_share'] * 100:.0f}% of one core)  [target < 0.5: "
          f"{verdict(figures['cpu_per_1000'] < 0.5)}]")
    print(f"scheduler lag     p50 {figures['lag_p50_ms']:.1f} ms, p99 "
          f"{figures['lag_p99_ms']:.1f} ms, max {figures['lag_max_ms']:.1f} ms  "
          f"[target p99 < 200 ms: {verdict(figures['lag_p99_ms'] < 200)}]")
    print(f"peak RSS          {figures['rss_mib']:.1f} MiB  "
          f"[target < 250 MiB: {verdict(figures['rss_mib'] < 250)}]")
    print(f"garbage collector {figures['gc_count']:.0f} passes, "
          f"{figures['gc_seconds']:.2f} s in all; {figures['gc_full']:.0f} full, the longest "
          f"{figures['gc_full_longest_ms']:.0f} ms{' (tuned)' if args.tune_gc else ''}")
    for status, summary in samples.items():
        print(f"e.g. {status:<12} {summary}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--checks", type=int, default=5000, help="number of checks (5000)")
    parser.add_argument("--interval", type=parse_duration, default=5.0,
                        help='interval of every check, e.g. "5s" (5s)')
    parser.add_argument("--rate", type=float, help="checks per second (sets the interval)")
    parser.add_argument("--duration", type=float, default=55.0,
                        help="seconds measured after the first interval (55)")
    parser.add_argument("--timeout", type=parse_duration, default=10.0)
    parser.add_argument("--max-concurrent", type=int, default=1000)
    parser.add_argument("--max-per-host", type=int, default=1000,
                        help="every check targets 127.0.0.1, so the per-host cap is the "
                             "global one here (1000)")
    parser.add_argument("--tune-gc", action="store_true",
                        help="freeze start-up objects and collect less often")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_aiohttp(args.serve)
        return
    if args.rate:
        args.interval = args.checks / args.rate
    with target() as (kind, base):
        figures, samples = asyncio.run(bench(args, base))
    report(args, kind, figures, samples)


if __name__ == "__main__":
    main()
