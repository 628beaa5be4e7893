"""A result batch, as posted by a probe agent, decoded and validated (pure; run off the loop).

The body is ``{"location", "batch", "results": [probe --json objects], "dropped"?}``.
``dropped`` (optional) is how many results the agent's buffer discarded since its previous
accepted batch. A refusal names the HTTP status the contract gives it: 400 malformed, 403
another location's results or a check not assigned to this location. Results stamped in the
future (beyond ``MAX_SKEW``) or older than the agent's buffer horizon are refused one by one
and counted; the rest of the batch is taken. Every number is bounded before anything is
taken (a finite ``duration_ms`` of at most a day, finite metrics, a ``batch`` that fits the
store's 64-bit integer, at most ``MAX_RESULTS`` results): a batch the store could not keep
must be refused, not passed on and then re-sent forever.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, TypeGuard

from monitord.model import Phase, Result, Status

MAX_SKEW = 60.0  # seconds a result may be ahead of the central clock (clocks drift)
MAX_SUMMARY = 2000
MAX_RESULTS = 10_000  # per batch
MAX_BATCH = 2**63 - 1  # an SQLite INTEGER
MAX_DURATION_MS = 86_400_000.0  # a day


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Decoded:
    location: str
    batch: int
    results: tuple[Result, ...]
    future: int  # refused: stamped in the future
    too_old: int  # refused: older than the buffer horizon
    dropped: int  # reported by the agent


def encode_batch(location: str, batch: int, results: list[dict[str, Any]],
                 dropped: int = 0) -> bytes:
    body: dict[str, Any] = {"location": location, "batch": batch, "results": results}
    if dropped:
        body["dropped"] = dropped
    return json.dumps(body, separators=(",", ":")).encode()


def decode_batch(body: bytes, location: str, assigned: Collection[str], now: datetime,
                 horizon: float) -> Decoded:
    """Raises :class:`Refused` (400 or 403) for a batch that cannot be taken at all."""
    try:
        return _decode(body, location, assigned, now, horizon)
    except (RecursionError, OverflowError, ValueError) as exc:  # deep nesting, huge numbers
        raise Refused(400, f"malformed: {type(exc).__name__}") from None


def _count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_BATCH


def _decode(body: bytes, location: str, assigned: Collection[str], now: datetime,
            horizon: float) -> Decoded:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "not JSON") from None
    if not isinstance(data, dict):
        raise Refused(400, "expected a JSON object")
    batch, items, dropped = data.get("batch"), data.get("results"), data.get("dropped", 0)
    if not _count(batch) or batch == 0:
        raise Refused(400, f"batch: expected an integer from 1 to {MAX_BATCH}")
    if not isinstance(items, list) or len(items) > MAX_RESULTS:
        raise Refused(400, f"results: expected an array of at most {MAX_RESULTS}")
    if not _count(dropped):
        raise Refused(400, "dropped: expected a non-negative integer")
    if data.get("location") != location:
        raise Refused(403, "results of another location")
    latest, oldest = now + timedelta(seconds=MAX_SKEW), now - timedelta(seconds=horizon)
    results: list[Result] = []
    future = too_old = 0
    for index, item in enumerate(items):
        result = _result(item, index, location, assigned)
        if result.at > latest:
            future += 1
        elif result.at < oldest:
            too_old += 1
        else:
            results.append(result)
    return Decoded(location, batch, tuple(results), future, too_old, dropped)


def _result(item: object, index: int, location: str, assigned: Collection[str]) -> Result:
    if not isinstance(item, dict):
        raise Refused(400, f"results[{index}]: expected an object")
    try:
        check, kind, status = item["check"], item["type"], Status[item["status"]]
        phase = Phase(item["phase"]) if item.get("phase") is not None else None
        summary, at_text = item["summary"], item["at"]
        duration = float(item["duration_ms"]) / 1000
        metrics = {str(k): float(v) for k, v in (item.get("metrics") or {}).items()}
        if not isinstance(at_text, str) or not isinstance(summary, str):
            raise TypeError("at and summary are strings")
        if not all(map(math.isfinite, metrics.values())):
            raise ValueError("metrics must be finite numbers")
        at = datetime.fromisoformat(at_text.replace("Z", "+00:00"))
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise Refused(400, f"results[{index}]: {type(exc).__name__}: {exc}") from None
    if item.get("location", location) != location:
        raise Refused(403, f"results[{index}]: result of another location")
    if check not in assigned:
        raise Refused(403, f'results[{index}]: check "{check}" is not assigned to {location}')
    if at.tzinfo is None or not 0 <= duration <= MAX_DURATION_MS / 1000:  # False for NaN
        raise Refused(400, f"results[{index}]: at needs a time zone, "
                           f"duration_ms from 0 to {MAX_DURATION_MS:.0f}")
    at = at.astimezone(timezone.utc)
    return Result(check=str(check), type=str(kind), location=location, status=status,
                  phase=phase if status is not Status.OK else None,
                  summary=summary[:MAX_SUMMARY], metrics=metrics,
                  started_at=at - timedelta(seconds=duration), duration=duration)
