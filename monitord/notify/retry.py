"""The retry policy of the outbox: exponential backoff with jitter, bounded by an age."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Delay before attempt ``n + 1`` after ``n`` failed attempts.

    The delay doubles from ``initial`` up to ``maximum``; "equal jitter" then keeps half of it
    and draws the other half at random, so receivers recovering from an outage are not hit by
    every daemon's queue at the same instant, yet a retry never comes much earlier than planned.
    A ``Retry-After`` from the receiver is a floor.
    """

    initial: float = 2.0  # a transient 503 is retried within a second or two
    maximum: float = 600.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.initial <= self.maximum or self.multiplier < 1:
            raise ValueError("retry policy: expected 0 < initial <= maximum and multiplier >= 1")

    def delay(self, failed_attempts: int, rng: random.Random,
              retry_after: float | None = None) -> float:
        exponent = max(0, failed_attempts - 1)
        base = min(self.maximum, self.initial * self.multiplier ** min(exponent, 64))
        delay = base / 2 + rng.uniform(0, base / 2)
        return max(delay, retry_after) if retry_after is not None else delay
