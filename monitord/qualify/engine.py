"""The qualification engine: check results in, few and well-explained alert events out.

Pure: it never reads the clock (``now`` is passed to every call), does no I/O, and keeps its
state in memory. :mod:`monitord.qualify_store` saves what changed (``take_changes``) and
rebuilds an engine after a restart. One result goes through: confirmation at its location
(soft/hard) -> quorum across locations -> flap history -> the incident -> holds (dependency,
silence, maintenance) -> the one event, if any, that brings receivers up to date.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from monitord.config.schema import CheckConfig
from monitord.model import AlertEvent, EventKind, LocationState, Result, Status
from monitord.qualify import codec as rows
from monitord.qualify.dependencies import Dependencies
from monitord.qualify.diagnosis import Facts, diagnose
from monitord.qualify.incidents import Incident, Told, incident_id, next_event
from monitord.qualify.quorum import Verdict, tally
from monitord.qualify.settings import QualifySettings
from monitord.qualify.silences import MaintenanceWindow, Silence, Silences, WindowEnds
from monitord.qualify.snapshot import CheckView, IncidentView, check_view
from monitord.qualify.state import CheckState
from monitord.qualify.steps import shift_all
from monitord.qualify.times import as_utc
from monitord.route.matchers import Matcher

REMOVED_SUMMARY = "check removed from the configuration; incident closed"


class UnknownIncident(KeyError):
    """No open incident has this id."""


class Qualifier:
    """Qualification of every configured (enabled) check.

    Error handling: results of unknown checks or locations, and results not newer than the
    newest one already seen at that location, are ignored (an agent may resend a batch).
    """

    def __init__(self, checks: Mapping[str, CheckConfig] | Iterable[CheckConfig],
                 settings: QualifySettings | None = None,
                 maintenance: Sequence[MaintenanceWindow] = (),
                 silences: Iterable[Silence] = ()) -> None:
        self.settings = settings or QualifySettings()
        configs = checks.values() if isinstance(checks, Mapping) else checks
        self._checks = {c.name: CheckState(c) for c in configs if c.enabled}
        self._deps = self._graph()
        self._maintenance = tuple(maintenance)
        self._window_ends = WindowEnds()
        self._silences = Silences(silences)
        self._open: dict[str, str] = {}  # open incident id -> check name
        self._orphans: list[Incident] = []  # open incidents of checks no longer configured
        self._dirty_checks: set[str] = set()
        self._dirty_incidents: dict[str, Incident] = {}
        self._dirty_silences: set[str] = set()
        self._deleted_checks: set[str] = set()
        self._deleted_silences: set[str] = set()
        self.silent: frozenset[str] = frozenset()  # agents' locations whose results don't count
        self.holding: frozenset[str] = frozenset()  # agents not heard from since the start

    def _graph(self) -> Dependencies:
        return Dependencies({n: s.config.depends_on for n, s in self._checks.items()})

    # -- results and time ----------------------------------------------------------------

    def process(self, result: Result, now: datetime) -> list[AlertEvent]:
        """Take one result; the events to route (usually none)."""
        state = self._checks.get(result.check)
        if state is None:
            return []
        conf = state.locations.get(result.location)
        if conf is None:
            return []
        now = as_utc(now)
        at = min(as_utc(result.at), now)  # stamped ahead of now (a clock stepped back): now
        if conf.at is not None and at <= conf.at:
            return []  # a duplicate (resent after a crash) or out of order
        if result.status is Status.OK and conf.quiet and state.steady:
            conf.observe(result, at, state.config.confirm)  # the common case: nothing changes
            return []
        settled = conf.observe(result, at, state.config.confirm)
        if state.since is None:
            state.since = at
        events: list[AlertEvent] = []
        self._settle(state, now, settled, events)
        return events

    def tick(self, now: datetime) -> list[AlertEvent]:
        """Time passing: silences and windows ending, repeats, locations going stale."""
        now = as_utc(now)
        events: list[AlertEvent] = []
        self._deleted_silences.update(
            self._silences.purge(now, self.settings.silence_retention))
        for orphan in self._orphans:
            self._close_removed(orphan, now, events)
        self._orphans.clear()
        for name in sorted(set(self._open.values())):
            state = self._checks[name]
            if state.incident is None:
                continue  # closed while a parent was being settled
            if len(state.locations) > 1:
                self._settle(state, now, False, events)
            else:
                self._reconcile(state, now, events)
        return events

    def next_wakeup(self, now: datetime) -> datetime | None:
        """When :meth:`tick` next has something to do (None: only new results matter)."""
        now = as_utc(now)
        if self._orphans:
            return now
        best: datetime | None = None
        for name in self._open.values():
            state = self._checks[name]
            inc = state.incident
            assert inc is not None
            if inc.held:
                when = inc.hold_until
            elif state.flap.flapping:
                when = None
            else:
                when = inc.repeat_due(self.settings.repeat_interval)
            if len(state.locations) > 1:
                stale = timedelta(seconds=self.settings.stale_factor * state.config.interval)
                for conf in state.locations.values():
                    if conf.at is not None and conf.hard.is_problem and conf.at + stale > now:
                        when = min(when, conf.at + stale) if when else conf.at + stale
            if when is not None and (best is None or when < best):
                best = when
        return max(best, now) if best is not None else None

    def retrying(self, check: str, location: str | None = None) -> bool:
        """True while a problem is being confirmed (the scheduler uses retry_interval)."""
        state = self._checks.get(check)
        if state is None:
            return False
        if location is not None:
            conf = state.locations.get(location)
            return conf is not None and conf.confirming
        return any(c.confirming for c in state.locations.values())

    # -- the stages ----------------------------------------------------------------------

    def _settle(self, state: CheckState, now: datetime, record: bool,
                events: list[AlertEvent]) -> None:
        cfg = state.config
        cutoff = now - timedelta(seconds=self.settings.stale_factor * cfg.interval)
        was_problem = state.status.is_problem
        verdict = tally(state.locations, cfg.quorum, was_problem, state.status, cutoff,
                        self.silent, self.holding)
        state.status = verdict.status
        if verdict.problem != was_problem:
            state.since = now
        if record:
            state.flap.record(int(verdict.status), *self._flap_thresholds(cfg))
        inc = state.incident
        if inc is None and (verdict.problem or verdict.degraded or state.flap.flapping):
            inc = self._open_incident(state, verdict, now)
        if inc is not None:
            self._update_incident(state, inc, verdict, now)
            self._dirty_incidents[inc.id] = inc
        self._dirty_checks.add(state.name)
        down_changed = state.refresh_down()
        if inc is not None:
            self._reconcile(state, now, events)
        if down_changed:
            # A parent going down or coming back changes what its children may say.
            for child in self._deps.children(state.name):
                child_state = self._checks[child]
                if child_state.incident is not None:
                    self._reconcile(child_state, now, events)

    def _flap_thresholds(self, cfg: CheckConfig) -> tuple[float, float]:
        low = cfg.flap_low if cfg.flap_low is not None else self.settings.flap_low
        high = cfg.flap_high if cfg.flap_high is not None else self.settings.flap_high
        return low, high

    def _open_incident(self, state: CheckState, verdict: Verdict, now: datetime) -> Incident:
        failing = [state.locations[n] for n in verdict.failing]
        starts = [c.failing_since for c in failing if c.failing_since is not None]
        started = min(starts) if starts else now
        new_id = incident_id(state.name, started, state.last_incident_id)
        inc = Incident(new_id, state.name, started, verdict.status, None, "",
                       max((c.streak for c in failing), default=0))
        state.incident = inc
        state.last_incident_id = new_id
        state.since = started
        self._open[new_id] = state.name
        return inc

    def _update_incident(self, state: CheckState, inc: Incident, verdict: Verdict,
                         now: datetime) -> None:
        inc.degraded = verdict.degraded
        inc.labels = {**state.labels, "degraded": "true"} if inc.degraded else state.labels
        if verdict.problem or inc.degraded:
            worst = verdict.worst(state.locations)
            if worst is not None:
                inc.status, inc.phase, inc.summary = worst.hard, worst.phase, worst.summary
            return
        healthy = [state.locations[n] for n in verdict.healthy]
        inc.status, inc.phase = Status.OK, None
        if healthy:
            inc.summary = max(healthy, key=lambda c: c.at or now).summary
        if not state.flap.flapping:  # a flapping check keeps its incident open until it stops
            inc.ended_at = now

    def _reconcile(self, state: CheckState, now: datetime, events: list[AlertEvent]) -> None:
        inc = state.incident
        assert inc is not None
        before = (inc.held, inc.hold_until, inc.caused_by)
        if inc.open:
            inc.held, inc.hold_until, inc.caused_by = self._hold(state, now)
        kind = next_event(inc, flapping=state.flap.flapping, held=bool(inc.held), now=now,
                          repeat_interval=self.settings.repeat_interval)
        if kind is not None:
            events.append(self._event(state, inc, kind, now))
            inc.told_event(kind, now)
        if not inc.open:
            state.incident = None
            self._open.pop(inc.id, None)
        if kind is not None or not inc.open or before != (inc.held, inc.hold_until,
                                                          inc.caused_by):
            self._dirty_incidents[inc.id] = inc
            self._dirty_checks.add(state.name)

    def _hold(self, state: CheckState, now: datetime,
              ) -> tuple[str, datetime | None, tuple[str, ...]]:
        """Why the incident must not be notified now, until when to look again, the chain."""
        if self._deps.parents(state.name):
            chain = self._deps.cause_chain(state.name, self._is_down)
            if chain:
                return "caused by " + " -> ".join(chain), None, chain
        if len(self._silences):
            silence = self._silences.muting(state.labels, now)
            if silence is not None:
                return silence.describe(), silence.ends_at, ()
        for window in self._maintenance:
            if window.covers(state.labels, now):
                return f'maintenance "{window.name}"', self._window_ends.end(
                    window, now, self.settings.maintenance_poll), ()
        return "", None, ()

    def _is_down(self, name: str) -> bool:
        return self._checks[name].down

    def _is_failing(self, name: str) -> bool:
        return self._checks[name].status.is_problem

    def _event(self, state: CheckState, inc: Incident, kind: EventKind,
               now: datetime) -> AlertEvent:
        cfg = state.config
        cutoff = now - timedelta(seconds=self.settings.stale_factor * cfg.interval)
        stale = [n for n, c in state.locations.items()
                 if c.at is None or c.at < cutoff or n in self.silent]
        impacted = (self._deps.impacted(state.name, self._is_failing)
                    if self._deps.children(state.name) else ())
        low, high = self._flap_thresholds(cfg)
        facts = Facts(
            incident=inc, confirm=cfg.confirm, quorum=cfg.quorum, locations=state.locations,
            stale=stale, caused_by=inc.caused_by, impacted=impacted,
            flapping=state.flap.flapping,
            percent=state.flap.percent, flap_low=low, flap_high=high,
        )
        return AlertEvent(
            kind=kind, incident_id=inc.id, check=state.name, status=inc.status,
            phase=inc.phase, summary=inc.summary, labels=inc.labels or state.labels,
            started_at=inc.started_at, ended_at=inc.ended_at, at=now,
            diagnosis=diagnose(facts, now),
            locations=tuple(LocationState(n, c.status, c.summary, c.at, c.phase, c.duration,
                                          n in stale) for n, c in state.locations.items() if c.at),
            impacted=impacted, caused_by=inc.caused_by,
        )

    # -- operator actions ----------------------------------------------------------------

    def acknowledge(self, incident: str, by: str, comment: str,
                    now: datetime) -> list[AlertEvent]:
        """Stop repeats of an open incident until it recovers; raises UnknownIncident."""
        now = as_utc(now)
        name = self._open.get(incident)
        if name is None:
            raise UnknownIncident(incident)
        state = self._checks[name]
        inc = state.incident
        assert inc is not None
        first = inc.acked_by is None
        inc.acked_by, inc.acked_at, inc.ack_comment = by, now, comment
        self._dirty_incidents[inc.id] = inc
        if not first or inc.told is Told.NOTHING:
            return []
        return [self._event(state, inc, EventKind.ACKNOWLEDGED, now)]

    def add_silence(self, matchers: Sequence[str | Matcher], starts_at: datetime,
                    ends_at: datetime, created_by: str, comment: str, now: datetime,
                    silence_id: str | None = None) -> Silence:
        """Add a silence (raises ValueError when invalid). It mutes from its start on.

        ``silence_id`` comes from the caller (the daemon draws a random one); without it the
        id is derived from the silence, so the engine stays deterministic."""
        now = as_utc(now)
        silence = self._silences.add(matchers, as_utc(starts_at), as_utc(ends_at), created_by,
                                     comment, now, silence_id)
        self._dirty_silences.add(silence.id)
        self._refresh_holds(now)
        return silence

    def expire_silence(self, silence_id: str, now: datetime) -> list[AlertEvent]:
        """End a silence now (raises UnknownSilence); problems it held are notified now."""
        now = as_utc(now)
        self._silences.expire(silence_id, now)
        self._dirty_silences.add(silence_id)
        return self._reconcile_open(now)

    def silences(self, now: datetime, include_ended: bool = True) -> list[Silence]:
        return self._silences.listing(as_utc(now), include_ended)

    # -- configuration -------------------------------------------------------------------

    def update_checks(self, checks: Mapping[str, CheckConfig] | Iterable[CheckConfig],
                      now: datetime) -> list[AlertEvent]:
        """A reload: unchanged and changed checks keep their state; removed ones are dropped.

        An open incident of a removed check is closed; if receivers were told of it they get
        a RECOVERY whose summary says the check was removed, so nothing stays open forever.
        """
        now = as_utc(now)
        configs = checks.values() if isinstance(checks, Mapping) else checks
        wanted = {c.name: c for c in configs if c.enabled}
        events: list[AlertEvent] = []
        for name in [n for n in self._checks if n not in wanted]:
            state = self._checks.pop(name)
            self._deleted_checks.add(name)
            self._dirty_checks.discard(name)
            if state.incident is not None:
                self._open.pop(state.incident.id, None)
                self._close_removed(state.incident, now, events)
        changed: list[CheckState] = []
        for name, config in wanted.items():
            current = self._checks.get(name)
            if current is None:
                self._checks[name] = CheckState(config)
                self._deleted_checks.discard(name)
            elif config != current.config:
                current.reconfigure(config)
                changed.append(current)
        self._deps = self._graph()
        for state in self._checks.values():
            state.refresh_down()
        for state in changed:  # a new quorum or location list applies now, not at next result
            if state.since is not None:
                self._settle(state, now, False, events)
        events.extend(self._reconcile_open(now))
        return events

    def set_maintenance(self, windows: Sequence[MaintenanceWindow],
                        now: datetime) -> list[AlertEvent]:
        """New maintenance windows (a reload); problems no longer held are notified now."""
        self._maintenance = tuple(windows)
        self._window_ends.clear()
        return self._reconcile_open(as_utc(now))

    def _close_removed(self, inc: Incident, now: datetime, events: list[AlertEvent]) -> None:
        inc.ended_at, inc.status, inc.phase, inc.summary = now, Status.OK, None, REMOVED_SUMMARY
        if inc.told is not Told.NOTHING:
            events.append(AlertEvent(
                kind=EventKind.RECOVERY, incident_id=inc.id, check=inc.check, status=Status.OK,
                phase=None, summary=REMOVED_SUMMARY, labels=inc.labels, started_at=inc.started_at,
                ended_at=now, at=now, diagnosis=REMOVED_SUMMARY))
        self._dirty_incidents[inc.id] = inc

    def _reconcile_open(self, now: datetime) -> list[AlertEvent]:
        events: list[AlertEvent] = []
        for name in sorted(set(self._open.values())):
            state = self._checks[name]
            if state.incident is not None:
                self._reconcile(state, now, events)
        return events

    def _refresh_holds(self, now: datetime) -> None:
        for name in self._open.values():
            state = self._checks[name]
            inc = state.incident
            assert inc is not None
            inc.held, inc.hold_until, inc.caused_by = self._hold(state, now)
            self._dirty_incidents[inc.id] = inc

    # -- persistence and views -----------------------------------------------------------

    def restore(self, checks: Mapping[str, str], incidents: Iterable[Incident]) -> None:
        """Load saved state (``qualify_store.load_qualifier`` calls this on a fresh engine)."""
        for name, text in checks.items():
            state = self._checks.get(name)
            if state is None:
                self._deleted_checks.add(name)
            else:
                rows.restore_check(state, text)
        for inc in incidents:
            state = self._checks.get(inc.check)
            if state is None or state.incident is not None:
                self._orphans.append(inc)
                continue
            state.incident = inc
            self._open[inc.id] = inc.check

    def shift(self, delta: timedelta) -> None:
        """The wall clock stepped by ``delta``: move the stored instants with it (steps.py)."""
        names, incidents = shift_all(self._checks.values(), self._orphans, delta)
        self._dirty_checks.update(names)
        self._dirty_incidents.update((i.id, i) for i in incidents)

    def take_changes(self) -> rows.QualifyChanges:
        """What changed since the previous call, encoded; clears the record."""
        changes = rows.QualifyChanges(
            checks=tuple(rows.check_row(self._checks[n]) for n in sorted(self._dirty_checks)
                         if n in self._checks),
            deleted_checks=tuple(sorted(self._deleted_checks)),
            incidents=tuple(rows.incident_row(i) for i in self._dirty_incidents.values()),
            silences=tuple(rows.silence_row(self._silences.get(s))
                           for s in sorted(self._dirty_silences - self._deleted_silences)),
            deleted_silences=tuple(sorted(self._deleted_silences)),
        )
        self._dirty_checks.clear()
        self._dirty_incidents.clear()
        self._dirty_silences.clear()
        self._deleted_checks.clear()
        self._deleted_silences.clear()
        return changes

    def snapshot(self, now: datetime) -> dict[str, CheckView]:
        """Every check: state, since, last result per location, open incident."""
        now = as_utc(now)
        factor = self.settings.stale_factor
        return {name: check_view(state, now - timedelta(seconds=factor * state.config.interval),
                                 self.silent)
                for name, state in self._checks.items()}

    def incidents(self) -> list[IncidentView]:
        """The open incidents, oldest first."""
        views = [IncidentView.of(s.incident) for s in self._checks.values()
                 if s.incident is not None]
        return sorted(views, key=lambda v: (v.started_at, v.id))
