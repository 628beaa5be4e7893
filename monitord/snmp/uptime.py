"""Reboot detection from sysUpTime and snmpEngineBoots between two polls (pure).

sysUpTime is a TimeTicks value (centiseconds) that wraps to 0 after 2^32 ticks, about 497.1
days: a smaller value is a reboot only when the wrap does not explain it. A reboot can also
hide behind a *larger* value (the device rebooted long enough before the poll), so the value
is compared with where it should be: the previous value plus the time elapsed. With SNMPv3,
snmpEngineBoots counts the agent's restarts and settles the question without guessing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from monitord.snmp.oids import TIMETICKS_WRAP

# Polling jitter, retries and agent clock drift: uptime may lag behind the wall clock by this
# much (or 5 % of the time between polls) before it counts as a reboot.
TOLERANCE_TICKS = 3000


class Change(enum.Enum):
    FIRST = "first"  # nothing to compare with
    STEADY = "steady"
    WRAPPED = "wrapped"  # sysUpTime went through 2^32 ticks: not a reboot
    REBOOTED = "rebooted"


@dataclass(frozen=True, slots=True)
class UptimeSample:
    at: float  # monotonic seconds when the value was read
    ticks: int | None  # sysUpTime, centiseconds
    boots: int | None = None  # snmpEngineBoots (SNMPv3 agents)

    @property
    def seconds(self) -> float | None:
        return None if self.ticks is None else self.ticks / 100.0


def compare(previous: UptimeSample | None, current: UptimeSample) -> Change:
    if previous is None:
        return Change.FIRST
    if previous.boots is not None and current.boots is not None:
        if current.boots != previous.boots:
            return Change.REBOOTED
        if (current.ticks is not None and previous.ticks is not None
                and current.ticks < previous.ticks):
            return Change.WRAPPED  # same boot: the only way back is the wrap
        return Change.STEADY
    if current.ticks is None or previous.ticks is None:
        return Change.STEADY
    elapsed = max(0.0, current.at - previous.at) * 100
    tolerance = max(TOLERANCE_TICKS, elapsed * 0.05)
    expected = previous.ticks + elapsed
    ticks, wrapped = current.ticks, False
    if ticks < previous.ticks and expected + tolerance >= TIMETICKS_WRAP:
        ticks, wrapped = ticks + TIMETICKS_WRAP, True
    if ticks < previous.ticks or ticks + tolerance < expected:
        return Change.REBOOTED
    return Change.WRAPPED if wrapped else Change.STEADY


def describe(seconds: float) -> str:
    """``"12d3h"``: the two largest units are precision enough for an uptime."""
    rest = int(max(0.0, seconds))
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size or (unit == "s" and not parts):
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts[:2])
