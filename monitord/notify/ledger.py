"""What the outbox knows that the database does not (yet): the outbox's memory while the
state directory cannot be written (a full disk, a read-only file system).

- *unsaved* notifications: produced by a commit that failed; delivered from here, in order,
  after the receiver's saved rows. Once their commit succeeds they live in the database and
  are dropped from here.
- *finished* outcomes (delivered, given up) not yet recorded: the row must not be sent
  again, so reading the queue skips them until the record is written.
- *retry* plans (attempts, next attempt on the monotonic clock, parts left): the plan in
  memory wins over the row; the row's copy only matters after a restart.

Everything is keyed by (receiver, notification id), the idempotency key, so an outcome
reached from memory applies to the row the later commit writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitord.model import Notification

Key = tuple[str, str]  # (receiver, notification id)


@dataclass(frozen=True, slots=True)
class Finished:
    state: str  # 'delivered' or 'failed'
    reason: str
    at: float  # wall-clock timestamp (persisted)


@dataclass(frozen=True, slots=True)
class Plan:
    attempts: int
    due: float  # monotonic
    parts: tuple[str, ...] | None
    last_error: str


class Ledger:
    def __init__(self) -> None:
        self.unsaved: dict[str, list[Notification]] = {}
        self.finished: dict[Key, Finished] = {}
        self.plans: dict[Key, Plan] = {}

    def remember(self, notifications: list[Notification]) -> None:
        """Keep notifications whose commit failed, for delivery from memory."""
        for n in notifications:
            queue = self.unsaved.setdefault(n.receiver, [])
            if all(q.id != n.id for q in queue) and (n.receiver, n.id) not in self.finished:
                queue.append(n)

    def saved(self, notifications: list[Notification]) -> None:
        """Their commit succeeded: the database has them now."""
        for n in notifications:
            queue = self.unsaved.get(n.receiver)
            if queue:
                queue[:] = [q for q in queue if q.id != n.id]

    def head(self, receiver: str) -> Notification | None:
        for n in self.unsaved.get(receiver, ()):
            if (receiver, n.id) not in self.finished:
                return n
        return None

    def finish(self, receiver: str, nid: str, outcome: Finished) -> None:
        self.finished[(receiver, nid)] = outcome
        self.plans.pop((receiver, nid), None)
        queue = self.unsaved.get(receiver)
        if queue:
            queue[:] = [q for q in queue if q.id != nid]

    def skipped(self, receiver: str) -> list[str]:
        """Ids the database still shows as pending but that are finished."""
        return [nid for (r, nid) in self.finished if r == receiver]

    def pending(self, receiver: str) -> int:
        return len(self.unsaved.get(receiver, ()))

    def adopt(self, other: Ledger) -> None:
        """Take over what an outbox being replaced (a reload) still held."""
        for receiver, queue in other.unsaved.items():
            self.remember([n for n in queue if n.receiver == receiver])
        self.finished.update(other.finished)
        self.plans.update(other.plans)
