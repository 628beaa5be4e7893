"""The API renders whatever satisfies its views: no daemon, no alerting needed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from monitord.api import metrics
from monitord.api.status import status_json
from monitord.api.views import (
    CheckDescription,
    CheckQualification,
    CheckResults,
    IncidentRecord,
)
from monitord.model import Result, Status

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Described:
    name: str
    type: str = "tcp"

    def alert_labels(self) -> dict[str, str]:
        return {"check": self.name}


@dataclass(frozen=True)
class Seen:
    status: Status | None
    since: datetime | None
    last: Mapping[str, Result]


@dataclass(frozen=True)
class Receiver:
    pending: int = 2
    oldest_age: float = 1.5
    sent: int = 7
    failed: int = 0
    failing_since: datetime | None = T0


@dataclass
class Views:
    """One object standing for every view the functions under test read."""

    location: str = "paris"
    seen: dict[str, Seen] = field(default_factory=dict)
    traps: dict[str, int] | None = None

    def checks(self) -> Sequence[CheckDescription]:
        return [Described("web"), Described("dns", "dns")]

    def results(self) -> Mapping[str, CheckResults]:
        return self.seen

    def check_states(self) -> Mapping[str, CheckQualification]:
        return {}

    def incidents(self) -> Sequence[IncidentRecord]:
        return []

    async def acknowledge(self, incident: str, by: str, comment: str) -> Sequence[object]:
        raise AssertionError("rendering never acknowledges")

    def check_runs(self) -> int:
        return 12

    def checks_in_flight(self) -> int:
        return 1

    def scheduler_lag(self, percentile: float) -> float:
        return percentile / 1000

    def reloads(self) -> int:
        return 3

    def reload_failures(self) -> int:
        return 0

    def receivers(self) -> Mapping[str, Receiver]:
        return {'a"b': Receiver()}

    def trap_counters(self) -> Mapping[str, int] | None:
        return self.traps

    def agent_samples(self) -> Mapping[str, object]:
        return {}


def test_metrics_name_every_sample_and_escape_labels() -> None:
    result = Result("web", "tcp", "paris", Status.CRITICAL, None, "down", {}, T0, 0.25)
    views = Views(seen={"web": Seen(Status.CRITICAL, T0, {"paris": result})},
                  traps={"unknown_source": 4, "accepted": 9})
    text = metrics.render(views, views, views)
    assert 'monitord_check_status{check="web",type="tcp",location="paris"} 2\n' in text
    assert 'monitord_check_duration_seconds{check="web",type="tcp",location="paris"} 0.25\n' \
        in text
    assert 'monitord_scheduler_lag_seconds{quantile="0.99"} 0.099\n' in text
    assert 'monitord_outbox_pending{receiver="a\\"b"} 2\n' in text
    assert 'monitord_receiver_failing{receiver="a\\"b"} 1\n' in text
    assert "monitord_incidents_open 0\n" in text
    # Trap counters come last, sorted by outcome.
    assert text.endswith('monitord_snmp_traps_total{outcome="accepted"} 9\n'
                         'monitord_snmp_traps_total{outcome="unknown_source"} 4\n')


def test_no_trap_receiver_no_trap_metric() -> None:
    views = Views()
    text = metrics.render(views, views, views)
    assert "monitord_snmp_traps_total" not in text
    assert text.endswith("monitord_incidents_open 0\n")


def test_status_lists_every_configured_check_even_without_a_result() -> None:
    views = Views(seen={"web": Seen(Status.OK, T0, {})})
    status = status_json(views, views, views)
    assert status["location"] == "paris"
    assert [(c["check"], c["status"], c["since"]) for c in status["checks"]] == [
        ("web", "OK", "2026-01-01T00:00:00+00:00"), ("dns", "PENDING", None)]
