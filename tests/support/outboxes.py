"""Run an Outbox on a fresh store for a test, and read its rows.

    async with running_outbox(tmp_path, {"hook": sender}, clock) as (outbox, store):
        await outbox.submit([...])
        await wait_rows(store, lambda rows: rows[0].state == "delivered")
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitord.clock import Clock
from monitord.compat import timeout
from monitord.notify.base import Sender
from monitord.notify.outbox import Outbox, migrate
from monitord.store import Store


@dataclass(frozen=True)
class RowView:
    id: str
    receiver: str
    state: str
    attempts: int
    next_attempt_at: float
    parts: str | None
    last_error: str


async def rows(store: Store) -> list[RowView]:
    found = await store.call(lambda conn: conn.execute(
        "SELECT id, receiver, state, attempts, next_attempt_at, parts, last_error "
        "FROM outbox ORDER BY seq").fetchall())
    return [RowView(*row) for row in found]


async def wait_rows(store: Store, predicate: Callable[[list[RowView]], bool],
                    limit: float = 10.0) -> list[RowView]:
    """Poll the outbox table until ``predicate`` holds (rows are written on the store thread)."""
    async with timeout(limit):
        while True:
            current = await rows(store)
            if predicate(current):
                return current
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running_outbox(directory: Path, senders: Mapping[str, Sender], clock: Clock,
                         **options: Any) -> AsyncIterator[tuple[Outbox, Store]]:
    store = await Store.open(directory / "state.db")
    await migrate(store)
    outbox = Outbox(store, senders, clock, rng=random.Random(7), **options)
    task = asyncio.ensure_future(outbox.run())
    try:
        yield outbox, store
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await store.close()
