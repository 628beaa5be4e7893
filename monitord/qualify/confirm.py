"""Soft and hard states for one check at one location (Nagios' state types).

A non-OK result while the confirmed (hard) state is OK starts a confirmation: the state is
*soft* and the scheduler retries at ``retry_interval``. After ``confirm`` consecutive non-OK
results the problem is hard. An OK result ends a confirmation silently. Once hard, every
non-OK result is hard at once (a WARNING -> CRITICAL change needs no new confirmation).
"""

from __future__ import annotations

from datetime import datetime

from monitord.model import Phase, Result, Status


class Confirmation:
    """What one location has seen of one check, and its soft/hard state.

    ``pending`` counts the non-OK results of a confirmation in progress (0 = not confirming);
    ``streak`` counts consecutive non-OK results, soft and hard alike, for the diagnosis.
    """

    __slots__ = ("at", "duration", "failing_since", "hard", "pending", "phase", "status",
                 "streak", "summary")

    def __init__(self) -> None:
        self.hard = Status.OK
        self.pending = 0
        self.streak = 0
        self.failing_since: datetime | None = None
        # The newest result, kept as plain fields: holding Result objects would keep their
        # metrics alive for every check.
        self.status = Status.OK
        self.phase: Phase | None = None
        self.summary = ""
        self.at: datetime | None = None
        self.duration: float | None = None

    @property
    def confirming(self) -> bool:
        return self.pending > 0

    @property
    def quiet(self) -> bool:
        """Hard OK with nothing in progress: an OK result would change nothing but ``at``."""
        return self.streak == 0 and self.hard is Status.OK

    def observe(self, result: Result, at: datetime, confirm: int) -> bool:
        """Take one result; True when the resulting state is hard (flap history records it).

        Like Nagios, soft problem states are not recorded for flap detection, but an OK that
        ends a confirmation (a soft recovery) is.
        """
        status = result.status
        self.status, self.phase, self.summary, self.at = status, result.phase, result.summary, at
        self.duration = result.duration
        if status is Status.OK:
            self.hard, self.pending, self.streak, self.failing_since = Status.OK, 0, 0, None
            return True
        if self.streak == 0:
            self.failing_since = at
        self.streak += 1
        if self.hard.is_problem:
            self.hard = status
            return True
        self.pending += 1
        if self.pending >= confirm:
            self.hard, self.pending = status, 0
            return True
        return False

    def to_list(self) -> list[object]:
        return [int(self.hard), self.pending, self.streak, _iso(self.failing_since),
                int(self.status), self.phase.value if self.phase else None, self.summary,
                _iso(self.at), self.duration]

    @classmethod
    def from_list(cls, data: list[object]) -> Confirmation:
        hard, pending, streak, since, status, phase, summary, at = data[:8]
        conf = cls()
        conf.hard, conf.status = Status(int(str(hard))), Status(int(str(status)))
        conf.pending, conf.streak = int(str(pending)), int(str(streak))
        conf.failing_since = _parse(since)
        conf.phase = Phase(phase) if isinstance(phase, str) else None
        conf.summary = str(summary)
        conf.at = _parse(at)
        duration = data[8] if len(data) > 8 else None  # rows saved before durations were kept
        conf.duration = float(duration) if isinstance(duration, (int, float)) else None
        return conf


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None
