"""The wall clock stepped under a running daemon (time.monotonic untouched): no alerting
decision moves, except those about wall time by definition."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from tests.faults.conftest import World, start, stop, write_config

HOUR = 3600.0


async def test_a_step_back_blinds_nothing(tmp_path: Path, world: World) -> None:
    config = write_config(tmp_path / "config.toml", tmp_path / "state", world)
    daemon = await start(config, world)
    try:
        await daemon.wait_for("check_result", check="shop", status="OK")
        world.step(-HOUR)
        world.shop.healthy = False
        # Results keep counting, and the problem waiting in group_wait is sent.
        await world.until(lambda: ("shop", "problem") in world.events(), within=15)
        line = await daemon.wait_for("clock_step")
        assert -HOUR - 5 < line["seconds"] < -HOUR + 5
        world.shop.healthy = True
        await world.until(lambda: ("shop", "recovery") in world.events(), within=15)
        world.shop.healthy = False  # a second outage, and its recovery
        await world.until(lambda: world.events().count(("shop", "problem")) == 2, within=15)
        world.shop.healthy = True
        await world.until(lambda: world.events().count(("shop", "recovery")) == 2, within=15)
    finally:
        assert await stop(daemon) == 0


async def test_a_retry_is_not_held_up_by_a_step_back(tmp_path: Path, world: World) -> None:
    config = write_config(tmp_path / "config.toml", tmp_path / "state", world)
    world.hook.script = [503]
    daemon = await start(config, world)
    try:
        world.shop.healthy = False
        await daemon.wait_for("delivery_retry_scheduled", within=15)
        world.step(-HOUR)
        await world.until(lambda: ("shop", "problem") in world.events(), within=10)
    finally:
        assert await stop(daemon) == 0


HEARTBEAT = """
    [[check]]
    name = "nightly"
    type = "heartbeat"
    period = "20s"
    grace = "10s"
    interval = "500ms"
    token_file = "{token}"
"""


async def test_a_step_forward_makes_no_heartbeat_late(tmp_path: Path, world: World) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    config = write_config(tmp_path / "config.toml", tmp_path / "state", world,
                          HEARTBEAT.format(token=token))
    daemon = await start(config, world)
    try:
        async with aiohttp.ClientSession() as session, session.post(
                f"{world.api}/api/v1/heartbeat/nightly",
                headers={"Authorization": "Bearer s3cret"}) as resp:
            assert resp.status == 200
        world.step(5 * HOUR)
        await daemon.wait_for("clock_step", component="heartbeat")
        since = len(daemon.lines)
        await asyncio.sleep(3)  # six check rounds after the step
        await daemon.wait_for("check_result", check="nightly", since=since)
        results = [line for line in daemon.lines[since:]
                   if line.get("event") == "check_result" and line.get("check") == "nightly"]
        assert results
        assert {r["status"] for r in results} == {"OK"}
        assert ("nightly", "problem") not in world.events()
    finally:
        assert await stop(daemon) == 0


async def test_a_step_forward_makes_no_delivery_too_old(tmp_path: Path, world: World) -> None:
    """max_delivery_age follows the time that really passed, also across a restart."""
    config = write_config(tmp_path / "config.toml", tmp_path / "state", world,
                          "max_delivery_age = \"1h\"\n")
    world.hook.script = [503] * 3
    daemon = await start(config, world)
    try:
        world.shop.healthy = False
        await daemon.wait_for("delivery_retry_scheduled", within=15)
        world.step(5 * HOUR)
        await daemon.wait_for("clock_step", component="outbox", within=15)
        # The retry planned after the step: its row's times were moved with the clock.
        since = len(daemon.lines)
        await daemon.wait_for("delivery_retry_scheduled", within=15, since=since)
    finally:
        assert await stop(daemon) == 0
    assert not [line for line in daemon.lines if line.get("event") == "notification_given_up"]
    daemon = await start(config, world)  # the wall clock still 5 h ahead
    try:
        await daemon.wait_for("notification delivered", within=30)
        assert ("shop", "problem") in world.events()
        assert not [line for line in daemon.lines
                    if line.get("event") == "notification_given_up"]
    finally:
        assert await stop(daemon) == 0
