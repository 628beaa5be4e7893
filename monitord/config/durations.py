"""Durations (``"250ms"``, ``"30s"``, ``"1h30m"``) and times of day (``"HH:MM"``)."""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+")
_TIME_OF_DAY = re.compile(r"([01]\d|2[0-4]):([0-5]\d)")


def parse_duration(text: str) -> float:
    """Seconds in ``text``; raises ValueError. A bare number is refused: its unit is a guess."""
    compact = text.strip()
    if not compact or not _WHOLE.fullmatch(compact):
        raise ValueError(f'expected a duration like "10s", got "{text}"')
    return sum(float(n) * _UNITS[u] for n, u in _PART.findall(compact))


def format_duration(seconds: float) -> str:
    """The shortest readable form: 90 -> "1m30s", 0.25 -> "250ms"."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    rest = round(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts) or "0s"


def format_elapsed(seconds: float) -> str:
    """A measured time, for summaries: "4 ms", "850 ms", "1.2 s", "2m05s"."""
    if seconds < 1:
        return f"{round(seconds * 1000)} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    return format_duration(seconds)


def parse_time_of_day(text: str) -> int:
    """Minutes since midnight for ``"HH:MM"`` (``"24:00"`` allowed); raises ValueError."""
    match = _TIME_OF_DAY.fullmatch(text.strip())
    if not match:
        raise ValueError(f'expected a time of day like "09:00", got "{text}"')
    minutes = int(match[1]) * 60 + int(match[2])
    if minutes > 24 * 60:
        raise ValueError(f'expected a time of day up to "24:00", got "{text}"')
    return minutes
