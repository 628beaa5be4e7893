"""The shared vocabulary: what a check reports and what alerting passes on.

Everything here is a frozen value. Checks produce an :class:`Outcome`; the runner stamps it
into a :class:`Result` (which check, where, when, how long). Qualification turns results into
:class:`AlertEvent` values; routing and grouping turn those into :class:`Notification` values
for the outbox.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

EMPTY_METRICS: Mapping[str, float] = MappingProxyType({})
EMPTY_LABELS: Mapping[str, str] = MappingProxyType({})
EMPTY_FACTS: Mapping[str, str] = MappingProxyType({})


class Status(enum.IntEnum):
    """Check status; the integer is the Nagios plugin exit code."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3

    @property
    def is_problem(self) -> bool:
        return self is not Status.OK

    @classmethod
    def worst(cls, statuses: list[Status]) -> Status:
        """Nagios ordering: CRITICAL > WARNING > UNKNOWN > OK."""
        order = {cls.OK: 0, cls.UNKNOWN: 1, cls.WARNING: 2, cls.CRITICAL: 3}
        return max(statuses, key=order.__getitem__, default=cls.OK)


class Phase(str, enum.Enum):
    """The stage of a check that failed; ``None`` on a result means nothing failed."""

    RESOLVE = "resolve"
    CONNECT = "connect"
    TLS = "tls"
    REQUEST = "request"
    RESPONSE = "response"
    CONTENT = "content"
    TIMEOUT = "timeout"
    AUTH = "auth"
    CERTIFICATE = "certificate"
    DNS = "dns"
    DELEGATION = "delegation"
    DNSSEC = "dnssec"
    EXPIRY = "expiry"
    SNMP = "snmp"
    HEARTBEAT = "heartbeat"
    PLUGIN = "plugin"  # a Nagios plugin's own verdict
    INTERNAL = "internal"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one run of a check found, before the runner stamps it."""

    status: Status
    summary: str
    phase: Phase | None = None
    metrics: Mapping[str, float] = field(default_factory=lambda: EMPTY_METRICS)
    # What the run saw that a person compares across runs ("what changed"): the address it
    # connected to, the certificate's fingerprint and issuer, the redirect target, the NS
    # set… (see monitord.evidence.facts for the names).
    facts: Mapping[str, str] = field(default_factory=lambda: EMPTY_FACTS)

    @classmethod
    def ok(cls, summary: str, metrics: Mapping[str, float] = EMPTY_METRICS,
           facts: Mapping[str, str] = EMPTY_FACTS) -> Outcome:
        return cls(Status.OK, summary, None, metrics, facts)


@dataclass(frozen=True, slots=True)
class Result:
    """One run of one check at one location."""

    check: str
    type: str
    location: str
    status: Status
    phase: Phase | None
    summary: str
    metrics: Mapping[str, float]
    started_at: datetime  # UTC, aware
    duration: float  # seconds
    facts: Mapping[str, str] = field(default_factory=lambda: EMPTY_FACTS)

    @property
    def at(self) -> datetime:
        """When the result was known (start + duration)."""
        from datetime import timedelta

        return self.started_at + timedelta(seconds=self.duration)

    def to_json(self) -> dict[str, object]:
        """The ``probe --json`` object of the contract."""
        return {
            "check": self.check,
            "type": self.type,
            "location": self.location,
            "status": self.status.name,
            "phase": self.phase.value if self.phase else None,
            "summary": self.summary,
            "duration_ms": round(self.duration * 1000, 3),
            "metrics": dict(self.metrics),
            "at": self.at.isoformat().replace("+00:00", "Z"),
        }


@dataclass(frozen=True, slots=True)
class Evidence:
    """One follow-up probe's finding, e.g. ``connect 192.0.2.99:443 failed "refused"``.

    ``status`` is ``ok``, ``failed`` or ``unfinished`` (cut at ``evidence_timeout``).
    """

    probe: str  # resolve, authoritative, connect, tls, http, dns, authority, snmp, rdap
    target: str
    status: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"probe": self.probe, "target": self.target, "status": self.status,
                "detail": self.detail}


class EventKind(str, enum.Enum):
    """Why qualification speaks about an incident."""

    PROBLEM = "problem"  # newly confirmed, or released from a silence / dependency / flapping
    SEVERITY = "severity"  # WARNING <-> CRITICAL on an open incident
    REPEAT = "repeat"  # still open, not acknowledged, repeat_interval elapsed
    RECOVERY = "recovery"
    ACKNOWLEDGED = "acknowledged"
    FLAPPING_STARTED = "flapping_started"
    FLAPPING_STOPPED = "flapping_stopped"
    TEST = "test"  # monitord test-notify


@dataclass(frozen=True, slots=True)
class LocationState:
    """How one location currently sees a check."""

    location: str
    status: Status
    summary: str
    at: datetime
    phase: Phase | None = None
    duration: float | None = None  # seconds the newest run took
    stale: bool = False  # too old to count, or its agent is silent

    def describe(self, now: datetime, named: bool = True) -> str:
        """``london CRITICAL connect "connection refused" 12s ago`` or ``paris OK 95 ms``
        (without the location's name unless ``named``)."""
        text = f"{self.location} {self.status.name}" if named else self.status.name
        if self.status is Status.OK:
            if self.duration is not None:
                text += f" {self.duration * 1000:.0f} ms"
        else:
            if self.phase is not None:
                text += f" {self.phase.value}"
            text += f' "{self.summary}" {_age(now, self.at)} ago'
        return text + (f" (stale: {_age(now, self.at)} old, not counted)" if self.stale else "")


def location_table(locations: Sequence[LocationState], now: datetime) -> str:
    """The per-location line of every notification and status view (failing first)."""
    return " · ".join(s.describe(now) for s in ordered_locations(locations))


def ordered_locations(locations: Iterable[LocationState]) -> list[LocationState]:
    """Failing locations first, then OK ones, stale ones last; by name within each."""
    return sorted(locations, key=lambda s: (s.stale, s.status is Status.OK, s.location))


def _age(now: datetime, at: datetime) -> str:
    seconds = max(0, int((now - at).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One incident-level fact that may be notified.

    ``labels`` always hold ``check``, ``type`` and ``severity``, plus the check's own labels.
    """

    kind: EventKind
    incident_id: str
    check: str
    status: Status  # current status of the check (OK on recovery)
    phase: Phase | None
    summary: str
    labels: Mapping[str, str]
    started_at: datetime
    ended_at: datetime | None
    at: datetime  # when the event was produced
    diagnosis: str = ""
    locations: tuple[LocationState, ...] = ()
    impacted: tuple[str, ...] = ()  # children held back by this root cause
    caused_by: tuple[str, ...] = ()  # the dependency chain above this check
    # What was checked and what the follow-up probes found (see monitord.evidence).
    target: str = ""  # the URL (credentials redacted), host:port, zone, device or command
    description: str = ""  # the check's own description
    evidence: tuple[Evidence, ...] = ()
    changes: tuple[str, ...] = ()  # differences from the last OK result, in plain words

    @property
    def firing(self) -> bool:
        return self.kind not in (EventKind.RECOVERY, EventKind.FLAPPING_STOPPED) or (
            self.kind is EventKind.FLAPPING_STOPPED and self.status.is_problem
        )


@dataclass(frozen=True, slots=True)
class Notification:
    """One message to one receiver: a group of events.

    ``id`` is the idempotency key (stable across restarts and retries).
    """

    id: str
    receiver: str
    group_key: str
    group_labels: Mapping[str, str]
    events: tuple[AlertEvent, ...]
    created_at: datetime

    @property
    def firing(self) -> bool:
        return any(e.firing for e in self.events)
