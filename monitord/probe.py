"""``monitord probe``: run checks once, now, concurrently, with no alerting."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from monitord.checks.base import check_env
from monitord.checks.registry import KINDS
from monitord.clock import SystemClock
from monitord.config.schema import CheckConfig
from monitord.configfile import Config
from monitord.model import Result
from monitord.runner import CheckRunner


async def probe_once(config: Config, checks: Sequence[CheckConfig]) -> list[Result]:
    """Results in the order of ``checks``."""
    clock = SystemClock()
    location = config.monitord.location
    resolvers = tuple(str(r) for r in config.monitord.resolvers)
    limit = asyncio.Semaphore(config.monitord.max_concurrent_checks)
    async with check_env(clock, location, resolvers) as env:
        runner = CheckRunner(clock, location)

        async def one(check: CheckConfig) -> Result:
            async with limit:
                return await runner(check, KINDS[check.type].build(check, env))

        return list(await asyncio.gather(*(one(c) for c in checks)))
