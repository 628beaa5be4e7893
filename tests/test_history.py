"""Result history on the fake clock: rollups, batched writes, restarts, pruning."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from monitord.history.chunks import Accumulator, DayRollup, RawHour, span_sums
from monitord.history.recorder import FLUSH_EVERY, HistoryRecorder
from monitord.model import Phase, Result, Status
from monitord.store import Store
from monitord.testing import FakeClock

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=timezone.utc)
HOUR, DAY = 3600, 86400


def result(at: datetime, status: Status = Status.OK, ms: float = 100.0, location: str = "paris",
           check: str = "web") -> Result:
    metrics = {"time_resolve_ms": ms / 4, "time_connect_ms": ms / 4, "time_total_ms": ms}
    phase = None if status is Status.OK else Phase.CONNECT
    return Result(check, "http", location, status, phase, "s", metrics,
                  at - timedelta(milliseconds=ms), ms / 1000)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(tmp_path / "state.db")
    yield store
    await store.close()


def count(store: Store, table: str) -> int:
    return int(store.run_sync(lambda c: c.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]))


def ts(when: datetime) -> int:
    return int(when.timestamp())


async def test_five_minute_rollup_counts_failures_durations_and_worst(store: Store) -> None:
    clock = FakeClock(T0 + timedelta(minutes=30))
    history = await HistoryRecorder.open(store, clock)
    for second, status, ms in ((10, Status.OK, 100.0), (70, Status.CRITICAL, 300.0),
                               (130, Status.WARNING, 200.0), (310, Status.OK, 50.0)):
        history.add(result(T0 + timedelta(seconds=second), status, ms))
    history.add(result(T0 + timedelta(seconds=20), ms=400.0, location="london"))
    spans = await history.spans("web", ts(T0), ts(T0) + 600, 300)
    first, second = spans
    assert (first.count, first.failures, first.worst) == (4, 1, Status.CRITICAL)
    assert (first.min_ms, first.max_ms, first.mean_ms) == (100.0, 400.0, 250.0)
    assert first.phases[0] == pytest.approx(62.5)  # resolve: a quarter of the mean
    await history.flush()  # packed and read back: min, max, phases within their precision
    back = await HistoryRecorder.open(store, clock)
    packed = (await back.spans("web", ts(T0), ts(T0) + 300, 300))[0]
    assert (packed.count, packed.failures, packed.worst) == (4, 1, Status.CRITICAL)
    assert packed.mean_ms == 250.0
    step = 250.0 / 255  # min and phases are 255ths of the mean, max above it in 16ths
    assert packed.min_ms == pytest.approx(100.0, abs=step)
    assert packed.max_ms == pytest.approx(400.0, abs=250.0 / 16)
    assert packed.phases[0] == pytest.approx(62.5, abs=step)
    assert (second.count, second.failures, second.worst, second.mean_ms) == (1, 0, Status.OK, 50)
    trend = history.trend("web", clock.now())
    assert trend is not None
    assert trend.availability[0] == pytest.approx(4 / 5)
    assert trend.slots[-2].worst is Status.CRITICAL  # the half-hour 00:00-00:30
    assert trend.slots[-1].count == 0  # 00:30-01:00: nothing yet


async def test_writes_are_batched_and_survive_a_restart(store: Store, tmp_path: Path) -> None:
    clock = FakeClock(T0)
    history = await HistoryRecorder.open(store, clock)
    for minute in range(120):
        history.add(result(T0 + timedelta(minutes=minute, seconds=5)))
    assert count(store, "history_raw") == 0  # nothing on disk until the flush
    assert await history.flush() == 1  # one series: its two hours and its day, one commit
    assert history.flushes == 1
    assert count(store, "history_raw") == 2
    assert count(store, "history_rollup") == 1
    assert await history.flush() == 0  # nothing changed, nothing written

    clock.set(T0 + timedelta(hours=2))
    again = await HistoryRecorder.open(store, clock)
    rows = await again.rows("web", ts(T0), ts(T0) + 2 * HOUR)
    assert len(rows.raw) == 120
    assert rows.rollups == ()
    assert rows.raw[0].at == ts(T0) + 5
    assert rows.raw[0].duration_ms == 100.0
    trend = again.trend("web", clock.now())
    assert trend is not None
    assert trend.availability == (1.0, 1.0, 1.0)
    # New results after the restart land in the same hour chunk without losing the old ones.
    again.add(result(T0 + timedelta(hours=1, minutes=59, seconds=30)))
    await again.flush()
    rows = await again.rows("web", ts(T0) + HOUR, ts(T0) + 2 * HOUR)
    assert len(rows.raw) == 61


async def test_raw_until_history_raw_then_rollups_until_retention(store: Store) -> None:
    clock = FakeClock(T0)
    history = await HistoryRecorder.open(store, clock, raw_seconds=2 * DAY,
                                         retention_seconds=5 * DAY)
    for minute in range(0, 60, 5):
        history.add(result(T0 + timedelta(minutes=minute, seconds=1),
                           Status.CRITICAL if minute == 20 else Status.OK))
    await history.flush()
    clock.set(T0 + timedelta(days=2, minutes=30))
    assert await history.prune() == 0  # the hour ends 2 days after T0 + 1 h: still kept
    clock.set(T0 + timedelta(days=2, hours=1))
    assert await history.prune() == 1
    assert count(store, "history_raw") == 0
    rows = await history.rows("web", ts(T0), ts(T0) + HOUR)
    assert rows.raw == ()
    assert [(b.start - ts(T0), b.count, b.worst) for b in rows.rollups][3:5] == [
        (900, 1, Status.OK), (1200, 1, Status.CRITICAL)]
    assert all(b.location == "paris" for b in rows.rollups)
    clock.set(T0 + timedelta(days=6))
    assert await history.prune() == 1
    assert count(store, "history_rollup") == 0
    assert (await history.rows("web", ts(T0), ts(T0) + HOUR)).rollups == ()
    trend = history.trend("web", clock.now())
    assert trend is not None
    assert trend.availability == (None, None, None)


async def test_run_flushes_on_schedule_and_on_the_way_out(store: Store) -> None:
    clock = FakeClock(T0)
    history = await HistoryRecorder.open(store, clock)
    task = asyncio.create_task(history.run())
    await clock.advance(0)
    history.add(result(T0 + timedelta(seconds=1)))
    await clock.advance(FLUSH_EVERY - 1)
    assert count(store, "history_rollup") == 0
    await clock.advance(1)
    for _ in range(200):  # the write runs on the store thread
        if history.flushes:
            break
        await asyncio.sleep(0.01)
    assert count(store, "history_raw") == 1
    history.add(result(T0 + timedelta(hours=1, seconds=1)))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert count(store, "history_raw") == 2


async def test_a_failing_flush_keeps_the_chunks_for_the_next(store: Store) -> None:
    clock = FakeClock(T0)
    history = await HistoryRecorder.open(store, clock)
    history.add(result(T0 + timedelta(seconds=1)))
    store.run_sync(lambda c: c.execute("DROP TABLE history_raw"))
    with pytest.raises(sqlite3.OperationalError):
        await history.flush()
    store.run_sync(lambda c: c.execute(
        "CREATE TABLE history_raw (series INTEGER NOT NULL, hour INTEGER NOT NULL, "
        "data BLOB NOT NULL, PRIMARY KEY (series, hour))"))
    assert await history.flush() == 1
    assert count(store, "history_raw") == 1
    assert count(store, "history_rollup") == 1


def test_chunks_round_trip() -> None:
    day = DayRollup(ts(T0))
    day.add(ts(T0) + 10, Status.WARNING, 123.4, (1.0, 2.0, 3.0, 4.0))
    day.add(ts(T0) + 20, Status.OK, 70000.0, (0.0, 0.0, 0.0, 0.0))  # clamped to 65 s
    back = DayRollup.decode(ts(T0), day.encode())
    (bucket,) = back.rows()
    assert (bucket.count, bucket.worst) == (2, Status.WARNING)
    assert bucket.max_ms == pytest.approx(65000.0, rel=1 / 16)
    assert bucket.min_ms == pytest.approx(123.4, abs=bucket.mean_ms / 255)
    raw = RawHour(ts(T0))
    raw.add(ts(T0) + 59, Status.CRITICAL, Phase.TLS, 12.5)
    (sample,) = RawHour.decode(ts(T0), raw.encode()).rows("x")
    assert (sample.at, sample.status, sample.phase, sample.duration_ms) == (
        ts(T0) + 59, Status.CRITICAL, Phase.TLS, 12.5)
    with pytest.raises(ValueError, match="unknown"):
        DayRollup.decode(0, b"\x09junk")


def test_packed_day_sums_as_unpacked() -> None:
    """A day read at start stays packed; its half-hour sums equal the unpacked buckets'."""
    day = DayRollup(ts(T0))
    for minute in range(0, 24 * 60, 7):
        status = Status.CRITICAL if minute % 91 == 0 else Status.OK
        day.add(ts(T0) + minute * 60, status, 50.0 + minute % 13, (1.0, 2.0, 3.0, 4.0))
    blob = day.encode()
    since = ts(T0) + 6 * HOUR
    packed = span_sums(DayRollup.packed(ts(T0), blob), 1800, since)
    unpacked = span_sums(DayRollup.decode(ts(T0), blob), 1800, since)
    assert sorted(packed) == sorted(unpacked) == list(range(since // 1800, (ts(T0) + DAY) // 1800))

    def fields(acc: Accumulator) -> tuple[object, ...]:
        return (acc.count, acc.failures, acc.worst, round(acc.dmin, 6), round(acc.dsum, 6),
                round(acc.dmax, 6), [round(p, 6) for p in acc.psum])

    assert [fields(packed[k]) for k in sorted(packed)] == [
        fields(unpacked[k]) for k in sorted(unpacked)]
    assert sum(a.failures for a in packed.values()) == sum(
        1 for m in range(0, 24 * 60, 7) if m >= 6 * 60 and m % 91 == 0)
    lazy = DayRollup.packed(ts(T0), blob)
    lazy.add(ts(T0) + 10, Status.OK, 1.0, (0.0,) * 4)  # unpacks, then adds
    assert lazy.totals() == (day.totals()[0] + 1, day.totals()[1])
