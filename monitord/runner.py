"""One run of one check: the deadline, and the stamp that turns an Outcome into a Result."""

from __future__ import annotations

import asyncio

import structlog

from monitord.checks.kind import Check
from monitord.clock import Clock
from monitord.compat import timeout
from monitord.config.durations import format_duration
from monitord.config.schema import CheckConfig
from monitord.config.secrets import redact_url
from monitord.model import Outcome, Phase, Result, Status

log = structlog.get_logger("monitord.runner")


class CheckRunner:
    """Runs checks with their deadline at one location."""

    def __init__(self, clock: Clock, location: str) -> None:
        self.clock = clock
        self.location = location

    async def __call__(self, config: CheckConfig, check: Check) -> Result:
        started_at = self.clock.now()
        start = self.clock.monotonic()
        try:
            async with timeout(config.timeout):
                outcome = await check.run()
        except (TimeoutError, asyncio.TimeoutError):  # distinct types before Python 3.11
            outcome = Outcome(
                Status.CRITICAL, f"no answer within {format_duration(config.timeout)}",
                Phase.TIMEOUT,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in a check must not take the daemon down
            log.exception("check_crashed", check=config.name)
            outcome = Outcome(
                Status.UNKNOWN, f"internal error: {type(exc).__name__}: {exc}", Phase.INTERNAL
            )
        return Result(
            check=config.name,
            type=config.type,
            location=self.location,
            status=outcome.status,
            phase=outcome.phase if outcome.status is not Status.OK else None,
            summary=redact_url(outcome.summary),  # a URL password never leaves the check
            metrics=outcome.metrics,
            started_at=started_at,
            duration=max(0.0, self.clock.monotonic() - start),
            facts=outcome.facts,
        )
