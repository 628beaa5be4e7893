"""Time intervals (business hours, nights, holidays) with Prometheus Alertmanager's semantics.

An interval is a union of *recurrences*; within one recurrence the fields (``times``,
``weekdays``, ``days_of_month``, ``months``, ``years``) are ANDed and the values of one field
ORed; an absent field matches everything. ``times`` are ``[start, end)`` in minutes of the
local day; the other ranges are inclusive; weekdays run from sunday (0) to saturday (6) as in
Alertmanager, so a range never wraps around. Everything is evaluated in the interval's zone on
the wall clock, which is what makes it DST-correct: 09:00 is 09:00 local in winter and summer,
a wall time skipped in spring never happens, and one repeated in autumn happens twice.
``exclude_dates`` (local dates, a monitord addition for public holidays) are outside all day.

Everything here is pure: the instant to evaluate is always passed in, and must be aware.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from monitord.config.durations import parse_time_of_day

WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
DAY = 24 * 60
# How far next_change looks ahead: past a year, so that yearly patterns (months, holidays)
# are always found; an interval that does not change within it is treated as never changing.
DEFAULT_HORIZON = timedelta(days=370)
_WINDOW = timedelta(days=7)  # next_change looks at candidates one week at a time
_UTC = timezone.utc


# -- the parts ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Span:
    """An inclusive range of weekdays, days of the month, months or years, as written."""

    begin: int
    end: int
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class TimeRange:
    """``[start, end)`` in minutes since local midnight; ``end`` may be 1440 (``"24:00"``)."""

    start: int
    end: int

    def __contains__(self, minute: int) -> bool:
        return self.start <= minute < self.end

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}–{_hhmm(self.end)}"


@dataclass(frozen=True, slots=True)
class DateSpan:
    """Local dates excluded all day: one date, or an inclusive range of dates."""

    first: date
    last: date

    def __contains__(self, day: date) -> bool:
        return self.first <= day <= self.last

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}:{self.last}"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _split_range(text: str) -> tuple[str, str]:
    begin, sep, end = text.strip().lower().partition(":")
    return (begin.strip(), end.strip()) if sep else (begin.strip(), begin.strip())


def parse_weekdays(text: str) -> Span:
    """``"monday:friday"`` or ``"saturday"``; the week runs sunday to saturday."""
    begin_name, end_name = _split_range(text)
    for name in (begin_name, end_name):
        if name not in WEEKDAYS:
            raise ValueError(f'unknown weekday "{name}" in "{text}" (expected sunday, monday, '
                             f"…, saturday, or a range like \"monday:friday\")")
    begin, end = WEEKDAYS.index(begin_name), WEEKDAYS.index(end_name)
    if begin > end:
        split = f'["{_weekday_text(begin, 6)}", "{_weekday_text(0, end)}"]'
        raise ValueError(f'weekday range "{text}" runs backwards: as in Alertmanager the week '
                         f"runs from sunday to saturday, so split it: {split}")
    return Span(begin, end, _weekday_text(begin, end))


def _weekday_text(begin: int, end: int) -> str:
    return WEEKDAYS[begin] if begin == end else f"{WEEKDAYS[begin]}:{WEEKDAYS[end]}"


def parse_days_of_month(value: str | int) -> Span:
    """``1``, ``-1`` (the last day), ``"1:15"``, ``"-7:-1"`` (the last week), ``"16:-1"``."""
    text = str(value)
    begin_text, end_text = _split_range(text)
    numbers = []
    for part in (begin_text, end_text):
        try:
            number = int(part)
        except ValueError:
            raise ValueError(f'expected a day of the month like 1, -1 or "1:15", got '
                             f'"{text}"') from None
        if number == 0 or not -31 <= number <= 31:
            raise ValueError(f'day of the month {number} in "{text}" is out of range (1 to 31, '
                             f"or -1 to -31 counting from the month's end)")
        numbers.append(number)
    span = Span(numbers[0], numbers[1], text.strip())
    if all(_resolve_days(span, length) is None for length in range(28, 32)):
        raise ValueError(f'day range "{text}" matches no day in any month: its start comes '
                         f"after its end")
    return span


def parse_months(value: str | int) -> Span:
    """``"january:march"``, ``"december"``, ``3`` or ``"1:3"``."""
    text = str(value)
    begin_text, end_text = _split_range(text)
    numbers = [_month_number(part, text) for part in (begin_text, end_text)]
    if numbers[0] > numbers[1]:
        first, last = MONTHS[numbers[0] - 1], MONTHS[numbers[1] - 1]
        raise ValueError(f'month range "{text}" runs backwards ({last} is before {first}): a '
                         f'range cannot wrap around the new year, split it: '
                         f'["{first}:december", "january:{last}"]')
    return Span(numbers[0], numbers[1], text.strip().lower())


def _month_number(part: str, text: str) -> int:
    if part in MONTHS:
        return MONTHS.index(part) + 1
    if part.isdigit() and 1 <= int(part) <= 12:
        return int(part)
    raise ValueError(f'unknown month "{part}" in "{text}" (expected january … december or '
                     f"1 … 12)")


def parse_years(value: str | int) -> Span:
    """``2026`` or ``"2026:2027"``."""
    text = str(value)
    begin_text, end_text = _split_range(text)
    if not (begin_text.isdigit() and end_text.isdigit()):
        raise ValueError(f'expected a year like 2026 or "2026:2027", got "{text}"')
    begin, end = int(begin_text), int(end_text)
    for year in (begin, end):
        if not 1 <= year <= 9999:
            raise ValueError(f'year {year} in "{text}" is out of range (1 to 9999)')
    if begin > end:
        raise ValueError(f'year range "{text}" runs backwards')
    return Span(begin, end, text.strip())


def parse_time_range(start: str, end: str) -> TimeRange:
    """``("09:00", "18:00")``: ``[start, end)`` local; a range never crosses midnight."""
    first, last = parse_time_of_day(start), parse_time_of_day(end)
    if first == DAY:
        raise ValueError('"24:00" is only allowed as an end')
    if first > last:
        raise ValueError(
            f'{start}–{end} crosses midnight: split it into {{ start = "{start}", end = '
            f'"24:00" }} and {{ start = "00:00", end = "{end}" }}')
    if first == last:
        raise ValueError(f"{start}–{end} is empty: the end must come after the start")
    return TimeRange(first, last)


def parse_date_span(value: str | date) -> DateSpan:
    """``"2026-12-25"``, a TOML local date, or an inclusive range ``"2026-12-24:2026-12-26"``."""
    if isinstance(value, datetime):
        raise ValueError(f"expected a date, not a date and time: {value.isoformat()}")
    if isinstance(value, date):
        return DateSpan(value, value)
    first_text, sep, last_text = value.strip().partition(":")
    first = _date(first_text, value)
    last = _date(last_text, value) if sep else first
    if last < first:
        raise ValueError(f'date range "{value}" runs backwards')
    return DateSpan(first, last)


def _date(text: str, whole: str) -> date:
    try:
        if len(text.strip()) != 10:
            raise ValueError
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f'expected a date like "2026-12-25" (or a range '
                         f'"2026-12-24:2026-12-26"), got "{whole}"') from None


def _resolve_days(span: Span, length: int) -> tuple[int, int] | None:
    """The first and last day ``span`` covers in a month of ``length`` days, if any."""
    begin = span.begin if span.begin > 0 else length + span.begin + 1
    end = span.end if span.end > 0 else length + span.end + 1
    if begin > length:  # day 31 does not exist in April: no match, and no spill into May
        return None
    begin, end = max(begin, 1), min(end, length)
    return (begin, end) if begin <= end else None


# -- one recurrence ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recurrence:
    """One alternative of an interval: every given field must match (empty = any)."""

    times: tuple[TimeRange, ...] = ()
    weekdays: tuple[Span, ...] = ()
    days_of_month: tuple[Span, ...] = ()
    months: tuple[Span, ...] = ()
    years: tuple[Span, ...] = ()

    def day_mismatch(self, day: date) -> str | None:
        """Which field excludes the whole local ``day``, or None when the day qualifies."""
        weekday = (day.weekday() + 1) % 7  # Python counts from monday, Alertmanager from sunday
        length = calendar.monthrange(day.year, day.month)[1]
        tests = (
            ("weekdays", self.weekdays, lambda s: s.begin <= weekday <= s.end),
            ("days_of_month", self.days_of_month, lambda s: _day_in(s, day.day, length)),
            ("months", self.months, lambda s: s.begin <= day.month <= s.end),
            ("years", self.years, lambda s: s.begin <= day.year <= s.end),
        )
        for name, spans, test in tests:
            if spans and not any(test(s) for s in spans):
                return f"{name} {', '.join(map(str, spans))}"
        return None

    def mismatch(self, local: datetime) -> str | None:
        """Which field excludes this local wall time, or None when it is inside."""
        # The day's fields first: "not in weekdays monday:friday" explains a Sunday best.
        day_miss = self.day_mismatch(local.date())
        if day_miss is not None:
            return day_miss
        minute = local.hour * 60 + local.minute
        if self.times and not any(minute in r for r in self.times):
            return f"times {', '.join(map(str, self.times))}"
        return None

    def boundaries(self) -> set[int]:
        """The minutes of the day at which membership may change (midnight included)."""
        return {0} | {m for r in self.times for m in (r.start, r.end) if m < DAY}

    def __str__(self) -> str:
        parts = [f"{name} {', '.join(map(str, spans))}" for name, spans in (
            ("weekdays", self.weekdays), ("days_of_month", self.days_of_month),
            ("months", self.months), ("years", self.years), ("times", self.times)) if spans]
        return "; ".join(parts) or "all the time"


def _day_in(span: Span, day: int, length: int) -> bool:
    bounds = _resolve_days(span, length)
    return bounds is not None and bounds[0] <= day <= bounds[1]


# -- the interval -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Membership:
    """Whether an instant is inside an interval, and why (for ``monitord routes``)."""

    inside: bool
    local: datetime  # the instant on the interval's wall clock
    reason: str
    recurrence: int | None = None  # which alternative matched, when inside
    excluded: DateSpan | None = None  # the excluded date that decided, if one did


@dataclass(frozen=True, slots=True)
class TimeInterval:
    name: str
    zone: ZoneInfo
    recurrences: tuple[Recurrence, ...] = field(default=(Recurrence(),))
    exclude_dates: tuple[DateSpan, ...] = ()

    def contains(self, t: datetime) -> bool:
        """Alertmanager's ContainsTime, plus ``exclude_dates``; ``t`` must be aware."""
        local = _local(t, self.zone)
        if any(local.date() in span for span in self.exclude_dates):
            return False
        return any(r.mismatch(local) is None for r in self.recurrences)

    def explain(self, t: datetime) -> Membership:
        local = _local(t, self.zone)
        when = describe_local(local, self.zone)
        for span in self.exclude_dates:
            if local.date() in span:
                return Membership(False, local, f'outside "{self.name}": {when}: '
                                  f"{local.date()} is an excluded date", excluded=span)
        misses = []
        for index, recurrence in enumerate(self.recurrences):
            miss = recurrence.mismatch(local)
            if miss is None:
                return Membership(True, local, f'inside "{self.name}": {when} is in '
                                  f"{recurrence}", recurrence=index)
            misses.append(f"range[{index}] not in {miss}" if len(self.recurrences) > 1
                          else f"not in {miss}")
        return Membership(False, local, f'outside "{self.name}": {when}: ' + "; ".join(misses))

    def next_change(self, t: datetime, horizon: timedelta = DEFAULT_HORIZON) -> datetime | None:
        """The first instant after ``t`` at which :meth:`contains` flips, within ``horizon``.

        Membership only changes where the local wall clock reaches a boundary minute of some
        ``times`` range or midnight, or where it jumps (a DST transition). Those instants are
        the candidates; evaluating them in order finds the exact flip, in UTC.
        """
        state = self.contains(t)
        window_start, end = t, t + horizon
        while window_start < end:
            window_end = min(window_start + _WINDOW, end)
            first = window_start.astimezone(self.zone).date() - timedelta(days=1)
            last = window_end.astimezone(self.zone).date() + timedelta(days=1)
            candidates = sorted({c for day in _days(first, last) for c in self._candidates(day)
                                 if window_start < c <= window_end})
            for candidate in candidates:
                if self.contains(candidate) != state:
                    return candidate
            window_start = window_end
        return None

    def _candidates(self, day: date) -> Iterator[datetime]:
        minutes: set[int] = {0}
        for recurrence in self.recurrences:
            minutes |= recurrence.boundaries()
        for minute in minutes:
            wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.zone)
            # fold=0 and fold=1 give both instants of a repeated wall time; for a skipped
            # one they give instants around the jump, which the transition below covers.
            yield wall.astimezone(_UTC)
            yield wall.replace(fold=1).astimezone(_UTC)
        transition = _transition(day, self.zone)
        if transition is not None:
            yield transition


