"""``monitord routes``: explain where an alert with some labels goes at some instant."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from monitord.config.alerting import AlertingConfig
from monitord.config.durations import format_duration
from monitord.config.schema import LABEL_NAME, CheckConfig, MonitordSection
from monitord.route.config import parse_instant
from monitord.route.maintenance import Maintenance
from monitord.route.matchers import format_labels
from monitord.route.routes import DEFAULT_ROUTE, Decision, Route, Router, RouteStep, Target
from monitord.route.timeintervals import describe_local

EXIT_OK, EXIT_BAD_INPUT = 0, 2


class RoutingConfig(Protocol):
    """What ``monitord routes`` reads of the loaded configuration (``Config`` is one)."""

    @property
    def file(self) -> Path: ...
    @property
    def monitord(self) -> MonitordSection: ...
    @property
    def alerting(self) -> AlertingConfig: ...
    @property
    def routes(self) -> tuple[Route, ...]: ...
    @property
    def maintenance(self) -> tuple[Maintenance, ...]: ...
    def check(self, name: str) -> CheckConfig: ...


def cmd_routes(config: RoutingConfig, at: str, labels: Sequence[str],
               check: str | None, *, as_json: bool = False) -> tuple[int, str]:
    """Exit status and text of ``monitord routes --at AT [--label K=V]... [--check NAME]``.

    With ``--check`` the alert carries that check's labels; ``--label`` adds to them or
    overrides them (to ask "and if it were a warning?"). With neither, the alert has no
    labels: only routes without matchers take it, else the default route
    (``[alerting] default_receivers``), which the text explains.
    """
    try:
        now = parse_instant(at)
    except ValueError as exc:
        return EXIT_BAD_INPUT, f"--at: {exc}"
    alert: dict[str, str] = {}
    if check is not None:
        try:
            alert.update(config.check(check).alert_labels())
        except KeyError:
            return EXIT_BAD_INPUT, f'--check: no check named "{check}" in {config.file}'
    for text in labels:
        name, sep, value = text.partition("=")
        if not sep or not LABEL_NAME.fullmatch(name.strip()):
            return EXIT_BAD_INPUT, f'--label: expected NAME=VALUE like severity=critical, ' \
                                   f'got "{text}"'
        alert[name.strip()] = value
    router = Router(config.routes, config.alerting)
    decision = router.decide(alert, now)
    held_by = [w for w in config.maintenance if w.covers(alert, now)]
    if as_json:
        return EXIT_OK, json.dumps(_as_json(router, decision, held_by), indent=2) + "\n"
    lines = [] if alert else [
        "no --label or --check: explaining an alert without labels; it reaches the default "
        "route ([alerting] default_receivers: "
        f"{', '.join(config.alerting.default_receivers) or 'none'}) unless a route without "
        "matchers takes it", ""]
    lines += explain(router, decision, config.monitord.timezone)
    held = [f"{w.explain(now)} (this alert is held while it lasts)" for w in held_by]
    lines.extend(held or ["maintenance: no window holds this alert now"])
    return EXIT_OK, "\n".join(lines) + "\n"


def _as_json(router: Router, decision: Decision,
             held_by: Sequence[Maintenance]) -> dict[str, object]:
    """The decision for scripts: labels, each route considered, the receivers."""
    return {
        "labels": dict(decision.labels),
        "at": decision.at.isoformat(),
        "routes": [{"route": step.route.index + 1, "name": step.route.name or None,
                    "matched": step.matched,
                    "failed_matcher": str(step.failed) if step.failed else None,
                    "deliverable": step.timing.deliverable if step.timing else None}
                   for step in decision.steps],
        "default_route": decision.default,
        "receivers": [{"receiver": t.receiver,
                       "route": None if t.route == DEFAULT_ROUTE else t.route + 1,
                       "deliver_now": t.deliverable,
                       "held_until": _held_until(router, t, decision)}
                      for t in decision.targets],
        "maintenance": [w.name for w in held_by],
    }


def _held_until(router: Router, target: Target, decision: Decision) -> str | None:
    if target.deliverable or target.route == DEFAULT_ROUTE:
        return None
    when = router.routes[target.route].next_deliverable(decision.at)
    return when.isoformat() if when else None


def explain(router: Router, decision: Decision, zone: ZoneInfo) -> list[str]:
    """The decision as text: each route considered, then where the alert goes."""
    lines = [f"alert {format_labels(decision.labels)}",
             f"at {decision.at.isoformat()} = "
             f"{describe_local(decision.at.astimezone(zone), zone)}", ""]
    if not router.routes:
        lines.append("no [[route]] is configured")
    for step in decision.steps:
        lines.extend(_step(step, decision.labels))
    if decision.default:
        lines.append("no route matched: [alerting] default_receivers")
    untried = len(router.routes) - len(decision.steps)
    if untried:
        lines.append(f"({untried} later route{'s' if untried > 1 else ''} not considered)")
    lines.append("")
    lines.extend(_targets(router, decision, zone))
    return lines


def _step(step: RouteStep, decision_labels: Mapping[str, str]) -> list[str]:
    route = step.route
    shown = " ".join(map(str, route.matchers)) or "(no matchers: every alert)"
    if not step.matched:
        assert step.failed is not None  # set for every unmatched step
        actual = decision_labels.get(step.failed.name)
        has = f"{step.failed.name}={json.dumps(actual)}" if actual is not None else \
            f"no {step.failed.name} label"
        return [f"{route.label}: {shown}: not matched ({step.failed} fails: {has})"]
    lines = [f"{route.label}: {shown}: matched"]
    assert step.timing is not None  # set for every matched step
    for kind, intervals, verdicts in (
            ("active_time_intervals", route.active_time_intervals, step.timing.active_verdicts),
            ("mute_time_intervals", route.mute_time_intervals, step.timing.mute_verdicts)):
        for interval, verdict in zip(intervals, verdicts):
            lines.append(f"  {kind} {interval.name}: {verdict.reason}")
    receivers = ", ".join(route.receivers) or "no receiver (dropped)"
    verb = "delivers to" if step.timing.deliverable else "holds for"
    lines.append(f"  {step.timing.summary()}: {verb} {receivers}")
    lines.append("  continue = true: the next route is tried" if route.continue_
                 else "  first match: stop here")
    return lines


def _targets(router: Router, decision: Decision, zone: ZoneInfo) -> list[str]:
    lines = []
    for target in decision.deliver:
        lines.append(f"deliver now: {target.receiver} ({_origin(target)}, {_grouping(target)})")
    for target in decision.held:
        route = router.routes[target.route]
        when = route.next_deliverable(decision.at)
        until = f"until {when.astimezone(zone).isoformat()}" if when else \
            "(not deliverable within a year)"
        lines.append(f"held: {target.receiver} ({_origin(target)}) {until}")
    if not decision.targets:
        lines.append("no receiver gets this alert")
    return lines


def _origin(target: Target) -> str:
    if target.route == DEFAULT_ROUTE:
        return "default_receivers"
    return f"route[{target.route + 1}]"  # counted from 1, as the user counts


def _grouping(target: Target) -> str:
    group_by = "[" + ", ".join(target.group_by) + "]"
    return (f"group_by {group_by}, group_wait {_duration(target.group_wait)}, "
            f"group_interval {_duration(target.group_interval)}, "
            f"repeat_interval {_duration(target.repeat_interval)}")


def _duration(seconds: float) -> str:
    return format_duration(seconds) if seconds else "0s"
