"""Flap detection exactly as Nagios Core 4 does it (``flapping.c``).

A history of the last 21 recorded states gives 20 transitions; the i-th transition (oldest
first, i = 1..20) weighs ``0.75 + (i - 1) × 0.5 / 19``, so the newest changes count most. The
percent state change is ``100 × Σ weights of the transitions that changed state / 20``.
Flapping starts when it reaches ``flap_high`` and stops when it falls to ``flap_low``; in
between the previous verdict stands.

A history shorter than 21 entries (a new check) is read as if the missing older entries
repeated the oldest known state, as Nagios fills its history with the initial state.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

HISTORY = 21
WEIGHTS = tuple(0.75 + i * 0.5 / (HISTORY - 2) for i in range(HISTORY - 1))


class FlapChange(enum.Enum):
    STARTED = "started"
    STOPPED = "stopped"


def percent_state_change(history: Sequence[int]) -> float:
    """Nagios' curved percent state change of ``history`` (oldest first, at most 21)."""
    offset = HISTORY - len(history)  # align the newest transition with the heaviest weight
    total = 0.0
    for i in range(1, len(history)):
        if history[i] != history[i - 1]:
            total += WEIGHTS[offset + i - 1]
    return total * 100.0 / (HISTORY - 1)


class FlapState:
    """The recorded history of one check and its flapping verdict."""

    __slots__ = ("flapping", "history", "percent", "transitions")

    def __init__(self, history: Sequence[int] = (), flapping: bool = False) -> None:
        self.history = list(history[-HISTORY:])
        self.transitions = sum(
            1 for i in range(1, len(self.history)) if self.history[i] != self.history[i - 1]
        )
        self.percent = percent_state_change(self.history) if self.transitions else 0.0
        self.flapping = flapping

    @property
    def steady(self) -> bool:
        """A history of one state: recording that state again changes nothing."""
        return self.transitions == 0 and bool(self.history)

    def record(self, state: int, low: float, high: float) -> FlapChange | None:
        history = self.history
        if self.transitions == 0 and history and history[-1] == state:
            # Read padded with its oldest state, a history of one state means the same at
            # any length: keep it short (less to store, nothing to save for steady checks).
            return None
        if history and history[-1] != state:
            self.transitions += 1
        history.append(state)
        if len(history) > HISTORY:
            if history[0] != history[1]:
                self.transitions -= 1
            del history[0]
        # Most checks never change: skip the weighted sum when there is nothing to weigh.
        self.percent = percent_state_change(history) if self.transitions else 0.0
        if not self.flapping and self.percent >= high:
            self.flapping = True
            return FlapChange.STARTED
        if self.flapping and self.percent <= low:
            self.flapping = False
            return FlapChange.STOPPED
        return None
