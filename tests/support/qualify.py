"""Builders for qualification tests: check configs, results and a driver on a fake ``now``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

from monitord.config.schema import CheckConfig
from monitord.model import AlertEvent, Phase, Result, Status
from monitord.qualify import Qualifier, QualifySettings
from monitord.qualify.silences import MaintenanceWindow

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
STATUS = {"O": Status.OK, "W": Status.WARNING, "C": Status.CRITICAL, "U": Status.UNKNOWN}
# One letter per event kind, so decision tables read as short strings.
KIND = {"problem": "P", "severity": "S", "repeat": "E", "recovery": "R", "acknowledged": "A",
        "flapping_started": "F", "flapping_stopped": "f"}


@dataclass(frozen=True)
class Spec:
    target: str = "test.example"


def check(name: str, **overrides: Any) -> CheckConfig:
    values: dict[str, Any] = {"confirm": 1, "locations": ("paris",), "interval": 60.0,
                              "retry_interval": 15.0}
    values.update(overrides)
    return CheckConfig(name=name, type="http", spec=Spec(), **values)


def result(name: str, status: Status | str, at: datetime, location: str = "paris",
           summary: str | None = None, phase: Phase | None = None) -> Result:
    status = STATUS[status] if isinstance(status, str) else status
    if summary is None:
        summary = "fine" if status is Status.OK else f"{status.name.lower()} trouble"
    if phase is None and status is not Status.OK:
        phase = Phase.CONNECT
    return Result(name, "http", location, status, phase, summary, {}, at, 0.0)


def letters(events: Iterable[AlertEvent]) -> str:
    """One letter per event; lower case for a degraded check (fewer locations than quorum)."""
    return "".join(KIND[e.kind.value].lower() if e.labels.get("degraded") == "true"
                   else KIND[e.kind.value] for e in events)


class Driver:
    """A Qualifier fed one result at a time on a virtual clock.

    Time advances in UTC (adding a timedelta to a datetime in a ZoneInfo zone moves its wall
    clock, which is wrong across DST changes); the engine is shown ``now`` in ``zone``.
    """

    def __init__(self, checks: Sequence[CheckConfig], settings: QualifySettings | None = None,
                 maintenance: Sequence[MaintenanceWindow] = (), start: datetime = T0,
                 qualifier: Qualifier | None = None, zone: tzinfo | None = None) -> None:
        self.q = qualifier or Qualifier(checks, settings, maintenance)
        self.zone = zone or start.tzinfo or timezone.utc
        self._utc = start.astimezone(timezone.utc)

    @property
    def now(self) -> datetime:
        return self._utc.astimezone(self.zone)

    def advance(self, seconds: float) -> datetime:
        self._utc += timedelta(seconds=seconds)
        return self.now

    def feed(self, name: str, status: Status | str, location: str = "paris",
             step: float = 60.0, summary: str | None = None) -> list[AlertEvent]:
        self.advance(step)
        return self.q.process(result(name, status, self._utc, location, summary), self.now)

    def run(self, name: str, sequence: str, step: float = 60.0,
            location: str = "paris") -> list[str]:
        """Feed ``"O C C ..."``; per result the letters of the events it gave."""
        return [letters(self.feed(name, s, location, step)) or "."
                for s in sequence.split()]

    def tick(self, step: float = 0.0) -> list[AlertEvent]:
        self.advance(step)
        return self.q.tick(self.now)
