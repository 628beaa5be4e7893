"""Test-only: a wall clock that the test steps while the monotonic clock runs untouched.

Put this directory on PYTHONPATH of a test subprocess and name a file in
MONITORD_TEST_WALL_OFFSET; the file holds seconds (a float) added to every wall-clock reading
(``time.time``, ``time.time_ns``, ``datetime.now``/``utcnow``/``today``). Rewriting the file
steps the clock, as an NTP correction or ``date -s`` does; ``time.monotonic`` never moves.
(libfaketime cannot do this: it steps the monotonic clock too, which Linux never does.)
"""

from __future__ import annotations

import datetime as _dt
import os
import time as _time

_PATH = os.environ.get("MONITORD_TEST_WALL_OFFSET", "")
_real_time = _time.time
_real_time_ns = _time.time_ns
_cache: list[float] = [0.0, -1.0]  # offset, mtime of the file when read


def _offset() -> float:
    try:
        mtime = os.stat(_PATH).st_mtime_ns
    except OSError:
        return 0.0
    if mtime != _cache[1]:
        try:
            with open(_PATH) as f:
                _cache[0] = float(f.read().strip() or 0)
        except (OSError, ValueError):
            return _cache[0]
        _cache[1] = mtime
    return _cache[0]


def _time_shifted() -> float:
    return _real_time() + _offset()


def _time_ns_shifted() -> int:
    return _real_time_ns() + int(_offset() * 1e9)


class _SteppedDatetime(_dt.datetime):
    @classmethod
    def now(cls, tz: _dt.tzinfo | None = None) -> _SteppedDatetime:  # type: ignore[override]
        return cls.fromtimestamp(_time_shifted(), tz)

    @classmethod
    def utcnow(cls) -> _SteppedDatetime:  # type: ignore[override]
        return cls.fromtimestamp(_time_shifted(), _dt.timezone.utc).replace(tzinfo=None)

    @classmethod
    def today(cls) -> _SteppedDatetime:  # type: ignore[override]
        return cls.fromtimestamp(_time_shifted())


if _PATH:
    _time.time = _time_shifted
    _time.time_ns = _time_ns_shifted
    _dt.datetime = _SteppedDatetime  # type: ignore[misc]
