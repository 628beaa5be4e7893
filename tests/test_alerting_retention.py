"""Retention: closed incidents and logged notifications are pruned on a schedule."""

from __future__ import annotations

import asyncio
import sqlite3
import textwrap
from datetime import timedelta
from pathlib import Path

from monitord.alerting import Alerting
from monitord.compat import TaskGroup
from monitord.configfile import load_config
from monitord.store import Store
from monitord.testing import FakeClock
from tests.conftest import free_port


def rows(conn: sqlite3.Connection) -> tuple[int, int]:
    return (conn.execute("SELECT COUNT(*) FROM qualify_incident").fetchone()[0],
            conn.execute("SELECT COUNT(*) FROM qualify_notification").fetchone()[0])


async def test_closed_incidents_and_the_notification_log_are_pruned(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(f"""
        [monitord]
        location = "test"
        state_dir = "{tmp_path / 'state'}"
        [[check]]
        name = "shop"
        type = "tcp"
        host = "127.0.0.1"
        port = {free_port()}
        [[receiver]]
        name = "oncall"
        type = "webhook"
        url = "http://127.0.0.1:{free_port()}/hook"
        [alerting]
        default_receivers = ["oncall"]
        retention = "30d"
    """))
    config = load_config(path)
    clock = FakeClock()
    store = await Store.open(tmp_path / "state" / "monitord.db")
    alerting = Alerting(config, clock, store)
    await alerting.open()
    old = (clock.now() - timedelta(days=31)).isoformat()
    recent = (clock.now() - timedelta(days=29)).isoformat()

    def seed(conn: sqlite3.Connection) -> None:
        for name, ended in (("old", old), ("recent", recent), ("open", None)):
            conn.execute("INSERT INTO qualify_incident VALUES (?, 'gone', ?, ?, '{}')",
                         (name, old, ended))
        for name, created in (("n-old", old), ("n-recent", recent)):
            conn.execute("INSERT INTO qualify_notification VALUES (?, 'oncall', '{}', ?, '[]')",
                         (name, created))

    await store.call(seed)
    assert await store.call(rows) == (3, 2)
    try:
        async with TaskGroup() as group:
            task = group.create_task(alerting.run(group))
            await clock.advance(1)
            for _ in range(20):  # the prune runs on the store thread
                if await store.call(rows) == (2, 1):
                    break
                await asyncio.sleep(0.01)
            assert await store.call(rows) == (2, 1)
            task.cancel()
    finally:
        await store.close()
