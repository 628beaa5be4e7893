"""The history recorder: keeps every result, off the hot path, and answers history queries.

A result only updates memory (``record``): the current hour's samples and the current day's
5-minute rollups of its series, the check's half-hour slots for the status page's 24-hour
bar, and its daily totals for availability. A supervised task (``run``) writes the changed
chunks every ``FLUSH_EVERY`` seconds in ONE transaction, and prunes once an hour: raw hours
older than ``history_raw``, rollup days older than ``history_retention``.

Error handling: a failing flush is logged and retried at the next one (the chunks stay
dirty in memory); a failing prune is logged and tried again an hour later. Neither stops the
daemon nor any check.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from monitord.clock import Clock
from monitord.history import tables
from monitord.history.chunks import (
    BUCKET,
    DAY,
    HOUR,
    PHASES,
    Accumulator,
    Bucket,
    DayRollup,
    RawHour,
    Sample,
    decode_rollup,
    encode_rollup,
    failed,
    result_fields,
    span_sums,
)
from monitord.model import Result, Status
from monitord.store import Store

log = structlog.get_logger("monitord.history")

FLUSH_EVERY = 30.0
PRUNE_EVERY = 3600.0
SLOT = 1800  # the status page's 24-hour bar and sparkline: 48 half-hour slots
TREND_SLOTS = DAY // SLOT
TREND_TURN = 600  # seconds an OK check's 24-hour picture may lag (its current slot only)
MAX_SPAN_SLOTS = 400  # a history chart never asks for more slots than this


@dataclass(frozen=True, slots=True)
class Trend:
    """A check at a glance: the last 24 h in half-hour slots and its availability."""

    key: tuple[int, int]  # equal keys, same picture (the renderer caches by it)
    slots: tuple[Bucket, ...]  # oldest first; count 0 = no result in that slot
    availability: tuple[float | None, float | None, float | None]  # 24 h, 7 d, 30 d


@dataclass(frozen=True, slots=True)
class HistoryRows:
    """What the history API returns: raw samples where kept, 5-minute rollups before."""

    raw: tuple[Sample, ...] = ()
    rollups: tuple[Bucket, ...] = ()


@dataclass(slots=True)
class _Series:
    check: str
    location: str
    id: int | None = None
    # The current and the previous hour / day: late results (an agent's buffer) still find
    # their chunk; older ones are on disk only and a late result keeps out of them.
    hours: dict[int, RawHour] = field(default_factory=dict)
    days: dict[int, DayRollup] = field(default_factory=dict)
    dirty_hours: set[int] = field(default_factory=set)
    dirty_days: set[int] = field(default_factory=set)


class HistoryRecorder:
    """Result history of every check (``api.views.History``)."""

    phases: tuple[str, ...] = PHASES

    def __init__(self, store: Store, clock: Clock, raw_seconds: float = 2 * DAY,
                 retention_seconds: float = 30 * DAY) -> None:
        self.store = store
        self.clock = clock
        self.raw_seconds = int(raw_seconds)
        self.retention_seconds = int(max(retention_seconds, raw_seconds))
        self._series: dict[tuple[str, str], _Series] = {}
        self._by_check: dict[str, list[_Series]] = {}
        self._slots: dict[str, dict[int, Accumulator]] = {}
        self._totals: dict[str, dict[int, list[int]]] = {}  # check → day → [count, failures]
        self._problems: dict[str, int] = {}  # non-OK results seen, per check (trend cache key)
        self._trends: dict[str, Trend] = {}
        self._latest = int(clock.now().timestamp())  # the newest instant seen
        self.flushes = 0
        self.dropped = 0  # late results older than the chunks kept in memory

    @classmethod
    async def open(cls, store: Store, clock: Clock, raw_seconds: float = 2 * DAY,
                   retention_seconds: float = 30 * DAY) -> HistoryRecorder:
        """Migrate the tables and load what the status page needs from earlier runs."""
        await store.migrate(tables.COMPONENT, tables.MIGRATIONS)
        recorder = cls(store, clock, raw_seconds, retention_seconds)
        await recorder._load()
        return recorder

    def configure(self, raw_seconds: float, retention_seconds: float) -> None:
        """Apply new horizons (a reload); the next prune honours them."""
        self.raw_seconds = int(raw_seconds)
        self.retention_seconds = int(max(retention_seconds, raw_seconds))

    async def _load(self) -> None:
        now = int(self.clock.now().timestamp())
        today = now - now % DAY
        hour = now - now % HOUR

        def read(conn: sqlite3.Connection) -> tuple[dict[tuple[str, str], int],
                                                    list[tuple[str, int, int, int]],
                                                    list[tuple[int, int, bytes]],
                                                    list[tuple[int, int, bytes]]]:
            ids = tables.series(conn)
            totals = tables.day_totals(conn, today - self.retention_seconds)
            all_ids = list(ids.values())
            days = tables.rollups(conn, all_ids, today - DAY, now + 1) if all_ids else []
            hours = tables.raw(conn, all_ids, hour - HOUR, now + 1) if all_ids else []
            return ids, totals, days, hours

        ids, totals, days, hours = await self.store.call(read)
        by_id: dict[int, _Series] = {}
        for (check, location), sid in ids.items():
            by_id[sid] = self._get(check, location)
            by_id[sid].id = sid
        for check, day, count, failures in totals:
            self._totals.setdefault(check, {})[day] = [count, failures]
        first = (now - DAY) // SLOT * SLOT  # the oldest slot the 24-hour bar shows
        for sid, day, blob in days:
            series = by_id[sid]
            # Kept packed: unpacked when a result for that day arrives (today's, within a
            # minute), or never (yesterday's, unless a late result comes).
            rollup = series.days[day] = DayRollup.packed(day, blob)
            slots = self._slots.setdefault(series.check, {})
            for slot, acc in span_sums(rollup, SLOT, first).items():
                slots.setdefault(slot, Accumulator()).absorb(acc)
        for sid, start, blob in hours:
            if start >= hour - HOUR:
                by_id[sid].hours[start] = RawHour.decode(start, blob)

    def _get(self, check: str, location: str) -> _Series:
        series = self._series.get((check, location))
        if series is None:
            series = self._series[(check, location)] = _Series(check, location)
            self._by_check.setdefault(check, []).append(series)
        return series

    # -- recording (the hot path: memory only) ---------------------------------------------

    async def record(self, result: Result) -> None:
        """A result listener: updates memory, never touches the disk."""
        self.add(result)

    def add(self, result: Result) -> None:
        at, status, phase, duration_ms, phases = result_fields(result)
        latest = self._latest = max(self._latest, at)
        series = self._get(result.check, result.location)
        day = at - at % DAY
        rollup = series.days.get(day)
        if rollup is None:
            if day < latest - latest % DAY - DAY:
                self.dropped += 1  # its day is on disk only: rewriting it would lose it
                return
            rollup = series.days[day] = DayRollup(day)
        rollup.add(at, status, duration_ms, phases)
        hour = at - at % HOUR
        raw = series.hours.get(hour)
        if raw is None and hour >= latest - latest % HOUR - HOUR:
            raw = series.hours[hour] = RawHour(hour)
        if raw is not None:  # else: a late result for an old hour, kept in the rollups only
            raw.add(at, status, phase, duration_ms)
            series.dirty_hours.add(hour)
        series.dirty_days.add(day)
        slot = self._slots.setdefault(result.check, {}).setdefault(at // SLOT, Accumulator())
        slot.add(status, duration_ms, phases)
        totals = self._totals.setdefault(result.check, {}).setdefault(day, [0, 0])
        totals[0] += 1
        totals[1] += int(failed(status))
        if status is not Status.OK:
            self._problems[result.check] = self._problems.get(result.check, 0) + 1

    # -- the supervised task ----------------------------------------------------------------

    async def run(self) -> None:
        """Flush every FLUSH_EVERY seconds and prune every PRUNE_EVERY, until cancelled;
        a last flush on the way out keeps what arrived since the previous one."""
        next_prune = self.clock.monotonic()  # the first prune follows the first flush
        try:
            while True:
                await self.clock.sleep(FLUSH_EVERY)
                await self._guarded(self.flush, "history_flush_failed")
                if self.clock.monotonic() >= next_prune:
                    await self._guarded(self.prune, "history_prune_failed")
                    next_prune = self.clock.monotonic() + PRUNE_EVERY
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.flush())

    async def _guarded(self, step: Callable[[], Awaitable[object]], event: str) -> None:
        try:
            await step()
        except sqlite3.Error as exc:
            log.error(event, error=str(exc))

    async def flush(self) -> int:
        """Write every changed chunk in one transaction; returns how many were written."""
        dirty = [s for s in self._series.values() if s.dirty_hours or s.dirty_days]
        if not dirty:
            return 0
        # Snapshots are taken here, on the loop; packing happens on the store thread.
        work = [(s, [(h, list(s.hours[h].samples)) for h in sorted(s.dirty_hours)],
                 [(d, s.days[d].snapshot()) for d in sorted(s.dirty_days)])
                for s in dirty]
        for s in dirty:
            s.dirty_hours, s.dirty_days = set(), set()

        def write(conn: sqlite3.Connection) -> dict[tuple[str, str], int]:
            ids: dict[tuple[str, str], int] = {}
            raw: list[tables.RawRow] = []
            rollups: list[tables.RollupRow] = []
            for series, hours, days in work:
                sid = series.id
                if sid is None:
                    sid = ids[(series.check, series.location)] = tables.add_series(
                        conn, series.check, series.location)
                for hour, samples in hours:
                    chunk = RawHour(hour)
                    chunk.samples = samples
                    raw.append((sid, hour, chunk.encode()))
                for day, items in days:
                    rollups.append((sid, day, sum(a.count for _, a in items),
                                    sum(a.failures for _, a in items), encode_rollup(items)))
            tables.write(conn, raw, rollups)
            return ids

        try:
            ids = await self.store.transaction(write)
        except BaseException:
            for series, hours, days in work:  # written at the next flush
                series.dirty_hours.update(h for h, _ in hours)
                series.dirty_days.update(d for d, _ in days)
            raise
        for key, sid in ids.items():
            self._series[key].id = sid
        self._trim()
        self.flushes += 1
        return len(work)

    async def prune(self) -> int:
        """Forget what is past the horizons, on disk and in memory; returns chunks deleted."""
        now = int(self.clock.now().timestamp())
        self._latest = max(self._latest, now)
        raw_before, rollup_before = now - self.raw_seconds, now - self.retention_seconds
        gone = await self.store.transaction(
            lambda conn: tables.prune(conn, raw_before, rollup_before))
        self._trim()
        oldest_slot = (now - DAY) // SLOT - 1
        for slots in self._slots.values():
            for slot in [s for s in slots if s < oldest_slot]:
                del slots[slot]
        for totals in self._totals.values():
            for day in [d for d in totals if d + DAY <= rollup_before]:
                del totals[day]
        if gone:
            log.info("history_pruned", chunks=gone)
        return gone

    def _trim(self) -> None:
        """Forget written chunks older than the previous hour / day (they are on disk)."""
        latest = self._latest
        hour, day = latest - latest % HOUR - HOUR, latest - latest % DAY - DAY
        for series in self._series.values():
            for h in [h for h in series.hours if h < hour and h not in series.dirty_hours]:
                del series.hours[h]
            for d in [d for d in series.days if d < day and d not in series.dirty_days]:
                del series.days[d]

    # -- reading -----------------------------------------------------------------------------

    def trend(self, check: str, when: datetime) -> Trend | None:
        """The check's last 24 hours; None when it has no history at all."""
        slots = self._slots.get(check)
        if not slots and check not in self._totals:
            return None
        now = int(when.timestamp())
        # Each check's picture turns every TREND_TURN seconds, at its own offset: a page
        # never redraws every check at once. A problem result turns it at once.
        offset = zlib.crc32(check.encode()) % TREND_TURN
        key = ((now + offset) // TREND_TURN, self._problems.get(check, 0))
        cached = self._trends.get(check)
        if cached is not None and cached.key == key:
            return cached
        last = now // SLOT
        empty = Accumulator()
        picked = [(s, (slots or {}).get(s, empty)) for s in range(last - TREND_SLOTS + 1, last + 1)]
        day_acc = Accumulator()
        for _, acc in picked:
            day_acc.absorb(acc)
        trend = Trend(key, tuple(acc.bucket(s * SLOT, SLOT) for s, acc in picked),
                      (_ratio(day_acc.count, day_acc.failures),
                       self._availability(check, now, 7), self._availability(check, now, 30)))
        self._trends[check] = trend
        return trend

    def _availability(self, check: str, now: int, days: int) -> float | None:
        since = now - now % DAY - (days - 1) * DAY
        count = failures = 0
        for day, (c, f) in self._totals.get(check, {}).items():
            if day >= since:
                count += c
                failures += f
        return _ratio(count, failures)

    async def spans(self, check: str, since: int, until: int, width: int) -> list[Bucket]:
        """Buckets of ``width`` seconds covering [since, until), merged across locations."""
        width = max(width, BUCKET, (until - since) // MAX_SPAN_SLOTS)
        n = max(0, -(-(until - since) // width))
        accs = [Accumulator() for _ in range(n)]
        for _series, rollup in await self._rollups(check, since, until):
            for index, acc in rollup.buckets.items():
                start = rollup.day + index * BUCKET
                if since <= start < until:
                    accs[(start - since) // width].absorb(acc)
        return [acc.bucket(since + i * width, width) for i, acc in enumerate(accs)]

    async def rows(self, check: str, since: int, until: int) -> HistoryRows:
        """Raw samples from the raw horizon on, 5-minute rollups per location before."""
        now = int(self.clock.now().timestamp())
        horizon = now - self.raw_seconds
        rollups: list[Bucket] = []
        if since < horizon:
            end = min(until, horizon)
            for series, rollup in await self._rollups(check, since, end):
                rollups.extend(b for b in rollup.rows(series.location) if since <= b.start < end)
        raw: list[Sample] = []
        if until > horizon:
            start = max(since, horizon)
            for series, chunk in await self._raw(check, start, until):
                raw.extend(s for s in chunk.rows(series.location) if start <= s.at < until)
        rollups.sort(key=lambda b: (b.start, b.location))
        raw.sort(key=lambda s: (s.at, s.location))
        return HistoryRows(tuple(raw), tuple(rollups))

    async def _rollups(self, check: str, since: int, until: int,
                       ) -> list[tuple[_Series, DayRollup]]:
        series = self._by_check.get(check, [])
        ids = {s.id: s for s in series if s.id is not None}
        found: dict[tuple[str, int], tuple[_Series, DayRollup]] = {}
        if ids:
            rows = await self.store.call(
                lambda conn: tables.rollups(conn, list(ids), since, until))
            for sid, day, blob in rows:
                found[(ids[sid].location, day)] = (ids[sid], decode_rollup(day, blob))
        for s in series:  # memory is newer than the disk for the days it holds
            for day, rollup in s.days.items():
                if day + DAY > since and day < until:
                    found[(s.location, day)] = (s, rollup)
        return [found[k] for k in sorted(found, key=lambda k: (k[1], k[0]))]

    async def _raw(self, check: str, since: int, until: int) -> list[tuple[_Series, RawHour]]:
        series = self._by_check.get(check, [])
        ids = {s.id: s for s in series if s.id is not None}
        found: dict[tuple[str, int], tuple[_Series, RawHour]] = {}
        if ids:
            rows = await self.store.call(lambda conn: tables.raw(conn, list(ids), since, until))
            for sid, hour, blob in rows:
                found[(ids[sid].location, hour)] = (ids[sid], RawHour.decode(hour, blob))
        for s in series:
            for chunk in s.hours.values():
                if chunk.hour + HOUR > since and chunk.hour < until:
                    found[(s.location, chunk.hour)] = (s, chunk)
        return list(found.values())

    def locations(self, check: str) -> Sequence[str]:
        return [s.location for s in self._by_check.get(check, [])]


def _ratio(count: int, failures: int) -> float | None:
    return (count - failures) / count if count else None
