"""What the API may read from, and ask of, the running daemon: narrow views given at start.

The API renders (JSON, Prometheus text, the status page); the daemon only exposes data. The
views are structural Protocols, so the daemon's objects satisfy them without importing the
API, and the API imports neither the daemon nor the alerting edge: the arrows point one way.
Every view is read at request time, so a reload shows at once.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from aiohttp import web

from monitord.api.auth import TokenGate
from monitord.clock import Clock
from monitord.model import Evidence, Phase, Result, Status

# -- the shapes of the data the views hand out ----------------------------------------------


class CheckDescription(Protocol):
    """A configured check, as far as the API shows it."""

    @property
    def name(self) -> str: ...

    @property
    def type(self) -> str: ...

    def alert_labels(self) -> dict[str, str]: ...


class CheckResults(Protocol):
    """What the daemon last saw of one check: its status and last result per location."""

    @property
    def status(self) -> Status | None: ...

    @property
    def since(self) -> datetime | None: ...

    @property
    def last(self) -> Mapping[str, Result]: ...


class LocationEntry(Protocol):
    """How one location sees a check (the per-location table)."""

    @property
    def location(self) -> str: ...
    @property
    def status(self) -> Status: ...
    @property
    def phase(self) -> Phase | None: ...
    @property
    def summary(self) -> str: ...
    @property
    def at(self) -> datetime | None: ...
    @property
    def duration(self) -> float | None: ...
    @property
    def stale(self) -> bool: ...


class CheckQualification(Protocol):
    """Where qualification stands for one check (``ok``, ``confirming``, ``degraded``,
    ``problem``…), and how each location sees it."""

    @property
    def state(self) -> str: ...

    @property
    def flapping(self) -> bool: ...

    @property
    def locations(self) -> Sequence[LocationEntry]: ...


class IncidentRecord(Protocol):
    """One incident, as the operator endpoints and the status page show it."""

    @property
    def id(self) -> str: ...
    @property
    def check(self) -> str: ...
    @property
    def status(self) -> Status: ...
    @property
    def phase(self) -> Phase | None: ...
    @property
    def summary(self) -> str: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def ended_at(self) -> datetime | None: ...
    @property
    def notified(self) -> bool: ...
    @property
    def acknowledged_by(self) -> str | None: ...
    @property
    def acknowledged_at(self) -> datetime | None: ...
    @property
    def ack_comment(self) -> str: ...
    @property
    def held(self) -> str: ...
    @property
    def caused_by(self) -> Sequence[str]: ...


class SilenceRecord(Protocol):
    """One silence; its matchers render as text (``service=shop``)."""

    @property
    def id(self) -> str: ...
    @property
    def matchers(self) -> Sequence[object]: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def ends_at(self) -> datetime: ...
    @property
    def created_by(self) -> str: ...
    @property
    def comment(self) -> str: ...

    def active(self, now: datetime) -> bool: ...


class ReceiverSample(Protocol):
    """The delivery queue of one receiver and its counters since the process started."""

    @property
    def pending(self) -> int: ...
    @property
    def oldest_age(self) -> float: ...
    @property
    def sent(self) -> int: ...
    @property
    def failed(self) -> int: ...
    @property
    def failing_since(self) -> datetime | None: ...


class AgentSample(Protocol):
    """One probe agent's counters: results (accepted, refused, dropped by its full buffer),
    batches (accepted, replayed, refused), when it last posted, whether it is silent."""

    @property
    def accepted(self) -> int: ...
    @property
    def refused(self) -> int: ...
    @property
    def dropped(self) -> int: ...
    @property
    def batches(self) -> int: ...
    @property
    def replayed(self) -> int: ...
    @property
    def batches_refused(self) -> int: ...
    @property
    def posted_at(self) -> datetime | None: ...
    @property
    def silent(self) -> bool: ...


class HistoryBucket(Protocol):
    """Results of one span (a 5-minute rollup, or a wider slot of a chart)."""

    @property
    def start(self) -> int: ...  # epoch seconds, UTC
    @property
    def seconds(self) -> int: ...
    @property
    def count(self) -> int: ...
    @property
    def failures(self) -> int: ...  # CRITICAL results
    @property
    def worst(self) -> Status: ...
    @property
    def min_ms(self) -> float: ...
    @property
    def mean_ms(self) -> float: ...
    @property
    def max_ms(self) -> float: ...
    @property
    def phases(self) -> Sequence[float]: ...  # mean ms per phase, History.phases order
    @property
    def location(self) -> str: ...  # "" when merged across locations


class HistorySample(Protocol):
    """One kept raw result."""

    @property
    def at(self) -> int: ...
    @property
    def location(self) -> str: ...
    @property
    def status(self) -> Status: ...
    @property
    def phase(self) -> Phase | None: ...
    @property
    def duration_ms(self) -> float: ...


class HistoryRows(Protocol):
    @property
    def raw(self) -> Sequence[HistorySample]: ...
    @property
    def rollups(self) -> Sequence[HistoryBucket]: ...


class CheckTrend(Protocol):
    """A check at a glance: the last 24 hours in slots, availability 24 h / 7 d / 30 d."""

    @property
    def key(self) -> Hashable: ...  # the same key, the same picture (renderers cache by it)
    @property
    def slots(self) -> Sequence[HistoryBucket]: ...
    @property
    def availability(self) -> tuple[float | None, float | None, float | None]: ...


class TimelineEntry(Protocol):
    @property
    def at(self) -> datetime: ...
    @property
    def kind(self) -> str: ...  # problem, acknowledged, notified, failed, recovery…
    @property
    def text(self) -> str: ...


class IncidentStory(Protocol):
    """One incident of a check and what happened to it, oldest entry first."""

    @property
    def incident(self) -> IncidentRecord: ...
    @property
    def entries(self) -> Sequence[TimelineEntry]: ...


# -- the views ------------------------------------------------------------------------------


class Health(Protocol):
    def health_problems(self) -> list[str]:
        """Empty when everything is fine; otherwise one line per problem (for /healthz)."""
        ...


class Checks(Protocol):
    """The checks this daemon runs and what it last saw of each."""

    @property
    def location(self) -> str: ...

    def checks(self) -> Sequence[CheckDescription]:
        """The checks this instance runs, in configuration order."""
        ...

    def results(self) -> Mapping[str, CheckResults]:
        """By check name; a check without a result yet may be missing."""
        ...


class CheckStates(Protocol):
    def check_states(self) -> Mapping[str, CheckQualification]:
        """By check name: where qualification stands now."""
        ...


class Incidents(Protocol):
    def incidents(self) -> Sequence[IncidentRecord]: ...

    def diagnosis(self, incident: str) -> tuple[Sequence[Evidence], Sequence[str]]:
        """The incident's evidence and what changed; empty while it is being gathered."""
        ...

    async def acknowledge(self, incident: str, by: str, comment: str) -> Sequence[object]:
        """The events the acknowledgement produced; raises UnknownIncident."""
        ...


