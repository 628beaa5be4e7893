"""What every check kind provides, and the shared resources checks draw on.

A kind is a small object with ``parse`` (read its own config keys into a frozen spec) and
``build`` (make a runnable :class:`Check` for one configured check). Kinds are listed by name
in the explicit registry of :mod:`monitord.checks.registry`, which imports a kind's module
the first time the kind is used.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, TypeVar

from monitord.clock import Clock

__all__ = ["CheckEnv", "check_env"]

R = TypeVar("R")


@dataclass
class CheckEnv:
    """Resources shared by the checks of one daemon (or one ``probe`` run).

    ``resolvers`` are the nameservers used to resolve check targets' host names
    (``[monitord] resolvers``; empty = the system's). Long-lived resources such as an HTTP
    client session are created on first use through :meth:`resource` and closed by
    :meth:`aclose`.
    """

    clock: Clock
    location: str
    resolvers: tuple[str, ...] = ()
    _stack: AsyncExitStack = field(default_factory=AsyncExitStack)
    _resources: dict[str, Any] = field(default_factory=dict)
    _creating: dict[str, asyncio.Lock] = field(default_factory=dict)

    async def resource(self, key: str, factory: Callable[[], Awaitable[R]],
                       close: Callable[[R], Awaitable[object]] | None = None) -> R:
        """The shared resource named ``key``, created by ``factory`` on first use.

        Thousands of checks start together: the lock makes sure a factory that awaits runs
        once, and the others wait for its result instead of building their own.
        """
        if key not in self._resources:
            async with self._creating.setdefault(key, asyncio.Lock()):
                if key not in self._resources:
                    value = await factory()
                    self._resources[key] = value
                    if close is not None:
                        self._stack.push_async_callback(close, value)
        result: R = self._resources[key]
        return result

    async def enter(self, key: str, manager: Callable[[], AbstractAsyncContextManager[R]]) -> R:
        """Like :meth:`resource`, for an async context manager."""
        if key not in self._resources:
            async with self._creating.setdefault(key, asyncio.Lock()):
                if key not in self._resources:
                    self._resources[key] = await self._stack.enter_async_context(manager())
        result: R = self._resources[key]
        return result

    async def aclose(self) -> None:
        self._resources.clear()
        await self._stack.aclose()


@contextlib.asynccontextmanager
async def check_env(clock: Clock, location: str,
                    resolvers: tuple[str, ...] = ()) -> AsyncIterator[CheckEnv]:
    env = CheckEnv(clock=clock, location=location, resolvers=resolvers)
    try:
        yield env
    finally:
        await env.aclose()
