"""Parsing of ``[alerting]``, ``[[time_interval]]``, ``[[route]]`` and ``[[maintenance]]``.

Time intervals are read first so that routes and maintenance windows hold the interval
objects themselves; a name that does not exist is an error at the referring key.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from monitord.config.alerting import AlertingConfig, label_names, parse_alerting
from monitord.config.durations import parse_time_of_day
from monitord.config.lines import Place
from monitord.config.reader import Problems, Table, describe_value, to_str_list
from monitord.config.schema import to_zone
from monitord.route.maintenance import Maintenance
from monitord.route.matchers import Matcher
from monitord.route.routes import Route
from monitord.route.timeintervals import (
    DateSpan,
    Recurrence,
    Span,
    TimeInterval,
    TimeRange,
    parse_date_span,
    parse_days_of_month,
    parse_months,
    parse_time_range,
    parse_weekdays,
    parse_years,
)

T = TypeVar("T")
RECURRENCE_KEYS = ("times", "weekdays", "days_of_month", "months", "years")


@dataclass(frozen=True)
class RoutingSections:
    alerting: AlertingConfig = field(default_factory=AlertingConfig)
    time_intervals: Mapping[str, TimeInterval] = field(default_factory=dict)
    routes: tuple[Route, ...] = ()
    maintenance: tuple[Maintenance, ...] = ()


def parse_routing(root: Table, default_zone: ZoneInfo) -> RoutingSections:
    """The four sections, from the root table; errors go to the root's problems."""
    alerting = parse_alerting(root.table("alerting"))
    intervals: dict[str, TimeInterval] = {}
    first_index: dict[str, int] = {}
    for index, table in root.tables("time_interval"):
        interval = parse_time_interval(table, default_zone)
        if interval is None:
            continue
        if interval.name in intervals:
            table.error("name", f"duplicate time interval name (first used by "
                                f"time_interval[{first_index[interval.name] + 1}])")
        else:
            intervals[interval.name] = interval
            first_index[interval.name] = index
    routes = tuple(parse_route(table, index, intervals, alerting)
                   for index, table in root.tables("route"))
    windows: list[Maintenance] = []
    for _, table in root.tables("maintenance"):
        window = parse_maintenance(table, intervals)
        earlier = [i for i, w in enumerate(windows) if w.name == window.name]
        if earlier:
            table.error("name", f"duplicate maintenance name (first used by "
                                f"maintenance[{earlier[0] + 1}])")
        windows.append(window)
    return RoutingSections(alerting, intervals, routes, tuple(windows))


# -- [[time_interval]] --------------------------------------------------------------------------


def parse_time_interval(table: Table, default_zone: ZoneInfo) -> TimeInterval | None:
    """One ``[[time_interval]]``: recurrence fields directly, or ``[[time_interval.range]]``."""
    name = table.str("name")
    zone = table.get("timezone", to_zone, default_zone)
    excluded = _items(table, "exclude_dates", _date_value, parse_date_span)
    direct = [key for key in RECURRENCE_KEYS if key in table.data]
    recurrences: list[Recurrence] = []
    if "range" in table.data:
        if direct:
            table.error("range", f"give the fields ({', '.join(direct)}) directly or in "
                                 f"[[time_interval.range]] tables, not both")
            _recurrence(table)  # still validated, and its keys are not "unknown"
        recurrences = [_recurrence(sub) for sub in subtables(table, "range")]
        if not recurrences:
            table.error("range", "expected at least one [[time_interval.range]]")
    else:
        recurrences = [_recurrence(table)]
    table.finish()
    if not name:
        return None
    return TimeInterval(name, zone, tuple(recurrences), tuple(excluded))


