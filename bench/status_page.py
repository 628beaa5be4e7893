"""Status page and history, daemon-side: 2,000 checks with 7 days of generated history.

Builds the history store as the daemon would have written it (raw results for the last
48 hours, 5-minute rollups for every day, one result per check a minute, a few percent
failing), then serves the real API application on loopback and times, on the server side,
``/``, ``/check/{name}`` and the history API (p50 / p99), and prints the database size
with its projection to 30 days.

    .venv/bin/python bench/status_page.py [--checks 2000] [--days 7] [--requests 60]

Targets: ``/`` under 150 ms at p99, a check page under 50 ms, the database under 200 MiB
for 2,000 checks at 60 s intervals over 30 days.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
from aiohttp import web

from monitord import qualify_store as persist
from monitord.api.auth import TokenGate
from monitord.api.server import build_app
from monitord.api.views import Views
from monitord.config.summary import describe
from monitord.configfile import Config, load_config
from monitord.history import tables
from monitord.history.chunks import (
    BUCKET,
    DAY,
    HOUR,
    PER_DAY,
    RANK,
    Accumulator,
    RawHour,
    encode_rollup,
)
from monitord.history.recorder import HistoryRecorder
from monitord.history.timeline import IncidentJournal
from monitord.model import Phase, Result, Status
from monitord.notify import outbox
from monitord.qualify.snapshot import IncidentView
from monitord.store import Store
from monitord.testing import FakeClock

NOW = datetime(2026, 3, 9, 12, 34, 56, tzinfo=timezone.utc)
MIB = 1024 * 1024


@dataclass
class Seen:
    status: Status | None
    since: datetime | None
    last: dict[str, Result] = field(default_factory=dict)


class Daemonish:
    """The views the API reads, over generated state (no check runs)."""

    def __init__(self, config: Config, results: Mapping[str, Seen],
                 incidents: Sequence[IncidentView]) -> None:
        self.config = config
        self.seen = results
        self.open = list(incidents)
        self.location = "paris"

    def checks(self) -> Sequence[object]:
        return self.config.local_checks()

    def results(self) -> Mapping[str, Seen]:
        return self.seen

    def check_states(self) -> Mapping[str, object]:
        return {}

    def incidents(self) -> list[IncidentView]:
        return self.open

    async def acknowledge(self, incident: str, by: str, comment: str) -> Sequence[object]:
        return []

    def diagnosis(self, incident: str) -> tuple[Sequence[object], Sequence[str]]:
        return (), ()

    def silences(self, now: datetime) -> list[object]:
        return []

    async def add_silence(self, *args: object) -> object:
        raise ValueError("read-only bench")

    async def expire_silence(self, silence_id: str) -> None:
        raise KeyError(silence_id)

    def health_problems(self) -> list[str]:
        return []

    def describe(self, check: str) -> list[tuple[str, str]] | None:
        found = next((c for c in self.config.local_checks() if c.name == check), None)
        return describe(found) if found else None

    def maintenance(self, now: datetime) -> list[tuple[str, str]]:
        return []

    def check_runs(self) -> int:
        return 0

    def checks_in_flight(self) -> int:
        return 0

    def scheduler_lag(self, percentile: float) -> float:
        return 0.0

    def reloads(self) -> int:
        return 0

    def reload_failures(self) -> int:
        return 0

    def receivers(self) -> Mapping[str, object]:
        return {}

    def trap_counters(self) -> None:
        return None

    def agent_samples(self) -> Mapping[str, object]:
        return {}


def config_file(directory: Path, checks: int) -> Path:
    lines = ['[monitord]\nlocation = "paris"\n', '[api]\nlisten = ""\n',
             '[defaults]\ninterval = "60s"\n']
    for i in range(checks):
        lines.append(f'[[check]]\nname = "web-{i:04d}"\ntype = "http"\n'
                     f'url = "https://user:secret@www{i}.example.net/"\n'
                     f'labels = {{ service = "svc-{i % 40:02d}" }}\n')
    path = directory / "config.toml"
    path.write_text("\n".join(lines))
    return path


def generate(store: Store, names: Sequence[str], days: int, rng: random.Random) -> None:
    """Write the chunks the recorder would have written: rollups per day, raw for 48 h."""
    end = int(NOW.timestamp())
    first_day = end - end % DAY - (days - 1) * DAY
    raw_from = end - 2 * DAY

    def write(conn: object) -> None:
        import sqlite3
        assert isinstance(conn, sqlite3.Connection)
        for name in names:
            sid = tables.add_series(conn, name, "paris")
            base = rng.uniform(40, 400)
            bad = rng.random() < 0.05
            rollups, raws = [], []
            for day in range(first_day, end, DAY):
                items = []
                for index in range(PER_DAY):
                    start = day + index * BUCKET
                    if start > end:
                        break
                    acc = Accumulator()
                    fails = 1 if bad and rng.random() < 0.1 else 0
                    mean = base * rng.uniform(0.8, 1.3)
                    acc.merge(5, fails, RANK[Status.CRITICAL] if fails else 0, mean * 0.7,
                              mean * 5, mean * 1.6, [mean * 0.5, mean, mean * 1.2, mean * 2.3])
                    items.append((index, acc))
                count = sum(a.count for _, a in items)
                rollups.append((sid, day, count, sum(a.failures for _, a in items),
                                encode_rollup(items)))
            for hour in range(raw_from - raw_from % HOUR, end, HOUR):
                chunk = RawHour(hour)
                for minute in range(60):
                    at = hour + minute * 60 + 7
                    if at <= end:
                        chunk.add(at, Status.OK, None, base * rng.uniform(0.8, 1.3))
                raws.append((sid, hour, chunk.encode()))
            tables.write(conn, raws, rollups)

    store.run_sync(lambda conn: (conn.execute("BEGIN"), write(conn), conn.execute("COMMIT")))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def main(checks: int, days: int, requests: int) -> None:
    rng = random.Random(12)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        config = load_config(config_file(directory, checks))
        names = [c.name for c in config.local_checks()]
        store = await Store.open(directory / "monitord.db")
        await store.migrate(tables.COMPONENT, tables.MIGRATIONS)
        await persist.migrate(store)  # the incident timeline reads the alerting tables
        await outbox.migrate(store)
        started = time.perf_counter()
        await asyncio.to_thread(generate, store, names, days, rng)
        print(f"generated {days} days for {checks} checks in "
              f"{time.perf_counter() - started:.1f}s")
        await store.call(lambda c: c.execute("PRAGMA wal_checkpoint(TRUNCATE)"))
        clock = FakeClock(NOW)
        started = time.perf_counter()
        history = await HistoryRecorder.open(store, clock)
        print(f"history loaded at start in {time.perf_counter() - started:.2f}s")
        results = {}
        for i, name in enumerate(names):
            status = Status.CRITICAL if i % 97 == 0 else Status.OK
            metrics = {"time_resolve_ms": 3.0, "time_connect_ms": 20.0, "time_tls_ms": 40.0,
                       "time_firstbyte_ms": 90.0, "time_total_ms": 153.0}
            result = Result(name, "http", "paris", status,
                            Phase.CONNECT if status else None, "HTTP 200 in 153ms", metrics,
                            NOW - timedelta(seconds=20), 0.153)
            results[name] = Seen(status, NOW - timedelta(hours=3), {"paris": result})
            history.add(result)
        incidents = [IncidentView(f"{n}-1", n, Status.CRITICAL, Phase.CONNECT, "refused",
                                  NOW - timedelta(minutes=12), None, True, None, None, "",
                                  "", ()) for n in names[::97]]
        daemon = Daemonish(config, results, incidents)
        journal = IncidentJournal(store, daemon.incidents, {})
        views = Views(clock=clock, health=daemon, checks=daemon,  # type: ignore[arg-type]
                      states=daemon, incidents=daemon, silences=daemon,  # type: ignore[arg-type]
                      samples=daemon, history=history, details=daemon,  # type: ignore[arg-type]
                      journal=journal)
        app = build_app(views, TokenGate(None, anonymous_read=True))
        timings: dict[str, list[float]] = {}

        @web.middleware
        async def timed(request: web.Request,
                        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                        ) -> web.StreamResponse:
            begun = time.perf_counter()
            response = await handler(request)
            timings.setdefault(request["kind"], []).append(time.perf_counter() - begun)
            return response

        @web.middleware
        async def kind(request: web.Request,
                       handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                       ) -> web.StreamResponse:
            path = request.path
            request["kind"] = ("/" if path == "/" else "/check/{name}"
                               if path.startswith("/check/") else "history API")
            return await handler(request)

        app.middlewares.extend([kind, timed])
        gc.collect()
        gc.freeze()  # as the daemon does after start-up
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        base = f"http://127.0.0.1:{port}"
        sizes = {}
        async with aiohttp.ClientSession() as http:
            for _ in range(requests):
                name = names[rng.randrange(len(names))]
                for url in (f"{base}/", f"{base}/check/{name}",
                            f"{base}/api/v1/checks/{name}/history"):
                    async with http.get(url) as resp:
                        body = await resp.read()
                        assert resp.status == 200, (url, resp.status)
                        sizes[url.split("/")[3] or "/"] = len(body)
                # A browser refreshes every 30 s: each check's picture turns every 5 min.
                clock.set(clock.now() + timedelta(seconds=30))
        await runner.cleanup()
        print(f"{'endpoint':<16} {'p50 ms':>8} {'p99 ms':>8}")
        for key in ("/", "/check/{name}", "history API"):
            values = [t * 1000 for t in timings[key]]
            print(f"{key:<16} {statistics.median(values):8.1f} {percentile(values, 99):8.1f}")
        print(f"page size: / {sizes['/'] / 1024:.0f} KiB")

        def size(conn: object) -> tuple[int, int, int]:
            import sqlite3
            assert isinstance(conn, sqlite3.Connection)
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            page = conn.execute("PRAGMA page_size").fetchone()[0]
            raw = conn.execute("SELECT SUM(LENGTH(data)) FROM history_raw").fetchone()[0]
            roll = conn.execute("SELECT SUM(LENGTH(data)) FROM history_rollup").fetchone()[0]
            return pages * page, raw, roll

        total, raw, roll = await store.call(size)
        await store.close()
        per_day = roll / days
        overhead = total / (raw + roll)
        projected = (raw + per_day * 30) * overhead
        print(f"database: {total / MIB:.1f} MiB for {days} days "
              f"(raw 48 h {raw / MIB:.1f} MiB, rollups {roll / MIB:.1f} MiB; "
              f"{per_day / checks:.0f} bytes per check per day of rollups)")
        print(f"projected for 30 days: {projected / MIB:.1f} MiB "
              f"({projected / checks / 30:.0f} bytes per check per day)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    asyncio.run(main(args.checks, args.days, args.requests))
