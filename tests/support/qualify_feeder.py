"""A process running the persisted qualification pipeline, committing after every command
as the daemon does, so restart tests can kill it (SIGKILL) at any moment.

Run as ``python -m tests.support.qualify_feeder DB``; commands are JSON lines on stdin:
``{"op": "result", "check": "web", "status": "C", "t": 60}`` (``t``: seconds after T0),
``{"op": "tick", "t": 90}``, or ``{"op": "storm", "rounds": 50, "t": 0}`` (storm checks
fail now and then, one commit per result, progress printed).
Each command answers one JSON line: the events it produced and what was sent.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from monitord import qualify_store as persist
from monitord.config.schema import CheckConfig
from monitord.model import AlertEvent
from monitord.qualify import QualifySettings
from monitord.qualify.pipeline import Batch, Pipeline
from monitord.qualify_store import load
from monitord.store import Store
from tests.support.qualify import T0, check, result

STORM = 40
SETTINGS = QualifySettings(repeat_interval=4 * 3600.0)


@dataclass(frozen=True)
class Target:
    receiver: str = "ops"
    group_by: tuple[str, ...] = ()
    group_wait: float = 30.0
    group_interval: float = 60.0
    repeat_interval: float = 4 * 3600.0
    deliverable: bool = True


def route(event: AlertEvent, now: datetime) -> list[Target]:
    return [Target()]


def checks() -> list[CheckConfig]:
    return [check("web", confirm=3), check("db"), check("api", depends_on=("db",)),
            *(check(f"s{i:03}", confirm=2) for i in range(STORM))]


def apply(pipeline: Pipeline, command: dict[str, Any]) -> list[AlertEvent]:
    now = T0 + timedelta(seconds=command["t"])
    if command["op"] == "result":
        return pipeline.process(result(command["check"], command["status"], now), now)
    return pipeline.tick(now)


def storm_commands(rounds: int, start: float) -> list[dict[str, Any]]:
    """Each storm check fails 3 rounds in 15 (confirmed on the second, too rare to flap),
    phase-shifted per check so that news is always on its way; one result per second."""
    commands: list[dict[str, Any]] = []
    t = start
    for r in range(rounds):
        for i in range(STORM):
            t += 1.0
            status = "C" if (r + i) % 15 < 3 else "O"
            commands.append({"op": "result", "check": f"s{i:03}", "status": status, "t": t})
        commands.append({"op": "tick", "t": t})
    return commands


def answer(events: list[AlertEvent], batch: Batch) -> str:
    return json.dumps({
        "events": [[e.check, e.kind.value] for e in events],
        "sent": [[e.check, e.kind.value] for n in batch.notifications for e in n.events],
    })


async def main(db: str) -> None:
    store = await Store.open(db)
    await persist.migrate(store)
    pipeline = await store.call(lambda conn: load(conn, checks(), route, SETTINGS))
    for line in sys.stdin:
        command = json.loads(line)
        if command["op"] == "storm":
            for n, step in enumerate(storm_commands(command["rounds"], command["t"])):
                apply(pipeline, step)
                batch = pipeline.take_batch(T0 + timedelta(seconds=step["t"]))
                await store.transaction(partial(persist.write, batch=batch))
                print(json.dumps({"progress": n}), flush=True)
            continue
        events = apply(pipeline, command)
        batch = pipeline.take_batch(T0 + timedelta(seconds=command["t"]))
        await store.transaction(partial(persist.write, batch=batch))
        print(answer(events, batch), flush=True)
    await store.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
