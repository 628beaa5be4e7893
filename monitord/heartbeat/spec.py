"""The ``heartbeat`` kind's keys and their parsing, importable without network libraries.

The check itself (:mod:`monitord.heartbeat.check`) is imported when a check is built.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitord.checks.kind import CheckKind, Kind, deferred
from monitord.config.reader import SecretRef, Table, to_duration

DEFAULT_GRACE = 300.0

@dataclass(frozen=True, slots=True)
class HeartbeatSpec:
    check: str  # the check's own name: the target, so heartbeats never share a host cap
    period: float
    token: SecretRef
    grace: float = DEFAULT_GRACE
    max_duration: float | None = None

    @property
    def target(self) -> str:
        return f"heartbeat:{self.check}"


def parse(table: Table) -> HeartbeatSpec:
    name = table.data.get("name")
    max_duration = table.optional("max_duration", to_duration)
    if max_duration is not None and max_duration <= 0:
        table.error("max_duration", "expected a duration above zero")
        max_duration = None
    return HeartbeatSpec(
        check=name if isinstance(name, str) else "",
        period=table.duration("period"),
        token=table.secret("token") or SecretRef(),
        grace=table.duration("grace", DEFAULT_GRACE, positive=False),
        max_duration=max_duration,
    )


KIND: CheckKind = Kind("heartbeat", parse, deferred("monitord.heartbeat.check", "HeartbeatCheck"))
