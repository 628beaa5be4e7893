"""The daemon as the API reads it (``api.views.Checks`` and ``MetricsSamples``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from monitord.alerting import Alerting
from monitord.app.parts import CheckState
from monitord.config import summary
from monitord.config.schema import CheckConfig
from monitord.configfile import Config
from monitord.notify.outbox import ReceiverStats
from monitord.scheduler import Scheduler

if TYPE_CHECKING:
    from monitord.agent.intake import AgentSample, Intake
    from monitord.snmp.receiver import TrapReceiver


class DaemonParts(Protocol):
    """What the view reads of the daemon (``monitord.app.daemon.Daemon``)."""

    config: Config
    states: dict[str, CheckState]
    scheduler: Scheduler
    reloads: int
    reload_failures: int
    traps: TrapReceiver | None
    intake: Intake | None


class DaemonView:
    """The daemon as the API reads it (``api.views.Checks`` and ``MetricsSamples``), read
    anew at each request so that a reload shows at once."""

    def __init__(self, daemon: DaemonParts, alerting: Alerting) -> None:
        self._daemon = daemon
        self._alerting = alerting

    @property
    def location(self) -> str:
        return self._daemon.config.monitord.location

    def checks(self) -> tuple[CheckConfig, ...]:
        """Every enabled check, wherever it runs (agents' results show here too)."""
        return tuple(c for c in self._daemon.config.checks if c.enabled)

    def results(self) -> Mapping[str, CheckState]:
        return self._daemon.states

    def describe(self, check: str) -> list[tuple[str, str]] | None:
        found = next((c for c in self.checks() if c.name == check), None)
        return summary.describe(found) if found is not None else None

    def maintenance(self, now: datetime) -> list[tuple[str, str]]:
        return [(m.name, m.explain(now)) for m in self._daemon.config.maintenance
                if m.active(now)]

    def check_runs(self) -> int:
        return self._daemon.scheduler.runs

    def checks_in_flight(self) -> int:
        return self._daemon.scheduler.in_flight

    def scheduler_lag(self, percentile: float) -> float:
        return self._daemon.scheduler.lag.percentile(percentile)

    def reloads(self) -> int:
        return self._daemon.reloads

    def reload_failures(self) -> int:
        return self._daemon.reload_failures

    def receivers(self) -> Mapping[str, ReceiverStats]:
        return self._alerting.receiver_stats()

    def trap_counters(self) -> Mapping[str, int] | None:
        traps = self._daemon.traps
        return traps.stats if traps is not None else None

    def agent_samples(self) -> Mapping[str, AgentSample]:
        intake = self._daemon.intake
        return intake.samples() if intake is not None else {}