def _local(t: datetime, zone: ZoneInfo) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"expected an aware datetime (with a UTC offset), got {t.isoformat()}")
    return t.astimezone(zone)


def describe_local(local: datetime, zone: ZoneInfo) -> str:
    """``Monday 2026-03-30 09:15 CEST (Europe/Paris)``."""
    weekday = WEEKDAYS[(local.weekday() + 1) % 7].capitalize()
    return f"{weekday} {local:%Y-%m-%d %H:%M} {local.tzname()} ({zone.key})"


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _transition(day: date, zone: ZoneInfo) -> datetime | None:
    """The instant the UTC offset changes during local ``day``, if it does (one per day)."""
    start = datetime.combine(day, time(), tzinfo=zone).astimezone(_UTC)
    stop = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(_UTC)
    after = stop.astimezone(zone).utcoffset()
    if start.astimezone(zone).utcoffset() == after:
        return None
    low, high = int(start.timestamp()), int(stop.timestamp())  # offsets change on a second
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, _UTC)


def earliest_change(intervals: Iterable[TimeInterval], t: datetime,
                    horizon: timedelta = DEFAULT_HORIZON) -> datetime | None:
    """The first instant after ``t`` at which any of ``intervals`` flips (to wake up then)."""
    changes = [c for i in intervals if (c := i.next_change(t, horizon)) is not None]
    return min(changes, default=None)
