"""When the alerting edge writes to SQLite: events at once, state that only moved in batches."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import textwrap
from pathlib import Path

from monitord.alerting import STATE_FLUSH_EVERY, Alerting
from monitord.clock import SystemClock
from monitord.compat import TaskGroup
from monitord.configfile import load_config
from monitord.model import Phase, Result, Status
from monitord.store import Store

CHECKS = [f"c{i}" for i in range(5)]


def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(f"""
        [monitord]
        location = "test"
        state_dir = "{tmp_path}"
        [defaults]
        confirm = 3
    """) + "".join(f'[[check]]\nname = "{name}"\ntype = "tcp"\nhost = "127.0.0.1"\n'
                   f'port = 9\nconfirm = {1 if name in ("c0", "c1") else 3}\n'
                   for name in CHECKS))
    return path


def result(check: str, status: Status, clock: SystemClock) -> Result:
    return Result(check=check, type="tcp", location="test", status=status,
                  phase=None if status is Status.OK else Phase.CONNECT, summary="",
                  metrics={}, started_at=clock.now(), duration=0.01)


def saved_checks(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {name for (name,) in conn.execute("SELECT name FROM qualify_check")}


async def test_state_is_batched_events_are_not_and_a_stop_writes_the_rest(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path))
    clock = SystemClock()
    db = tmp_path / "monitord.db"
    store = await Store.open(db)
    alerting = Alerting(config, clock, store)
    try:
        await alerting.open()
        before = alerting.commits
        async with TaskGroup() as group:
            task = group.create_task(alerting.run(group))
            for name in CHECKS:  # a first result moves the state, without an event
                await alerting.on_result(result(name, Status.OK, clock))
            assert alerting.commits == before  # nothing written yet
            assert saved_checks(db) == set()
            # A failure confirmed at once (confirm = 1) is an event: written at once, with
            # the state that moved before it.
            await alerting.on_result(result("c0", Status.CRITICAL, clock))
            assert alerting.commits == before + 1
            assert saved_checks(db) == set(CHECKS)

            await alerting.on_result(result("c1", Status.CRITICAL, clock))
            await alerting.on_result(result("c1", Status.OK, clock))
            committed = alerting.commits
            # A failure being confirmed (confirm = 3) moves the state, without an event:
            # the pending state write comes by itself, within a second.
            await alerting.on_result(result("c2", Status.CRITICAL, clock))
            assert alerting.commits == committed
            await asyncio.sleep(STATE_FLUSH_EVERY + 1.0)  # real time: the loop's own timer
            assert alerting.commits == committed + 1

            await alerting.on_result(result("c3", Status.CRITICAL, clock))
            committed = alerting.commits
            task.cancel()  # a clean stop writes what is pending
        assert alerting.commits == committed + 1
    finally:
        await store.close()


async def test_a_caller_cancelled_while_evidence_settles_loses_no_notification(
        tmp_path: Path) -> None:
    """A reload stops a check's loop while its commit waits for the evidence: the batch the
    pipeline handed over stays queued and the next commit writes its notification."""
    path = config_file(tmp_path)
    path.write_text(path.read_text() + textwrap.dedent("""
        [[receiver]]
        name = "hook"
        type = "webhook"
        url = "http://127.0.0.1:9/hook"
        [alerting]
        default_receivers = ["hook"]
        group_wait = "0s"
    """))
    config = load_config(path)
    clock = SystemClock()
    db = tmp_path / "monitord.db"
    store = await Store.open(db)
    alerting = Alerting(config, clock, store)
    entered, never = asyncio.Event(), asyncio.Event()

    async def settle_slowly(notes: object) -> object:
        entered.set()
        await never.wait()
        return notes

    try:
        await alerting.open()
        alerting.evidence.settle = settle_slowly  # type: ignore[method-assign]
        caller = asyncio.ensure_future(alerting.on_result(result("c0", Status.CRITICAL, clock)))
        await asyncio.wait_for(entered.wait(), 10)
        caller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await caller
        alerting.evidence.settle = _as_is  # type: ignore[method-assign]
        await alerting.commit(clock.now())
        with sqlite3.connect(db) as conn:
            queued = conn.execute("SELECT receiver FROM outbox").fetchall()
        assert queued == [("hook",)]
    finally:
        await store.close()


async def _as_is(notes: object) -> object:
    return notes
