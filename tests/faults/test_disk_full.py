"""A full disk under the state directory: alerting goes on from memory, says so, and catches
up when space returns."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.faults.conftest import World, fill, start, stop, write_config


async def test_problem_fires_while_the_disk_is_full(tmp_path: Path, small_fs: Path,
                                                    world: World) -> None:
    config = write_config(tmp_path / "config.toml", small_fs / "state", world)
    daemon = await start(config, world)
    try:
        filler = fill(small_fs)
        world.shop.healthy = False
        await world.until(lambda: ("shop", "problem") in world.events())
        await world.until(lambda: ("monitord:state", "problem") in world.events())
        [summary] = [s for c, e, s in world.incidents() if c == "monitord:state"]
        assert summary.startswith("state not writable: ")
        status, body = await world.healthz()
        assert status == 503
        assert "state not writable" in body
        # The recovery is decided and delivered from memory too.
        world.shop.healthy = True
        await world.until(lambda: ("shop", "recovery") in world.events())
        # Space returns: everything is written, the receivers hear so, health is back.
        filler.unlink()
        await world.until(lambda: ("monitord:state", "recovery") in world.events())
        await daemon.wait_for("state_writable_again", component="alerting")
        status, _ = await world.healthz()
        assert status == 200
        await asyncio.sleep(2)  # more rounds and retries: nothing is sent twice
        shop = [e for c, e in world.events() if c == "shop"]
        assert shop == ["problem", "recovery"]
        assert max(world.hook.accepted.values()) == 1
        assert daemon.proc.returncode is None
    finally:
        assert await stop(daemon) == 0
    # What was decided in memory reached the database: a restart knows the incident ended.
    world.hook.requests.clear()
    world.hook.accepted.clear()
    daemon = await start(config, world)
    try:
        await asyncio.sleep(3)
        assert world.events() == []
    finally:
        assert await stop(daemon) == 0


async def test_disk_fills_while_a_retry_waits(tmp_path: Path, small_fs: Path,
                                              world: World) -> None:
    config = write_config(tmp_path / "config.toml", small_fs / "state", world)
    world.hook.script = [503, 503, 503]
    daemon = await start(config, world)
    try:
        world.shop.healthy = False
        await daemon.wait_for("delivery_retry_scheduled", within=30)
        filler = fill(small_fs)
        await world.until(lambda: ("shop", "problem") in world.events())
        await daemon.wait_for("state_not_writable", component="outbox")
        status, body = await world.healthz()
        assert status == 503
        assert "state not writable" in body
        filler.unlink()
        await daemon.wait_for("state_writable_again", component="outbox")
        world.shop.healthy = True
        await world.until(lambda: ("shop", "recovery") in world.events())
        await asyncio.sleep(2)
        assert [e for c, e in world.events() if c == "shop"] == ["problem", "recovery"]
        assert daemon.proc.returncode is None
    finally:
        assert await stop(daemon) == 0
