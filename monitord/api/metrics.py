"""Prometheus text exposition of the daemon's state (no client library needed)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitord.app import Daemon


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


class Exposition:
    def __init__(self) -> None:
        self._lines: list[str] = []

    def metric(self, name: str, kind: str, help_text: str,
               samples: Iterable[tuple[dict[str, str], float]]) -> None:
        self._lines.append(f"# HELP {name} {help_text}")
        self._lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            self._lines.append(f"{name}{_labels(**labels) if labels else ''} {value:g}")

    def text(self) -> str:
        return "\n".join(self._lines) + "\n"


def render(daemon: Daemon) -> str:
    out = Exposition()
    status, duration = [], []
    for name, state in sorted(daemon.states.items()):
        for result in state.last.values():
            labels = {"check": name, "type": result.type, "location": result.location}
            status.append((labels, float(result.status)))
            duration.append((labels, result.duration))
    out.metric("monitord_check_status", "gauge",
               "Last status per check and location (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).",
               status)
    out.metric("monitord_check_duration_seconds", "gauge", "Duration of the last run.", duration)
    scheduler = daemon.scheduler
    out.metric("monitord_check_runs_total", "counter", "Check runs since start.",
               [({}, scheduler.runs)])
    out.metric("monitord_checks_in_flight", "gauge", "Check runs in progress.",
               [({}, scheduler.in_flight)])
    out.metric("monitord_scheduler_lag_seconds", "summary",
               "How late check runs started compared with their plan (recent runs).",
               [({"quantile": str(q / 100)}, scheduler.lag.percentile(q)) for q in (50, 90, 99)])
    out.metric("monitord_reloads_total", "counter", "Successful configuration reloads.",
               [({}, daemon.reloads)])
    out.metric("monitord_reload_failures_total", "counter", "Rejected configuration reloads.",
               [({}, daemon.reload_failures)])
    for extra in daemon.metric_sources:
        extra(out)
    return out.text()
