"""One way to write times everywhere in the API and the pages: whole seconds, UTC, ``Z``."""

from __future__ import annotations

from datetime import datetime, timezone


def iso(when: datetime | int | float | None) -> str | None:
    """``2026-01-05T09:00:00Z`` (no microseconds); None stays None."""
    if when is None:
        return None
    if not isinstance(when, datetime):
        when = datetime.fromtimestamp(int(when), timezone.utc)
    return when.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace(
        "+00:00", "Z")


def display(when: datetime | int | float) -> str:
    """``2026-01-05 09:00:00 UTC``: what a page shows before its script localises it."""
    text = iso(when)
    assert text is not None
    return text.replace("T", " ").replace("Z", " UTC")


def ago(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3 h 5 min``, ``2 d 4 h``: how long, for people."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def parse(value: str, key: str) -> datetime:
    """An ISO 8601 time with an offset; ValueError says what was wrong."""
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{key}: expected an ISO 8601 time with offset, got {value!r}") from None
    if when.tzinfo is None:
        raise ValueError(f"{key}: the time needs an offset (e.g. Z or +01:00)")
    return when.astimezone(timezone.utc)
