"""Heartbeat deadlines drive the checks: a job that stops pinging is reported when its
``period + grace`` (or ``max_duration``) runs out, not at the check's next ``interval`` tick.

One task watches every heartbeat check's next deadline on the board, sleeps until the
soonest (on the monotonic clock, woken early by any ping) and asks the scheduler to run the
check whose deadline passed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from monitord.clock import Clock
from monitord.heartbeat.board import HeartbeatBoard
from monitord.heartbeat.check import HeartbeatSpec, deadlines

MAX_WAIT = 60.0  # look again at least this often (new checks after a reload)
MARGIN = 0.05  # seconds after a deadline: the check then sees it passed
BUSY_RETRY = 1.0  # the check was running when its deadline passed: poke it again soon


async def drive_deadlines(board: HeartbeatBoard, clock: Clock,
                          specs: Callable[[], Mapping[str, HeartbeatSpec]],
                          poke: Callable[[str], bool]) -> None:
    """Until cancelled."""
    done: set[tuple[str, datetime]] = set()  # deadlines already acted upon
    while True:
        board.changed.clear()
        await board.absorb_step()
        now = clock.now()
        soonest: float | None = None
        current: set[tuple[str, datetime]] = set()
        for name, spec in specs().items():
            beat = board.get(name)
            if beat is None:
                continue
            for due in deadlines(spec, beat):
                current.add((name, due))
                if due > now:
                    wait = (due - now).total_seconds() + MARGIN
                    soonest = wait if soonest is None else min(soonest, wait)
                elif (name, due) not in done:
                    if poke(name):
                        done.add((name, due))
                    else:
                        soonest = min(soonest or BUSY_RETRY, BUSY_RETRY)
        done &= current
        delay = MAX_WAIT if soonest is None else min(MAX_WAIT, soonest)
        await clock.wait_until(clock.monotonic() + delay, board.changed)
