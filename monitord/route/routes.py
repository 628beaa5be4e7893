"""Ordered routes: which receivers get an alert with these labels at this instant, and why.

As in Alertmanager, routes are tried in order and the first one whose matchers all match
takes the alert, unless it says ``continue = true``; an alert no route takes goes to
``[alerting] default_receivers``. A route's time intervals do not change *whether* it matches,
only *when* it delivers: a route that matches while inactive (outside its
``active_time_intervals``) or muted (inside a ``mute_time_intervals``) still takes the alert —
the search stops there unless it continues — and holds it until it becomes deliverable, when
the problems still open are delivered (the morning hand-over).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitord.config.alerting import AlertingConfig
from monitord.route.matchers import Matcher, first_mismatch
from monitord.route.timeintervals import (
    DEFAULT_HORIZON,
    Membership,
    TimeInterval,
    earliest_change,
)

DEFAULT_ROUTE = -1  # the route index of targets that come from default_receivers
# next_deliverable steps from one interval boundary to the next; this only bounds
# pathological configurations (real ones need a handful of steps).
_MAX_STEPS = 10_000


@dataclass(frozen=True, slots=True)
class Route:
    """One ``[[route]]``, with ``[alerting]`` defaults applied and its intervals resolved."""

    index: int
    receivers: tuple[str, ...]
    matchers: tuple[Matcher, ...] = ()
    continue_: bool = False  # TOML ``continue``
    active_time_intervals: tuple[TimeInterval, ...] = ()
    mute_time_intervals: tuple[TimeInterval, ...] = ()
    group_by: tuple[str, ...] = ()
    group_wait: float = 30.0
    group_interval: float = 300.0
    repeat_interval: float = 4 * 3600.0
    name: str = ""

    @property
    def label(self) -> str:
        """``route[2]`` (counted from 1) or ``route "night"``: how errors and explanations
        name it."""
        return f'route "{self.name}"' if self.name else f"route[{self.index + 1}]"

    def timing(self, now: datetime) -> Timing:
        """Whether this route delivers at ``now``, with every interval's verdict."""
        active = tuple(i.explain(now) for i in self.active_time_intervals)
        muted = tuple(i.explain(now) for i in self.mute_time_intervals)
        active_by = next((i.name for i, m in zip(self.active_time_intervals, active)
                          if m.inside), None)
        muted_by = next((i.name for i, m in zip(self.mute_time_intervals, muted)
                         if m.inside), None)
        inactive = bool(self.active_time_intervals) and active_by is None
        return Timing(not inactive and muted_by is None, active_by, muted_by, inactive,
                      active, muted)

    def intervals(self) -> tuple[TimeInterval, ...]:
        return self.active_time_intervals + self.mute_time_intervals

    def next_deliverable(self, now: datetime,
                         horizon: timedelta = DEFAULT_HORIZON) -> datetime | None:
        """The first instant from ``now`` on at which this route delivers (``now`` if it does)."""
        t, end = now, now + horizon
        for _ in range(_MAX_STEPS):
            if self.timing(t).deliverable:
                return t
            change = earliest_change(self.intervals(), t, end - t)
            if change is None:
                return None
            t = change
        return None


@dataclass(frozen=True, slots=True)
class Timing:
    """A matching route's time verdict: deliverable now, or held, and which interval said so."""

    deliverable: bool
    active_by: str | None  # the active_time_interval that contains now
    muted_by: str | None  # the mute_time_interval that contains now
    inactive: bool  # it has active_time_intervals and now is in none of them
    active_verdicts: tuple[Membership, ...] = ()  # one per active_time_interval, in order
    mute_verdicts: tuple[Membership, ...] = ()  # one per mute_time_interval, in order

    def summary(self) -> str:
        if self.muted_by is not None:
            return f'muted by "{self.muted_by}"'
        if self.inactive:
            return "inactive: outside all its active_time_intervals"
        parts = [f'active by "{self.active_by}"'] if self.active_by is not None else []
        if self.mute_verdicts:
            parts.append("not muted")
        return ", ".join(parts) or "always active (no time intervals)"