def _recurrence(table: Table) -> Recurrence:
    return Recurrence(
        times=tuple(_time_range(sub) for sub in subtables(table, "times")),
        weekdays=tuple(_items(table, "weekdays", _str_value, parse_weekdays)),
        days_of_month=tuple(_items(table, "days_of_month", _str_or_int, parse_days_of_month)),
        months=tuple(_items(table, "months", _str_or_int, parse_months)),
        years=tuple(_items(table, "years", _str_or_int, parse_years)),
    )


def _time_range(table: Table) -> TimeRange:
    for key in ("start", "end"):
        if not table.has(key):
            table.error(key, 'required, like "09:00"')
    start = table.get("start", _time_of_day, None)
    end = table.get("end", _time_of_day, None)
    table.finish()
    if start is None or end is None:
        return TimeRange(0, 1)  # the bad or missing key has been reported
    try:
        return parse_time_range(start, end)
    except ValueError as exc:
        table.error(None, str(exc))
        return TimeRange(0, 1)


def _items(table: Table, key: str, convert: Callable[[object], T],
           parse: Callable[[T], Span | DateSpan]) -> list[Any]:
    """Each element of the array ``key``, parsed; an empty array is refused (omit the key)."""
    values = table.get(key, _array, None)
    if values is None:
        return []
    if not values:
        table.error(key, "empty: leave the key out to match every value")
    parsed = []
    for value in values:
        try:
            parsed.append(parse(convert(value)))
        except ValueError as exc:
            table.error(key, str(exc))
    return parsed


def _time_of_day(value: object) -> str:
    """A time of day checked on its own, so a bad one is reported at its key."""
    parse_time_of_day(_str_value(value))
    return _str_value(value)


def _array(value: object) -> list[object]:
    if not isinstance(value, list):
        raise ValueError(f"expected an array, got {describe_value(value)}")
    return value


def _str_value(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {describe_value(value)}")
    return value


def _str_or_int(value: object) -> str | int:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f'expected a number or a range like "1:5", got {describe_value(value)}')
    return value


def _date_value(value: object) -> str | date:
    if isinstance(value, (str, date)):
        return value
    raise ValueError(f'expected a date like "2026-12-25", got {describe_value(value)}')


def subtables(table: Table, key: str) -> list[Table]:
    """The tables of the array ``key`` inside ``table``, with paths like ``… .times[1]``."""
    values: list[object] = table.get(key, _array, [])
    tables = []
    for index, value in enumerate(values):
        if isinstance(value, dict):
            tables.append(Table(table.problems, f"{table.path}.{key}[{index + 1}]", value,
                                place=(*table.place, key)))
        else:
            table.error(f"{key}[{index + 1}]", f"expected a table, got {describe_value(value)}")
    return tables


# -- [[route]] --------------------------------------------------------------------------------


def parse_route(table: Table, index: int, intervals: Mapping[str, TimeInterval],
                alerting: AlertingConfig) -> Route:
    active = interval_refs(table, "active_time_intervals", intervals)
    mute = interval_refs(table, "mute_time_intervals", intervals)
    for both in {i.name for i in active} & {i.name for i in mute}:
        table.error("mute_time_intervals", f'"{both}" is also an active_time_interval: the '
                                           f"route would never deliver")
    if not table.has("receivers"):
        table.error("receivers", "required (an empty array [] deliberately drops the alerts "
                                 "this route takes)")
    route = Route(
        index=index,
        name=table.str("name", ""),
        matchers=matchers(table, "matchers", required=False),
        receivers=table.get("receivers", to_str_list, ()),
        continue_=table.bool("continue", False),
        active_time_intervals=active,
        mute_time_intervals=mute,
        group_by=label_names(table, "group_by", alerting.group_by),
        group_wait=table.duration("group_wait", alerting.group_wait, positive=False),
        group_interval=table.duration("group_interval", alerting.group_interval),
        repeat_interval=table.duration("repeat_interval", alerting.repeat_interval),
    )
    table.finish()
    return route


