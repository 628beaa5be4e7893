"""Helpers for the evidence tests: a check run into a Result, and a Knot on port 53.

Evidence asks a zone's authoritative servers on port 53 (where NS records point); the tests
that need them start Knot on a random loopback address whose port 53 is free.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

from monitord.checks.base import CheckEnv
from monitord.checks.registry import KINDS
from monitord.config.schema import CheckConfig
from monitord.model import Result
from monitord.runner import CheckRunner
from tests.support.dnszones import make_check
from tests.support.knot import KnotServer, _port_free


def check(kind: str, data: Mapping[str, Any], timeout: float = 5.0) -> CheckConfig:
    return make_check(KINDS[kind], data, timeout=timeout)


async def run(config: CheckConfig, env: CheckEnv) -> Result:
    return await CheckRunner(env.clock, "here")(config, KINDS[config.type].build(config, env))


def free_loopback_53() -> str:
    """A loopback address (127.x.y.z) with UDP and TCP port 53 free."""
    for _ in range(50):
        a, b, c = random.randint(100, 250), random.randint(0, 255), random.randint(2, 250)
        address = f"127.{a}.{b}.{c}"
        if _port_free(address, 53):
            return address
    raise RuntimeError("no loopback address with a free port 53")


def knot_on_53(factory: Callable[..., KnotServer], zones: dict[str, str]) -> KnotServer:
    return factory(zones, address=free_loopback_53(), port=53)