@dataclass(frozen=True, slots=True)
class Target:
    """One receiver an alert is routed to, with the grouping of the route that chose it."""

    receiver: str
    route: int  # index in [[route]], or DEFAULT_ROUTE for default_receivers
    group_by: tuple[str, ...]
    group_wait: float
    group_interval: float
    repeat_interval: float
    deliverable: bool  # False: held until the route becomes active (or stops being muted)


@dataclass(frozen=True, slots=True)
class RouteStep:
    """One route considered for an alert: matched or not (and the matcher that failed)."""

    route: Route
    matched: bool
    failed: Matcher | None = None
    timing: Timing | None = None  # for a matched route
    stopped: bool = False  # matched without continue: later routes were not considered


@dataclass(frozen=True, slots=True)
class Decision:
    labels: Mapping[str, str]
    at: datetime
    steps: tuple[RouteStep, ...]
    targets: tuple[Target, ...]  # every (route, receiver) pair the alert goes to, in order
    default: bool  # no route matched: the targets are default_receivers

    @property
    def deliver(self) -> tuple[Target, ...]:
        """The targets to deliver to now."""
        return tuple(t for t in self.targets if t.deliverable)

    @property
    def held(self) -> tuple[Target, ...]:
        """The targets waiting for their route to become deliverable."""
        return tuple(t for t in self.targets if not t.deliverable)


@dataclass(frozen=True)
class Router:
    routes: tuple[Route, ...]
    alerting: AlertingConfig = field(default_factory=AlertingConfig)

    def decide(self, labels: Mapping[str, str], now: datetime) -> Decision:
        """Route an alert with ``labels`` at ``now`` (aware); pure, and explains itself."""
        steps: list[RouteStep] = []
        targets: list[Target] = []
        for route in self.routes:
            failed = first_mismatch(route.matchers, labels)
            if failed is not None:
                steps.append(RouteStep(route, matched=False, failed=failed))
                continue
            timing = route.timing(now)
            steps.append(RouteStep(route, True, timing=timing, stopped=not route.continue_))
            targets.extend(_target(route, receiver, timing.deliverable)
                           for receiver in route.receivers)
            if not route.continue_:
                break
        matched = any(step.matched for step in steps)
        # A degraded check (failing at fewer locations than its quorum) goes only where a
        # route asks for it (degraded="true"): the default receivers are not paged for it.
        if not matched and labels.get("degraded") != "true":
            targets = [self._default_target(r) for r in self.alerting.default_receivers]
        return Decision(dict(labels), now, tuple(steps), tuple(targets), default=not matched)

    def deliverable(self, route: int, receiver: str, now: datetime) -> bool:
        """Whether ``(route, receiver)`` delivers at ``now``.

        For the hand-over: the daemon keeps, per open problem, the pairs that have not
        delivered it, and delivers when this turns true. A pair that no longer exists (the
        config changed) is never deliverable: route the alert again with :meth:`decide`.
        """
        if route == DEFAULT_ROUTE:
            return receiver in self.alerting.default_receivers
        if not 0 <= route < len(self.routes) or receiver not in self.routes[route].receivers:
            return False
        return self.routes[route].timing(now).deliverable

    def next_change(self, now: datetime,
                    horizon: timedelta = DEFAULT_HORIZON) -> datetime | None:
        """The next instant any route's deliverability may change (when to wake up)."""
        seen: dict[str, TimeInterval] = {}
        for route in self.routes:
            for interval in route.intervals():
                seen.setdefault(interval.name, interval)
        return earliest_change(seen.values(), now, horizon)

    def _default_target(self, receiver: str) -> Target:
        a = self.alerting
        return Target(receiver, DEFAULT_ROUTE, a.group_by, a.group_wait, a.group_interval,
                      a.repeat_interval, deliverable=True)


def _target(route: Route, receiver: str, deliverable: bool) -> Target:
    return Target(receiver, route.index, route.group_by, route.group_wait, route.group_interval,
                  route.repeat_interval, deliverable)


def routed_receivers(targets: Sequence[Target]) -> tuple[str, ...]:
    """The receivers of ``targets``, each once, in order (for summaries)."""
    return tuple(dict.fromkeys(t.receiver for t in targets))