def matchers(table: Table, key: str, *, required: bool) -> tuple[Matcher, ...]:
    if required and not table.has(key):
        table.error(key, "required (an empty array [] matches every alert)")
    texts: tuple[str, ...] = table.get(key, to_str_list, ())
    parsed = []
    for text in texts:
        try:
            parsed.append(Matcher.parse(text))
        except ValueError as exc:
            table.error(key, str(exc))
    return tuple(parsed)


def interval_refs(table: Table, key: str,
                  intervals: Mapping[str, TimeInterval]) -> tuple[TimeInterval, ...]:
    """The intervals named in ``key``; an unknown name is an error (with a close name)."""
    found = []
    for name in table.str_list(key):
        if name in intervals:
            found.append(intervals[name])
            continue
        close = difflib.get_close_matches(name, sorted(intervals), n=1, cutoff=0.75)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        table.error(key, f'no time interval named "{name}"{hint}')
    return tuple(found)


# -- [[maintenance]] -----------------------------------------------------------------------------


def parse_maintenance(table: Table, intervals: Mapping[str, TimeInterval]) -> Maintenance:
    window = Maintenance(
        name=table.str("name"),
        matchers=matchers(table, "matchers", required=True),
        time_intervals=interval_refs(table, "time_intervals", intervals),
        starts_at=table.optional("starts_at", to_instant),
        ends_at=table.optional("ends_at", to_instant),
    )
    if not (table.has("time_intervals") or table.has("starts_at") or table.has("ends_at")):
        table.error("time_intervals", "required (or starts_at / ends_at): a window without "
                                      "a time would hold its alerts forever")
    if window.starts_at and window.ends_at and window.ends_at <= window.starts_at:
        table.error("ends_at", "must come after starts_at")
    table.finish()
    return window


def to_instant(value: object) -> datetime:
    """A TOML offset date-time, or an ISO 8601 string with an offset."""
    if isinstance(value, str):
        try:
            value = parse_instant(value)
        except ValueError as exc:
            raise ValueError(str(exc)) from None
    if not isinstance(value, datetime):
        raise ValueError(f"expected a date and time with an offset like "
                         f"2026-05-12T22:00:00+02:00, got {describe_value(value)}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{value.isoformat()} has no UTC offset: add one, like +02:00 or Z")
    return value


def parse_instant(text: str) -> datetime:
    """ISO 8601 with an offset (``Z`` accepted on every Python); raises ValueError."""
    stripped = text.strip()
    if stripped[-1:] in ("Z", "z"):
        stripped = stripped[:-1] + "+00:00"
    try:
        instant = datetime.fromisoformat(stripped)
    except ValueError:
        raise ValueError(f'expected an ISO 8601 date and time with an offset like '
                         f'"2026-03-30T09:00:00+02:00", got "{text}"') from None
    if instant.tzinfo is None:
        raise ValueError(f'"{text}" has no UTC offset: add one, like +02:00 or Z')
    return instant


# -- references to receivers ----------------------------------------------------------------------


def check_receiver_references(alerting: AlertingConfig, routes: Sequence[Route],
                              receiver_names: Collection[str], problems: Problems) -> None:
    """Hook for the loader once ``[[receiver]]`` is parsed: every name must exist.

    ``default_receivers`` is required as soon as any receiver exists: an alert that no route
    takes must still reach someone.
    """
    known = sorted(set(receiver_names))
    if known and not alerting.default_receivers:
        problems.add("alerting", "default_receivers: required (alerts that no route matches "
                                 "go there)")
    _unknown("alerting", "default_receivers", alerting.default_receivers, known, problems)
    for route in routes:
        _unknown(route.label, "receivers", route.receivers, known, problems,
                 ("route", route.index, "receivers"))


def _unknown(path: str, key: str, names: Iterable[str], known: list[str],
             problems: Problems, place: Place | None = None) -> None:
    for name in names:
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        problems.add(path, f'{key}: no receiver named "{name}"{hint}', place)
