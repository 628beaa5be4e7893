"""Qualification throughput and memory, in-process, on synthetic results.

10,000 checks (a fifth of them seen from 3 locations with quorum 2; 100 parents with
dependent children), rounds of results where a few percent of checks fail, confirm and
recover. Prints results/s for the bare engine and for the full pipeline (routing to two
receivers, grouping, encoding the state changes to save), and the engine's memory per check.

    .venv/bin/python bench/qualify.py [--checks 10000] [--rounds 12]

Targets: >= 50,000 results/s, <= 5 KiB per check.
"""

from __future__ import annotations

import argparse
import gc
import random
import time
import tracemalloc
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from monitord.config.schema import CheckConfig
from monitord.model import AlertEvent, Phase, Result, Status
from monitord.qualify import Grouper, Qualifier, QualifySettings
from monitord.qualify.pipeline import Pipeline

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
LOCATIONS = ("paris", "tokyo", "nyc")


@dataclass(frozen=True)
class Spec:
    target: str


@dataclass(frozen=True)
class Target:
    receiver: str
    group_by: tuple[str, ...] = ("service",)
    group_wait: float = 30.0
    group_interval: float = 300.0
    repeat_interval: float = 4 * 3600.0


TARGETS = (Target("ops-mail"), Target("oncall"))


def route(event: AlertEvent, now: datetime) -> tuple[Target, ...]:
    return TARGETS


def make_checks(count: int) -> list[CheckConfig]:
    checks = []
    for i in range(count):
        multi = i % 5 == 0
        parent = (f"c{i - i % 100:05}",) if i % 100 else ()
        checks.append(CheckConfig(
            name=f"c{i:05}", type="http", spec=Spec(f"host{i}.example"), confirm=2,
            labels={"service": f"svc{i % 40}", "team": "ops" if i % 2 else "web"},
            depends_on=parent, locations=LOCATIONS if multi else ("paris",),
            quorum=2 if multi else 1))
    return checks


def make_rounds(checks: list[CheckConfig], rounds: int, failing: float,
                seed: int = 7) -> list[list[Result]]:
    """Per round, one result per check and location; ``failing`` of the checks fail for a
    few consecutive rounds (long enough to confirm), the rest are OK."""
    rng = random.Random(seed)
    out = []
    outage: dict[str, int] = {}
    for r in range(rounds):
        start = T0 + timedelta(minutes=r)
        batch = []
        for c in checks:
            left = outage.get(c.name, 0)
            if not left and rng.random() < failing / 3:
                left = 3
            outage[c.name] = max(0, left - 1)
            for j, location in enumerate(c.locations):
                at = start + timedelta(milliseconds=j)
                if left:
                    batch.append(Result(c.name, "http", location, Status.CRITICAL,
                                        Phase.CONNECT, "connection refused", {}, at, 0.2))
                else:
                    batch.append(Result(c.name, "http", location, Status.OK, None,
                                        f"HTTP 200 in {rng.randint(20, 400)} ms", {}, at, 0.1))
        out.append(batch)
    return out


def memory_per_check(checks: list[CheckConfig], warmup: list[list[Result]]) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    q = Qualifier(checks, QualifySettings())
    for batch in warmup:
        for res in batch:
            q.process(res, batch[-1].at)
    q.take_changes()
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    used = sum(s.size_diff for s in after.compare_to(before, "filename"))
    del q
    return used / len(checks)


def throughput(checks: list[CheckConfig], rounds: list[list[Result]],
               pipeline: bool) -> tuple[float, int, int]:
    q = Qualifier(checks, QualifySettings())
    p = Pipeline(q, Grouper(), route)
    total = events = notifications = 0
    started = time.perf_counter()
    for batch in rounds:
        now = batch[-1].at
        if pipeline:
            for res in batch:
                events += len(p.process(res, now))
            events += len(p.tick(now))
            notifications += len(p.take_batch(now).notifications)
        else:
            for res in batch:
                events += len(q.process(res, now))
            events += len(q.tick(now))
        total += len(batch)
    elapsed = time.perf_counter() - started
    return total / elapsed, events, notifications


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checks", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--failing", type=float, default=0.03,
                        help="share of checks starting an outage per round")
    args = parser.parse_args()
    checks = make_checks(args.checks)
    rounds = make_rounds(checks, args.rounds, args.failing)
    results = sum(len(b) for b in rounds)
    print(f"{args.checks} checks, {len(rounds)} rounds, {results} results, "
          f"{args.failing:.0%} of checks starting an outage per round")
    per_check = memory_per_check(checks, rounds)
    print(f"memory per check:        {per_check / 1024:6.2f} KiB   (target <= 5 KiB)")
    for label, full in (("engine", False), ("pipeline", True)):
        rate, events, notes = throughput(checks, rounds, full)
        extra = f", {notes} notifications" if full else ""
        print(f"{label + ' results/s:':24} {rate:9,.0f}   (target >= 50,000; {events} events"
              f"{extra})")
    steady = make_rounds(checks, args.rounds, 0.0)
    rate, _, _ = throughput(checks, steady, False)
    print(f"{'all OK results/s:':24} {rate:9,.0f}")


if __name__ == "__main__":
    main()
