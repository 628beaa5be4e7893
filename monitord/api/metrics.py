"""Prometheus text exposition of the daemon's state (no client library needed).

Every metric is named and described here; the daemon only hands out the numbers
(``views.MetricsSamples`` and friends), read at each scrape.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from monitord.api.views import Checks, Incidents, MetricsSamples
from monitord.model import Result, Status

QUANTILES = (50, 90, 99)
# Cardinality bounds: per check and location at most this many phases, per check at most
# this many measured values (the first by name); the rest are left out, never invented.
MAX_PHASES = 8
MAX_VALUES = 32
UP = (Status.OK, Status.WARNING)  # a WARNING (slow, expiring soon) still serves


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


def render(checks: Checks, samples: MetricsSamples, incidents: Incidents,
           now: datetime | None = None) -> str:
    out = Exposition()
    _checks(out, checks)
    _daemon(out, samples)
    _delivery(out, samples)
    _agents(out, samples, now)
    open_incidents = [i for i in incidents.incidents() if not i.ended_at]
    out.metric("monitord_incidents_open", "gauge", "Open incidents.",
               [({}, len(open_incidents))])
    _traps(out, samples)
    return out.text()


def _checks(out: Exposition, checks: Checks) -> None:
    status, duration = [], []
    for name, state in sorted(checks.results().items()):
        for result in state.last.values():
            labels = {"check": name, "type": result.type, "location": result.location}
            status.append((labels, float(result.status)))
            duration.append((labels, result.duration))
    out.metric("monitord_check_status", "gauge",
               "Last status per check and location (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).",
               status)
    out.metric("monitord_check_duration_seconds", "gauge", "Duration of the last run.", duration)
    _per_check(out, checks)


def _phases(result: Result) -> list[tuple[str, float]]:
    found = sorted((k[5:-3], v) for k, v in result.metrics.items()
                   if k.startswith("time_") and k.endswith("_ms") and k != "time_total_ms")
    return found[:MAX_PHASES]


def _per_check(out: Exposition, checks: Checks) -> None:
    up: list[tuple[dict[str, str], float]] = []
    phases: list[tuple[dict[str, str], float]] = []
    values: list[tuple[dict[str, str], float]] = []
    here = checks.location
    for name, state in sorted(checks.results().items()):
        if not state.last:
            continue
        for result in state.last.values():
            labels = {"check": name, "location": result.location}
            up.append((labels, 1.0 if result.status in UP else 0.0))
            phases.extend(({**labels, "phase": phase}, ms / 1000.0)
                          for phase, ms in _phases(result))
        # One location's numbers per check: this daemon's own, else the newest.
        source = state.last.get(here) or max(state.last.values(), key=lambda r: r.at)
        measured = sorted((k, v) for k, v in source.metrics.items() if not k.startswith("time_"))
        values.extend(({"check": name, "name": k}, float(v)) for k, v in measured[:MAX_VALUES])
    out.metric("monitord_check_up", "gauge",
               "1 when the last result per check and location is OK or WARNING, else 0.", up)
    out.metric("monitord_check_phase_seconds", "gauge",
               "Time spent in each phase of the last run (resolve, connect, tls, firstbyte…).",
               phases)
    out.metric("monitord_check_value", "gauge",
               "Numbers the check measures (certificate days left, SNMP rates, DNS serial, "
               "packet loss, plugin perfdata…), from this location's last result.", values)


def _daemon(out: Exposition, samples: MetricsSamples) -> None:
    out.metric("monitord_check_runs_total", "counter", "Check runs since start.",
               [({}, samples.check_runs())])
    out.metric("monitord_checks_in_flight", "gauge", "Check runs in progress.",
               [({}, samples.checks_in_flight())])
    out.metric("monitord_scheduler_lag_seconds", "summary",
               "How late check runs started compared with their plan (recent runs).",
               [({"quantile": str(q / 100)}, samples.scheduler_lag(q)) for q in QUANTILES])
    out.metric("monitord_reloads_total", "counter", "Successful configuration reloads.",
               [({}, samples.reloads())])
    out.metric("monitord_reload_failures_total", "counter", "Rejected configuration reloads.",
               [({}, samples.reload_failures())])


def _delivery(out: Exposition, samples: MetricsSamples) -> None:
    stats = samples.receivers()
    out.metric("monitord_outbox_pending", "gauge", "Notifications waiting for delivery.",
               [({"receiver": n}, s.pending) for n, s in stats.items()])
    out.metric("monitord_outbox_oldest_seconds", "gauge",
               "Age of the oldest pending notification.",
               [({"receiver": n}, s.oldest_age) for n, s in stats.items()])
    out.metric("monitord_notifications_sent_total", "counter", "Delivered notifications.",
               [({"receiver": n}, s.sent) for n, s in stats.items()])
    out.metric("monitord_notifications_failed_total", "counter",
               "Notifications given up.", [({"receiver": n}, s.failed)
                                          for n, s in stats.items()])
    out.metric("monitord_receiver_failing", "gauge", "1 while a receiver keeps failing.",
               [({"receiver": n}, 1.0 if s.failing_since else 0.0)
                for n, s in stats.items()])


def _traps(out: Exposition, samples: MetricsSamples) -> None:
    counters = samples.trap_counters()
    if counters is not None:
        out.metric("monitord_snmp_traps_total", "counter",
                   "SNMP trap receiver counters by outcome.",
                   [({"outcome": k}, float(v)) for k, v in sorted(counters.items())])


def _agents(out: Exposition, samples: MetricsSamples, now: datetime | None) -> None:
    """Per probe agent (central daemon with ``[[agent]]`` tables only)."""
    agents = samples.agent_samples()
    if not agents:
        return
    out.metric("monitord_agent_results_total", "counter",
               "Results an agent posted: accepted, refused (stamped in the future or beyond "
               "buffer_horizon), dropped (its full buffer discarded them); since the state "
               "database was created.",
               [({"location": loc, "outcome": outcome}, float(value))
                for loc, a in agents.items()
                for outcome, value in (("accepted", a.accepted), ("refused", a.refused),
                                       ("dropped", a.dropped))])
    out.metric("monitord_agent_batches_total", "counter",
               "Result batches an agent posted since start: accepted, replayed (already "
               "accepted: acknowledged again, not counted), refused (400, 403, 408, 413).",
               [({"location": loc, "outcome": outcome}, float(value))
                for loc, a in agents.items()
                for outcome, value in (("accepted", a.batches), ("replayed", a.replayed),
                                       ("refused", a.batches_refused))])
    if now is not None:
        out.metric("monitord_agent_last_post_seconds", "gauge",
                   "Seconds since the agent's last accepted batch (absent before its first).",
                   [({"location": loc}, max(0.0, (now - a.posted_at).total_seconds()))
                    for loc, a in agents.items() if a.posted_at is not None])
    out.metric("monitord_agent_silent", "gauge",
               "1 while the agent is silent (nothing posted for silent_after), else 0.",
               [({"location": loc}, 1.0 if a.silent else 0.0) for loc, a in agents.items()])