class Silences(Protocol):
    def silences(self, now: datetime) -> Sequence[SilenceRecord]: ...

    async def add_silence(self, matchers: Sequence[str], starts_at: datetime | None,
                          ends_at: datetime, by: str, comment: str) -> SilenceRecord:
        """Raises ValueError when a matcher or the times are invalid."""
        ...

    async def expire_silence(self, silence_id: str) -> None:
        """Raises KeyError for an unknown silence."""
        ...


class MetricsSamples(Protocol):
    """The daemon's counters and gauges, read at each scrape of /metrics."""

    def check_runs(self) -> int: ...
    def checks_in_flight(self) -> int: ...

    def scheduler_lag(self, percentile: float) -> float:
        """Seconds check runs started late (recent runs), at this percentile (0-100)."""
        ...

    def reloads(self) -> int: ...
    def reload_failures(self) -> int: ...

    def receivers(self) -> Mapping[str, ReceiverSample]: ...

    def trap_counters(self) -> Mapping[str, int] | None:
        """By outcome; None when no SNMP trap receiver runs."""
        ...

    def agent_samples(self) -> Mapping[str, AgentSample]:
        """By agent location (empty when no ``[[agent]]`` is configured)."""
        ...


class History(Protocol):
    """Result history (``[monitord] history_raw`` / ``history_retention``)."""

    @property
    def phases(self) -> Sequence[str]:
        """Names of the phase timings in ``HistoryBucket.phases``, in stacking order."""
        ...

    def trend(self, check: str, when: datetime) -> CheckTrend | None:
        """From memory (cheap): None when the check has no history yet."""
        ...

    async def spans(self, check: str, since: int, until: int,
                    width: int) -> Sequence[HistoryBucket]:
        """Slots of ``width`` seconds over [since, until), merged across locations."""
        ...

    async def rows(self, check: str, since: int, until: int) -> HistoryRows:
        """Raw results where still kept, 5-minute rollups per location before."""
        ...


class CheckDetails(Protocol):
    def describe(self, check: str) -> Sequence[tuple[str, str]] | None:
        """The check's configuration as (key, value) text, secrets and URL credentials
        redacted; None for an unknown check."""
        ...

    def maintenance(self, now: datetime) -> Sequence[tuple[str, str]]:
        """(name, explanation) of each maintenance window in force now."""
        ...


class IncidentLog(Protocol):
    async def stories(self, check: str, limit: int) -> Sequence[IncidentStory]:
        """The check's incidents, newest first, open or closed, with their timelines."""
        ...

    def diagnosis(self, incident: str) -> str:
        """The newest diagnosis of an open incident ("" when none is known)."""
        ...


class AgentIntake(Protocol):
    """The central daemon's side of probe agents (``monitord.agent.intake.Intake``)."""

    def location_for(self, token: str) -> str | None:
        """The agent location this bearer token belongs to (constant time), or None."""
        ...

    def assignment(self, location: str) -> tuple[str, bytes]:
        """The ETag and JSON body of the location's assignment."""
        ...

    async def post_results(self, location: str, body: bytes) -> tuple[int, dict[str, object]]:
        """Decode, validate and take a result batch: the HTTP status and the JSON answer."""
        ...

    def refused(self, location: str) -> None:
        """Count a batch the API refused before decoding it (too large, too slow)."""
        ...


RouteInstaller = Callable[[web.Application, TokenGate], None]


@dataclass(frozen=True)
class Views:
    """Everything the API reads or asks, handed to ``build_app``/``start``."""

    clock: Clock
    health: Health
    checks: Checks
    states: CheckStates
    incidents: Incidents
    silences: Silences
    samples: MetricsSamples
    history: History | None = None
    details: CheckDetails | None = None
    journal: IncidentLog | None = None
    # Endpoints of other features (e.g. heartbeat pings), installed after the API's own.
    routes: Sequence[RouteInstaller] = field(default_factory=tuple)
    agents: AgentIntake | None = None  # the probe-agent endpoints (central daemon)
