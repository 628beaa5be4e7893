"""The daemon's own heartbeat: ping an external dead-man's switch while healthy.

Monitoring must be monitored too. An external service (a dead-man's switch) expects a ping
every ``interval``; when the daemon dies, hangs or is unhealthy, the pings stop and that
service raises the alarm. An unhealthy daemon deliberately stays silent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import suppress
from functools import partial

import aiohttp
import structlog

from monitord.clock import Clock
from monitord.config.schema import SelfHeartbeat
from monitord.supervise import Supervision, supervised

log = structlog.get_logger("monitord.self_heartbeat")


async def ping_forever(settings: SelfHeartbeat, clock: Clock,
                       healthy: Callable[[], list[str]]) -> None:
    """Until cancelled. Error handling: a failed ping is logged and retried next interval."""
    timeout = aiohttp.ClientTimeout(total=settings.timeout)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while True:
            problems = healthy()
            if problems:
                log.warning("self_heartbeat_withheld", problems=problems)
            else:
                try:
                    async with session.get(settings.url) as resp:
                        await resp.content.read(64 * 1024)
                        if resp.status >= 400:
                            log.warning("self_heartbeat_failed", status=resp.status)
                except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                    log.warning("self_heartbeat_failed", error=str(exc) or type(exc).__name__)
            await clock.sleep(settings.interval)


async def ping_while_configured(current: Callable[[], SelfHeartbeat | None],
                                changed: asyncio.Event, clock: Clock,
                                healthy: Callable[[], list[str]],
                                watch: Supervision | None = None) -> None:
    """Ping with the settings ``current()`` gives; ``changed`` (set by a reload) restarts
    the pinger with the new ones, or stops it when they are gone. Until cancelled. The
    pinger is supervised: an unexpected exception (a bug, a health check that raises) is
    logged and the pings resume after a pause instead of stopping unseen."""
    while True:
        changed.clear()
        settings = current()
        if settings is None:
            await changed.wait()
            continue
        pinger = asyncio.create_task(supervised(
            "self-heartbeat", partial(ping_forever, settings, clock, healthy), clock,
            watch=watch))
        try:
            await changed.wait()
        finally:
            pinger.cancel()
            with suppress(asyncio.CancelledError):
                await pinger
