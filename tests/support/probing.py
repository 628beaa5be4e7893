"""Run one configured check once, against the servers a test started.

    from tests.support import probing
    env = probing.env                      # the fixture: a CheckEnv closed after the test
    outcome = await probing.run_once(tcp.KIND, env, {"host": ..., "port": ...})
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from monitord.checks.base import CheckEnv, check_env
from monitord.checks.kind import CheckKind
from monitord.clock import SystemClock
from monitord.compat import timeout
from monitord.model import Outcome
from tests.support.dnszones import make_check


@pytest.fixture
async def env() -> AsyncIterator[CheckEnv]:
    async with check_env(SystemClock(), "here") as shared:
        yield shared


async def run_once(kind: CheckKind, env: CheckEnv, data: Mapping[str, Any],
                   limit: float = 5.0) -> Outcome:
    """Build the check from ``data`` (validated) and run it; a hang fails the test."""
    config = make_check(kind, data, timeout=limit)
    async with timeout(limit + 5):
        return await kind.build(config, env).run()
