"""Retention: closed incidents and logged notifications are pruned on a schedule."""

from __future__ import annotations

import asyncio
import sqlite3
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from monitord.alerting import Alerting
from monitord.compat import TaskGroup
from monitord.configfile import load_config
from monitord.store import Store
from monitord.testing import FakeClock
from tests.conftest import free_port


def rows(conn: sqlite3.Connection) -> tuple[int, int]:
    return (conn.execute("SELECT COUNT(*) FROM qualify_incident").fetchone()[0],
            conn.execute("SELECT COUNT(*) FROM qualify_notification").fetchone()[0])


def alerting_config(tmp_path: Path) -> Path:
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
    return path


async def test_closed_incidents_and_the_notification_log_are_pruned(tmp_path: Path) -> None:
    config = load_config(alerting_config(tmp_path))
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


def db_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


@pytest.mark.parametrize("legacy", [False, True])
async def test_the_database_file_shrinks_after_a_big_prune(tmp_path: Path,
                                                           legacy: bool) -> None:
    """New databases use incremental auto-vacuum; one made before (auto_vacuum off) is
    converted once at start. Free pages left by a prune are handed back to the disk."""
    db = tmp_path / "state" / "monitord.db"
    if legacy:  # a database as earlier versions created it
        db.parent.mkdir()
        conn = sqlite3.connect(db)
        conn.execute("CREATE TABLE schema_version (component TEXT PRIMARY KEY, "
                     "version INTEGER NOT NULL)")
        conn.commit()
        conn.close()
    config = load_config(alerting_config(tmp_path))
    clock = FakeClock()
    store = await Store.open(db)
    assert await store.call(lambda c: c.execute("PRAGMA auto_vacuum").fetchone()[0]) == 2
    alerting = Alerting(config, clock, store)
    await alerting.open()
    old = (clock.now() - timedelta(days=31)).isoformat()
    blob = "x" * 4000

    def seed(conn: sqlite3.Connection) -> None:
        conn.executemany("INSERT INTO qualify_notification VALUES (?, 'oncall', ?, ?, '[]')",
                         [(f"n{i}", f'{{"pad": "{blob}"}}', old) for i in range(2000)])

    await store.transaction(seed)
    await store.call(lambda c: c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall())
    big = db_bytes(db)
    assert big > 8_000_000
    try:
        async with TaskGroup() as group:
            task = group.create_task(alerting.run(group))
            await clock.advance(1)
            for _ in range(200):  # prune and vacuum run on the store thread
                await store.call(lambda c: c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall())
                if db_bytes(db) < big // 4:
                    break
                await asyncio.sleep(0.02)
            task.cancel()
        assert db_bytes(db) < big // 4
    finally:
        await store.close()
