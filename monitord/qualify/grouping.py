"""Grouping: many alert events for one receiver become one notification.

Alertmanager's model, driven by events: the first event of a new group (receiver + the values
of its ``group_by`` labels; no ``group_by`` = one group per receiver) waits ``group_wait`` so
that everything failing at once goes out together. Once a group has sent, a later change
waits until ``group_interval`` after that message, and always at least ``group_wait`` (so a
second storm into a quiet group is batched too). A group with no firing incident left is
forgotten after it sends, so the next problem starts a new group.

Within a pending batch events are merged per incident: a REPEAT gives way to any other news
of the same incident, a SEVERITY change folds into a pending PROBLEM, and the same kind twice
keeps the newest. Notification ids are deterministic (receiver, group key, group start,
sequence number) so they serve as idempotency keys across restarts.

Routes may repeat less often than qualification does: a REPEAT given with the route's own
``repeat_interval`` is dropped while that receiver got news of the incident more recently.
"""

from __future__ import annotations

import hashlib
import heapq
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from monitord import eventcodec
from monitord.model import AlertEvent, EventKind, Notification
from monitord.qualify.times import as_utc
from monitord.route.matchers import format_labels

ALL_LABELS = "..."  # group_by = ["..."]: every label, i.e. one group per alert
GroupId = tuple[str, str]  # receiver, group key
GroupRow = tuple[str, str, str]  # receiver, group key, data
EntryRow = tuple[int, str, str, str]  # entry id, receiver, group key, event


def group_labels(labels: Mapping[str, str], group_by: Sequence[str]) -> dict[str, str]:
    if ALL_LABELS in group_by:
        return dict(labels)
    return {name: labels.get(name, "") for name in group_by}


@dataclass(slots=True)
class _Group:
    receiver: str
    key: str
    labels: dict[str, str]
    started_at: datetime
    wait: float
    interval: float
    seq: int = 0
    last_flush: datetime | None = None
    due: datetime | None = None
    # incident id -> time of the newest event about it this group sent (None: none yet)
    firing: dict[str, datetime | None] = field(default_factory=dict)
    pending: dict[int, AlertEvent] = field(default_factory=dict)  # entry id -> event, in order
    by_incident: dict[str, list[int]] = field(default_factory=dict)  # pending entry ids

    def append(self, entry: int, event: AlertEvent) -> None:
        self.pending[entry] = event
        self.by_incident.setdefault(event.incident_id, []).append(entry)

    def remove(self, entry: int) -> None:
        event = self.pending.pop(entry)
        entries = self.by_incident[event.incident_id]
        entries.remove(entry)
        if not entries:
            del self.by_incident[event.incident_id]

    def to_json(self) -> str:
        return json.dumps({
            "labels": self.labels, "started_at": self.started_at.isoformat(),
            "wait": self.wait, "interval": self.interval, "seq": self.seq,
            "last_flush": self.last_flush.isoformat() if self.last_flush else None,
            "due": self.due.isoformat() if self.due else None,
            "firing": {i: t.isoformat() if t else None for i, t in sorted(self.firing.items())},
        }, separators=(",", ":"))

    @classmethod
    def from_json(cls, receiver: str, key: str, text: str) -> _Group:
        data = json.loads(text)
        return cls(
            receiver, key, dict(data["labels"]), datetime.fromisoformat(data["started_at"]),
            data["wait"], data["interval"], data["seq"],
            datetime.fromisoformat(data["last_flush"]) if data["last_flush"] else None,
            datetime.fromisoformat(data["due"]) if data["due"] else None,
            {i: datetime.fromisoformat(t) if t else None for i, t in data["firing"].items()})


@dataclass(frozen=True, slots=True)
class GroupChanges:
    groups: tuple[GroupRow, ...] = ()
    deleted_groups: tuple[GroupId, ...] = ()
    entries: tuple[EntryRow, ...] = ()
    deleted_entries: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.groups or self.deleted_groups or self.entries or self.deleted_entries)


