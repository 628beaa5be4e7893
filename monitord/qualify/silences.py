"""Ad-hoc silences and the maintenance windows qualification consults.

A silence mutes alerts whose labels match all its matchers between ``starts_at`` (included)
and ``ends_at`` (excluded). Expiring a silence ends it now; an ended silence stays listed for
``silence_retention`` and is then forgotten. Maintenance windows come from the routing
configuration (``[[maintenance]]``); qualification only needs to ask whether one covers an
alert now and when that may change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from monitord.route.matchers import Matcher, matches_all

MAX_SILENCES = 10_000  # silences arrive through the API: bound them
MAX_MATCHERS = 64
MAX_TEXT = 1024


class MaintenanceWindow(Protocol):
    """What qualification needs of a maintenance window (``route.maintenance.Maintenance``)."""

    @property
    def name(self) -> str: ...

    def covers(self, labels: Mapping[str, str], now: datetime) -> bool: ...

    def next_change(self, now: datetime) -> datetime | None: ...


class WindowEnds:
    """When each maintenance window next changes, computed once per change (the engine asks
    at every reconciliation of a held incident)."""

    def __init__(self) -> None:
        self._next: dict[int, datetime] = {}

    def end(self, window: MaintenanceWindow, now: datetime, poll: float) -> datetime:
        key = id(window)
        cached = self._next.get(key)
        if cached is None or cached <= now:
            cached = window.next_change(now)
            if cached is None:
                return now + timedelta(seconds=poll)
            self._next[key] = cached
        return cached

    def clear(self) -> None:
        self._next.clear()


class UnknownSilence(KeyError):
    pass


@dataclass(frozen=True, slots=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    created_at: datetime

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def mutes(self, labels: Mapping[str, str], now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at and matches_all(self.matchers, labels)

    def describe(self) -> str:
        by = f" by {self.created_by}" if self.created_by else ""
        comment = f": {self.comment}" if self.comment else ""
        return f"silence {self.id}{by}{comment}"


class Silences:
    """The set of silences, with the rules on adding and expiring them."""

    def __init__(self, silences: Iterable[Silence] = ()) -> None:
        self._by_id = {s.id: s for s in silences}

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, silence_id: str) -> Silence:
        try:
            return self._by_id[silence_id]
        except KeyError:
            raise UnknownSilence(silence_id) from None

    def add(self, matchers: Sequence[str | Matcher], starts_at: datetime, ends_at: datetime,
            created_by: str, comment: str, now: datetime, silence_id: str | None = None,
            ) -> Silence:
        """Validate and add a silence; raises ValueError with a readable message."""
        parsed = tuple(m if isinstance(m, Matcher) else Matcher.parse(m) for m in matchers)
        if not parsed:
            raise ValueError("a silence needs at least one matcher (it would mute everything)")
        if len(parsed) > MAX_MATCHERS:
            raise ValueError(f"a silence takes at most {MAX_MATCHERS} matchers")
        if all(m.matches({}) for m in parsed):
            raise ValueError("these matchers also match an alert without labels: a silence "
                             "must name at least one label value it requires")
        if ends_at <= starts_at:
            raise ValueError("ends_at must be after starts_at")
        if ends_at <= now:
            raise ValueError("ends_at is already in the past")
        if len(created_by) > MAX_TEXT or len(comment) > MAX_TEXT:
            raise ValueError(f"created_by and comment are limited to {MAX_TEXT} characters")
        if len(self._by_id) >= MAX_SILENCES:
            raise ValueError(f"too many silences (at most {MAX_SILENCES})")
        silence_id = silence_id or self._derived_id(parsed, starts_at, ends_at, created_by,
                                                    comment, now)
        if silence_id in self._by_id:
            raise ValueError(f"silence {silence_id} already exists")
        silence = Silence(silence_id, parsed, starts_at, ends_at, created_by, comment, now)
        self._by_id[silence_id] = silence
        return silence

    def _derived_id(self, matchers: tuple[Matcher, ...], starts_at: datetime, ends_at: datetime,
                    created_by: str, comment: str, now: datetime) -> str:
        """An id for a caller that brings none (the daemon passes a random one): a digest of
        the silence, so the core draws no randomness; a counter separates identical ones."""
        seed = repr(([str(m) for m in matchers], starts_at.isoformat(), ends_at.isoformat(),
                     created_by, comment, now.isoformat()))
        for attempt in range(len(self._by_id) + 1):
            candidate = hashlib.sha256(f"{seed}#{attempt}".encode()).hexdigest()[:32]
            if candidate not in self._by_id:
                return candidate
        raise AssertionError("unreachable: more candidates than silences")

    def expire(self, silence_id: str, now: datetime) -> Silence:
        """End a silence now (a future one ends before it starts)."""
        silence = self.get(silence_id)
        if silence.ends_at <= now:
            return silence
        starts_at = min(silence.starts_at, now)
        ended = replace(silence, starts_at=starts_at, ends_at=now)
        self._by_id[silence_id] = ended
        return ended

    def listing(self, now: datetime, include_ended: bool = True) -> list[Silence]:
        chosen = (s for s in self._by_id.values() if include_ended or s.ends_at > now)
        return sorted(chosen, key=lambda s: (s.starts_at, s.id))

    def muting(self, labels: Mapping[str, str], now: datetime) -> Silence | None:
        """The active silence muting ``labels`` that ends last (the hold lasts that long)."""
        found: Silence | None = None
        for silence in self._by_id.values():
            if silence.mutes(labels, now) and (found is None or silence.ends_at > found.ends_at):
                found = silence
        return found

    def purge(self, now: datetime, retention: float) -> list[str]:
        """Forget silences that ended more than ``retention`` seconds ago; their ids."""
        limit = now - timedelta(seconds=retention)
        gone = [s.id for s in self._by_id.values() if s.ends_at < limit]
        for silence_id in gone:
            del self._by_id[silence_id]
        return gone
