"""UTC inside the core.

Python compares and subtracts aware datetimes that share a ``ZoneInfo`` by their wall clock,
which is wrong across DST changes; so every instant entering qualification becomes UTC.
"""

from __future__ import annotations

from datetime import datetime, timezone


def as_utc(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError(f"naive datetime {when.isoformat()}: expected an aware one")
    return when if when.tzinfo is timezone.utc else when.astimezone(timezone.utc)
