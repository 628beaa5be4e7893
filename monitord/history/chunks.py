"""Packed history: raw samples per series and hour, 5-minute rollups per series and day.

Pure: no clock, no SQL. A *series* is one check at one location. Storing one SQLite row per
result would cost ~40 bytes a row (≈ 170 KiB per check per day at a 60 s interval), so
samples and rollups are packed column by column into zlib-compressed blobs, one per series
and hour (raw) or series and UTC day (rollups). Columns of a healthy check (same count, no
failures, same status) compress to almost nothing; durations are kept as half-precision
milliseconds (3 significant digits, enough for a chart); in rollups, min, max and the
phase means are bytes relative to the mean (within 1/255 of it for min and phases, 1/16 for
max). See docs/history.md for the sizes.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from monitord.model import Phase, Result, Status

BUCKET = 300  # seconds in a rollup bucket
DAY = 86400
HOUR = 3600
PER_DAY = DAY // BUCKET
# Phase timings a check may measure (metrics ``time_<phase>_ms``), in stacking order.
PHASES = ("resolve", "connect", "tls", "firstbyte")
MAX_MS = 65000.0  # the largest half-precision value kept (longer runs are clamped)
VERSION = 1  # of the packed formats (a newer monitord reads older ones)
# Severity order for "worst": OK < UNKNOWN < WARNING < CRITICAL (Nagios, as Status.worst).
RANK = {Status.OK: 0, Status.UNKNOWN: 1, Status.WARNING: 2, Status.CRITICAL: 3}
BY_RANK = {v: k for k, v in RANK.items()}
PHASE_CODES = {p: i + 1 for i, p in enumerate(Phase)}
PHASE_BY_CODE = {v: k for k, v in PHASE_CODES.items()}


def failed(status: Status) -> bool:
    """What availability counts as down: a CRITICAL result (WARNING and UNKNOWN are not)."""
    return status is Status.CRITICAL


def phase_times(metrics: Mapping[str, float]) -> tuple[float, ...]:
    return tuple(float(metrics.get(f"time_{p}_ms", 0.0)) for p in PHASES)


def _ms(value: float) -> float:
    return min(max(value, 0.0), MAX_MS)


@dataclass(frozen=True, slots=True)
class Sample:
    """One kept result (raw history)."""

    at: int  # epoch seconds, UTC
    location: str
    status: Status
    phase: Phase | None
    duration_ms: float


@dataclass(frozen=True, slots=True)
class Bucket:
    """Results of one span (5 minutes, or wider when merged): the rollup row."""

    start: int  # epoch seconds, UTC
    seconds: int
    count: int
    failures: int
    worst: Status
    min_ms: float
    mean_ms: float
    max_ms: float
    phases: tuple[float, ...] = field(default=(0.0,) * len(PHASES))  # means, PHASES order
    location: str = ""  # "" when merged across locations

    @property
    def availability(self) -> float | None:
        return (self.count - self.failures) / self.count if self.count else None


class Accumulator:
    """Mutable sums of one span; ``bucket()`` freezes them."""

    __slots__ = ("count", "dmax", "dmin", "dsum", "failures", "psum", "worst")

    def __init__(self) -> None:
        self.count = 0
        self.failures = 0
        self.worst = 0
        self.dmin = 0.0
        self.dsum = 0.0
        self.dmax = 0.0
        self.psum = [0.0] * len(PHASES)

    @classmethod
    def of(cls, count: int, failures: int, worst: int, dmin: float, dsum: float, dmax: float,
           psum: list[float]) -> Accumulator:
        """Sums as they are (a decoded bucket): no merging, a quarter of the cost at start."""
        acc = cls.__new__(cls)
        acc.count, acc.failures, acc.worst = count, failures, worst
        acc.dmin, acc.dsum, acc.dmax, acc.psum = dmin, dsum, dmax, psum
        return acc

    def add(self, status: Status, duration_ms: float, phases: tuple[float, ...]) -> None:
        self.merge(1, int(failed(status)), RANK[status], duration_ms, duration_ms,
                   duration_ms, phases)

    def merge(self, count: int, failures: int, worst: int, dmin: float, dsum: float,
              dmax: float, psum: tuple[float, ...] | list[float]) -> None:
        if not count:
            return
        if not self.count or dmin < self.dmin:
            self.dmin = dmin
        self.dmax = max(self.dmax, dmax) if self.count else dmax
        self.count += count
        self.failures += failures
        self.worst = max(self.worst, worst)
        self.dsum += dsum
        for i, value in enumerate(psum):
            self.psum[i] += value

    def absorb(self, other: Accumulator) -> None:
        self.merge(other.count, other.failures, other.worst, other.dmin, other.dsum,
                   other.dmax, other.psum)

    def bucket(self, start: int, seconds: int, location: str = "") -> Bucket:
        n = self.count or 1
        return Bucket(start, seconds, self.count, self.failures, BY_RANK[self.worst],
                      self.dmin, self.dsum / n, self.dmax, tuple(p / n for p in self.psum),
                      location)


class DayRollup:
    """The 5-minute buckets of one series over one UTC day; one read from the database
    (:meth:`packed`) is unpacked on first use, so a start-up reads without unpacking."""

    __slots__ = ("_blob", "_buckets", "day")

    def __init__(self, day: int) -> None:
        self.day = day  # epoch seconds of 00:00 UTC
        self._buckets: dict[int, Accumulator] | None = {}  # index 0..287 → sums
        self._blob = b""

    @classmethod
    def packed(cls, day: int, blob: bytes) -> DayRollup:
        rollup = cls(day)
        rollup._buckets, rollup._blob = None, blob
        return rollup

    @property
    def buckets(self) -> dict[int, Accumulator]:
        if self._buckets is None:
            self._buckets, self._blob = decode_rollup(self.day, self._blob)._buckets, b""
            assert self._buckets is not None
        return self._buckets

    def add(self, at: int, status: Status, duration_ms: float,
            phases: tuple[float, ...]) -> None:
        index = (at - self.day) // BUCKET
        acc = self.buckets.get(index)
        if acc is None:
            acc = self.buckets[index] = Accumulator()
        acc.add(status, _ms(duration_ms), tuple(_ms(p) for p in phases))

    def totals(self) -> tuple[int, int]:
        return (sum(a.count for a in self.buckets.values()),
                sum(a.failures for a in self.buckets.values()))

    def rows(self, location: str = "") -> Iterator[Bucket]:
        for index in sorted(self.buckets):
            yield self.buckets[index].bucket(self.day + index * BUCKET, BUCKET, location)

    def snapshot(self) -> list[tuple[int, Accumulator]]:
        """The buckets as a list, taken on the event loop; :func:`encode_rollup` may then
        pack it on the store thread (closed buckets no longer change)."""
        return sorted(self.buckets.items())

    def encode(self) -> bytes:
        return encode_rollup(self.snapshot())

    @classmethod
    def decode(cls, day: int, blob: bytes) -> DayRollup:
        return decode_rollup(day, blob)


def _share(part: float, whole: float) -> int:
    """``part`` as 255ths of ``whole`` (one byte; min and phases are at most the mean…)."""
    return min(255, round(255 * part / whole)) if whole > 0 else 0


def _spread(peak: float, mean: float) -> int:
    """How far the max is above the mean, in 16ths of the mean (one byte, up to 16×)."""
    return min(255, round(16 * (peak / mean - 1))) if mean > 0 else 0


def encode_rollup(items: list[tuple[int, Accumulator]]) -> bytes:
    """Columns: bucket index, count, failures, worst, mean (half float), then min, max and
    the phase means relative to the mean, one byte each: a bucket costs 9 bytes before
    compression, and the plain columns of a healthy check compress to almost nothing."""
    idx = [i for i, _ in items]
    accs = [a for _, a in items]
    means = [_ms(a.dsum / a.count) if a.count else 0.0 for a in accs]
    n = len(idx)
    body = b"".join((
        struct.pack(f"<H{n}H", n, *idx),
        struct.pack(f"<{n}H", *(min(a.count, 65535) for a in accs)),
        struct.pack(f"<{n}H", *(min(a.failures, 65535) for a in accs)),
        struct.pack(f"<{n}B", *(a.worst for a in accs)),
        struct.pack(f"<{n}e", *means),
        struct.pack(f"<{n}B", *(_share(a.dmin, m) for a, m in zip(accs, means))),
        struct.pack(f"<{n}B", *(_spread(a.dmax, m) for a, m in zip(accs, means))),
        *(struct.pack(f"<{n}B", *(_share(a.psum[p] / a.count if a.count else 0.0, m)
                                  for a, m in zip(accs, means)))
          for p in range(len(PHASES))),
    ))
    return bytes([VERSION]) + zlib.compress(body, 6)


def _columns(blob: bytes) -> list[tuple[float, ...]]:
    if not blob or blob[0] != VERSION:
        raise ValueError("unknown history rollup format")
    body = zlib.decompress(blob[1:])
    (n,) = struct.unpack_from("<H", body)
    pos = 2
    columns: list[tuple[float, ...]] = []
    for code, size in (("H", 2), ("H", 2), ("H", 2), ("B", 1), ("e", 2), ("B", 1),
                       ("B", 1), *(("B", 1) for _ in PHASES)):
        columns.append(struct.unpack_from(f"<{n}{code}", body, pos))
        pos += n * size
    return columns


def decode_rollup(day: int, blob: bytes) -> DayRollup:
    idx, counts, fails, worst, means, mins, spreads, *phases = _columns(blob)
    rollup = DayRollup(day)
    of, buckets = Accumulator.of, rollup.buckets
    for k, count, fail, bad, mean, low, spread, p in zip(idx, counts, fails, worst, means,
                                                          mins, spreads, zip(*phases)):
        buckets[int(k)] = of(int(count), int(fail), int(bad), mean * low / 255, mean * count,
                             mean * (1 + spread / 16), [mean * v / 255 * count for v in p])
    return rollup


def span_sums(rollup: DayRollup, width: int, since: int) -> dict[int, Accumulator]:
    """A day's buckets from ``since`` on, summed per span of ``width`` seconds (keyed by
    start // width); a packed day is read from its columns without unpacking each bucket."""
    out: dict[int, Accumulator] = {}
    day = rollup.day
    if rollup._buckets is not None:
        for index, acc in rollup._buckets.items():
            start = day + index * BUCKET
            if start >= since:
                out.setdefault(start // width, Accumulator()).absorb(acc)
        return out
    idx, counts, fails, worst, means, mins, spreads, *phases = _columns(rollup._blob)
    for k, count, fail, bad, mean, low, spread, p in zip(idx, counts, fails, worst, means,
                                                          mins, spreads, zip(*phases)):
        start = day + int(k) * BUCKET
        if start < since or not count:
            continue
        found = out.get(start // width)
        acc = out[start // width] = Accumulator() if found is None else found
        acc.merge(int(count), int(fail), int(bad), mean * low / 255, mean * count,
                  mean * (1 + spread / 16), [mean * v / 255 * count for v in p])
    return out


class RawHour:
    """The samples of one series over one hour, in arrival order."""

    __slots__ = ("hour", "samples")

    def __init__(self, hour: int) -> None:
        self.hour = hour  # epoch seconds at the start of the hour
        self.samples: list[tuple[int, int, int, float]] = []  # offset, status, phase, ms

    def add(self, at: int, status: Status, phase: Phase | None, duration_ms: float) -> None:
        self.samples.append((at - self.hour, int(status),
                             PHASE_CODES[phase] if phase else 0, _ms(duration_ms)))

    def rows(self, location: str) -> Iterator[Sample]:
        for offset, status, phase, ms in self.samples:
            yield Sample(self.hour + offset, location, Status(status),
                         PHASE_BY_CODE.get(phase), ms)

    def encode(self) -> bytes:
        n = len(self.samples)
        cols = list(zip(*self.samples)) if n else [(), (), (), ()]
        body = (struct.pack(f"<H{n}H", n, *cols[0]) + struct.pack(f"<{n}B", *cols[1])
                + struct.pack(f"<{n}B", *cols[2]) + struct.pack(f"<{n}e", *cols[3]))
        return bytes([VERSION]) + zlib.compress(body, 6)

    @classmethod
    def decode(cls, hour: int, blob: bytes) -> RawHour:
        if not blob or blob[0] != VERSION:
            raise ValueError("unknown history sample format")
        body = zlib.decompress(blob[1:])
        (n,) = struct.unpack_from("<H", body)
        offsets = struct.unpack_from(f"<{n}H", body, 2)
        statuses = struct.unpack_from(f"<{n}B", body, 2 + 2 * n)
        phases = struct.unpack_from(f"<{n}B", body, 2 + 3 * n)
        millis = struct.unpack_from(f"<{n}e", body, 2 + 4 * n)
        raw = cls(hour)
        raw.samples = list(zip(offsets, statuses, phases, millis))
        return raw


def result_fields(result: Result) -> tuple[int, Status, Phase | None, float, tuple[float, ...]]:
    """What history keeps of a result: when it was known, status, phase, ms, phase timings."""
    return (int(result.at.timestamp()), result.status, result.phase,
            result.duration * 1000.0, phase_times(result.metrics))
