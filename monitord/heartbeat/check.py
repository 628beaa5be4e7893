"""The ``heartbeat`` check: a dead-man's switch for cron jobs, backups and batch jobs.

The job pings ``/api/v1/heartbeat/<check>`` (optionally ``/start`` before and ``/fail``
instead); this check only reads what the daemon's :class:`~monitord.heartbeat.board.HeartbeatBoard`
heard — no network. Verdicts, first match wins (see :func:`evaluate`):

- the newest signal is a ``/fail`` (not followed by a success ping): CRITICAL;
- a ``/start`` not followed by a success ping within ``max_duration``: CRITICAL;
- no success ping for more than ``period + grace``: CRITICAL. A job that never pinged is
  timed from when monitoring of the check started (persisted), so a fresh daemon or a newly
  added check does not alert before ``period + grace`` has passed;
- otherwise OK (late by less than ``grace`` is still OK, and says so).

All problems are in phase ``heartbeat``. An unreadable or empty token is UNKNOWN in phase
``auth`` (no ping could ever be accepted). Outside the daemon (``monitord probe``) there is
no board and the check is UNKNOWN.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from monitord.checks.base import CheckEnv
from monitord.config.durations import format_duration
from monitord.config.reader import SecretRef
from monitord.config.schema import CheckConfig
from monitord.config.secrets import read_secret
from monitord.heartbeat.board import RESOURCE, Beat, HeartbeatBoard
from monitord.heartbeat.spec import (
    KIND,
    HeartbeatSpec,
    parse,
)
from monitord.model import Outcome, Phase, Status

EXCERPT = 200  # characters of a /fail body shown in the summary (the board keeps more)
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")




async def read_token(ref: SecretRef) -> str:
    """The check's token; raises OSError/KeyError (unreadable) or ValueError (empty)."""
    token = await read_secret(ref)
    if not token.strip():
        raise ValueError("the token is empty")
    return token


# -- the verdict: pure, ``now`` passed in ---------------------------------------------------


def stamp(when: datetime) -> str:
    return f"{when.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%SZ}"


def _ago(seconds: float) -> str:
    return "just now" if seconds < 1 else f"{format_duration(seconds)} ago"


def excerpt(body: str, limit: int = EXCERPT) -> str:
    """One line of the job's own words: control characters dropped, spaces collapsed."""
    text = _SPACES.sub(" ", _CONTROL.sub(" ", body)).strip()
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _after(when: datetime | None, *others: datetime | None) -> bool:
    """``when`` is set and strictly newer than every other signal that is set."""
    return when is not None and all(o is None or when > o for o in others)


def deadlines(spec: HeartbeatSpec, beat: Beat) -> list[datetime]:
    """The instants at which :func:`evaluate` turns CRITICAL if no signal comes first (the
    daemon runs the check right then, not at its next ``interval`` tick)."""
    if beat.last_fail is not None and (beat.last_ping is None or beat.last_fail >= beat.last_ping):
        return []  # already failing
    due = [(beat.last_ping or beat.first_seen) + timedelta(seconds=spec.period + spec.grace)]
    if spec.max_duration is not None and _after(beat.last_start, beat.last_ping, beat.last_fail):
        assert beat.last_start is not None
        due.append(beat.last_start + timedelta(seconds=spec.max_duration))
    return due


def evaluate(spec: HeartbeatSpec, beat: Beat, now: datetime) -> Outcome:
    metrics: dict[str, float] = {}
    if beat.last_ping is not None:
        metrics["last_ping_age_s"] = round(max(0.0, (now - beat.last_ping).total_seconds()), 3)
    if beat.last_fail is not None and (beat.last_ping is None or beat.last_fail >= beat.last_ping):
        words = excerpt(beat.fail_body)
        return Outcome(Status.CRITICAL, f"job reported failure at {stamp(beat.last_fail)}: "
                       f"{words or '(no details sent)'}", Phase.HEARTBEAT, metrics)
    running = _after(beat.last_start, beat.last_ping, beat.last_fail)
    if running:
        assert beat.last_start is not None
        took = max(0.0, (now - beat.last_start).total_seconds())
        metrics["running_s"] = round(took, 3)
        if spec.max_duration is not None and took > spec.max_duration:
            return Outcome(Status.CRITICAL, f"job started at {stamp(beat.last_start)} has not "
                           f"finished after {format_duration(took)} (max_duration "
                           f"{format_duration(spec.max_duration)})", Phase.HEARTBEAT, metrics)
    since = beat.last_ping or beat.first_seen
    elapsed = max(0.0, (now - since).total_seconds())
    rules = f"period {format_duration(spec.period)}, grace {format_duration(spec.grace)}"
    if elapsed > spec.period + spec.grace:
        when = stamp(since) if beat.last_ping else f"{stamp(since)}, when monitoring started"
        return Outcome(Status.CRITICAL, f"no ping since {when} ({rules})", Phase.HEARTBEAT,
                       metrics)
    if beat.last_ping is None:
        summary = f"no ping yet; expected within {format_duration(spec.period + spec.grace)} " \
                  f"of {stamp(since)} ({rules})"
    else:
        summary = f"last ping {_ago(elapsed)}"
        if elapsed > spec.period:
            summary += f" (late by {format_duration(elapsed - spec.period)}, within grace " \
                       f"{format_duration(spec.grace)})"
    if running:
        assert beat.last_start is not None
        summary += f"; running since {stamp(beat.last_start)}"
    return Outcome.ok(summary, metrics)


class HeartbeatCheck:
    def __init__(self, config: CheckConfig, env: CheckEnv) -> None:
        assert isinstance(config.spec, HeartbeatSpec)
        self.spec: HeartbeatSpec = config.spec
        self.name = config.name
        self.env = env

    async def run(self) -> Outcome:
        # The daemon registers its board before any check runs; elsewhere there is none.
        board = await self.env.resource(RESOURCE, _no_board)
        if board is None:
            return Outcome(Status.UNKNOWN, "pings are received by the running daemon only; "
                           "ask it with `monitord status`", Phase.HEARTBEAT)
        try:
            await read_token(self.spec.token)
        except (OSError, KeyError, ValueError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            return Outcome(Status.UNKNOWN, f"cannot use the token ({self.spec.token.describe()}):"
                           f" {reason}; no ping can be accepted", Phase.AUTH)
        beat = await board.watch(self.name)
        return evaluate(self.spec, beat, self.env.clock.now())


async def _no_board() -> HeartbeatBoard | None:
    return None


__all__ = ["KIND", "HeartbeatCheck", "HeartbeatSpec", "parse"]