class Grouper:
    """Pending groups per receiver. Pure: ``now`` is passed in; :meth:`take_changes` gives
    the rows ``qualify_store.save_grouper`` writes."""

    def __init__(self) -> None:
        self._groups: dict[GroupId, _Group] = {}
        self._heap: list[tuple[datetime, GroupId]] = []
        self._next_entry = 1
        self._dirty: set[GroupId] = set()
        self._deleted: set[GroupId] = set()
        self._added: dict[int, EntryRow] = {}
        self._removed: set[int] = set()
        # The same event usually goes to several receivers in a row: encode it once.
        self._encoded: tuple[AlertEvent, str] | None = None

    def add(self, event: AlertEvent, receiver: str, group_by: Sequence[str],
            group_wait: float, group_interval: float, now: datetime,
            repeat_interval: float | None = None) -> None:
        """Queue ``event`` for ``receiver`` (routing decided it goes there)."""
        now = as_utc(now)
        labels = group_labels(event.labels, group_by)
        key = format_labels(labels)
        gid = (receiver, key)
        group = self._groups.get(gid)
        if (event.kind is EventKind.REPEAT and repeat_interval is not None
                and group is not None):
            sent = group.firing.get(event.incident_id)
            if sent is not None and now < sent + timedelta(seconds=repeat_interval):
                return
        if group is None:
            group = _Group(receiver, key, labels, now, group_wait, group_interval)
            self._groups[gid] = group
            self._deleted.discard(gid)
        group.wait, group.interval = group_wait, group_interval
        if group.due is None:
            due = now + timedelta(seconds=group_wait)
            if group.last_flush is not None:
                due = max(due, group.last_flush + timedelta(seconds=group_interval))
            group.due = due
            heapq.heappush(self._heap, (due, gid))
        if event.firing:
            group.firing.setdefault(event.incident_id, None)
        else:
            group.firing.pop(event.incident_id, None)
        self._merge(group, event)
        self._dirty.add(gid)

    def _merge(self, group: _Group, event: AlertEvent) -> None:
        same = list(group.by_incident.get(event.incident_id, ()))
        if event.kind is EventKind.REPEAT and same:
            return  # what is pending about this incident is news enough
        for entry in same:
            old = group.pending[entry]
            if old.kind is EventKind.REPEAT or old.kind is event.kind:
                self._drop(group, entry)
            elif old.kind is EventKind.PROBLEM and event.kind is EventKind.SEVERITY:
                self._drop(group, entry)
                event = replace(event, kind=EventKind.PROBLEM)
        entry = self._next_entry
        self._next_entry += 1
        group.append(entry, event)
        if self._encoded is None or self._encoded[0] is not event:
            self._encoded = (event, eventcodec.dumps_event(event))
        self._added[entry] = (entry, group.receiver, group.key, self._encoded[1])

    def _drop(self, group: _Group, entry: int) -> None:
        group.remove(entry)
        if self._added.pop(entry, None) is None:
            self._removed.add(entry)

    def next_due(self) -> datetime | None:
        """When :meth:`flush_due` next has a notification to give (None: nothing pending)."""
        while self._heap:
            due, gid = self._heap[0]
            group = self._groups.get(gid)
            if group is not None and group.due == due and group.pending:
                return due
            heapq.heappop(self._heap)  # superseded entry
        return None

    def flush_due(self, now: datetime) -> list[Notification]:
        """The notifications whose time has come, oldest due first."""
        now = as_utc(now)
        out: list[Notification] = []
        while self._heap and self._heap[0][0] <= now:
            due, gid = heapq.heappop(self._heap)
            group = self._groups.get(gid)
            if group is None or group.due != due or not group.pending:
                continue
            out.append(self._flush(group, now))
        return out

    def _flush(self, group: _Group, now: datetime) -> Notification:
        gid = (group.receiver, group.key)
        seed = f"{group.receiver}\0{group.key}\0{group.started_at.isoformat()}\0{group.seq}"
        note = Notification(
            id=hashlib.sha256(seed.encode()).hexdigest()[:32], receiver=group.receiver,
            group_key=group.key, group_labels=dict(group.labels),
            events=tuple(group.pending.values()), created_at=now)
        for entry, event in group.pending.items():
            if self._added.pop(entry, None) is None:
                self._removed.add(entry)
            if event.incident_id in group.firing:
                # The event's own time, not the flush: qualification paces repeats from it,
                # and a route with the same repeat_interval must not drop every other one.
                group.firing[event.incident_id] = event.at
        group.pending.clear()
        group.by_incident.clear()
        group.seq += 1
        group.last_flush, group.due = now, None
        if group.firing:
            self._dirty.add(gid)
        else:
            del self._groups[gid]
            self._dirty.discard(gid)
            self._deleted.add(gid)
        return note

    def shift(self, delta: timedelta) -> None:
        """The wall clock stepped by ``delta``: due times and the times repeats are paced
        from move with it (``started_at`` seeds notification ids: it stays)."""
        for group in self._groups.values():
            group.due = group.due + delta if group.due is not None else None
            group.last_flush = group.last_flush + delta if group.last_flush else None
            group.firing = {i: t + delta if t else None for i, t in group.firing.items()}
        self._heap = [(g.due, gid) for gid, g in self._groups.items() if g.due is not None]
        heapq.heapify(self._heap)
        self._dirty.update(self._groups)

    def pending(self) -> int:
        """How many events wait in groups (for metrics)."""
        return sum(len(g.pending) for g in self._groups.values())

    def take_changes(self) -> GroupChanges:
        changes = GroupChanges(
            groups=tuple((r, k, self._groups[(r, k)].to_json()) for r, k in sorted(self._dirty)
                         if (r, k) in self._groups),
            deleted_groups=tuple(sorted(self._deleted)),
            entries=tuple(self._added.values()),
            deleted_entries=tuple(sorted(self._removed)),
        )
        self._dirty.clear()
        self._deleted.clear()
        self._added.clear()
        self._removed.clear()
        return changes

    def restore(self, groups: Iterable[GroupRow], entries: Iterable[EntryRow]) -> None:
        """Rebuild from saved rows (``qualify_store.load_grouper`` calls this on a new Grouper)."""
        for receiver, key, text in groups:
            group = _Group.from_json(receiver, key, text)
            self._groups[(receiver, key)] = group
            if group.due is not None:
                heapq.heappush(self._heap, (group.due, (receiver, key)))
        for entry, receiver, key, text in sorted(entries):
            owner = self._groups.get((receiver, key))
            if owner is None:
                self._removed.add(entry)  # its group is gone: the row is garbage
                continue
            owner.append(entry, eventcodec.loads_event(text))
            self._next_entry = max(self._next_entry, entry + 1)
