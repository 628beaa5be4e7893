"""Nagios plugin output: the summary, the long output and the performance data.

Follows the Monitoring Plugins development guidelines::

    TEXT OUTPUT | OPTIONAL PERFDATA
    LONG TEXT LINE 1
    LONG TEXT LINE N | PERFDATA LINE 2
    PERFDATA LINE 3

Performance data are space-separated ``'label'=value[UOM];[warn];[crit];[min];[max]``; a
label with spaces is single-quoted (``''`` is a quote inside it); the UOM is none, ``s``,
``ms``, ``us``, ``%``, ``B``, ``KB``, ``MB``, ``GB``, ``TB`` or ``c``; a value of ``U`` means
"could not be determined". ``warn`` and ``crit`` are ranges (``10``, ``10:``, ``~:10``,
``10:20``, ``@10:20``). Anything that does not parse is skipped, never fatal: a plugin's
verdict is its exit status, its perfdata only adds metrics.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_VALUE = re.compile(rf"({_NUMBER})([a-zA-Z%]*)")
_RANGE = re.compile(rf"(@)?(?:(~|{_NUMBER})?:)?({_NUMBER})?")
_WORD = re.compile(r"\s*\S+")
_ITEM = re.compile(r"\s*('(?:[^']|'')+'|[^'=\s][^=\s]*)=(\S*)")
# Time and size units are turned into seconds and bytes (the plugins mean 1024 by KB).
_SCALE = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "B": 1.0, "KB": 1024.0, "MB": 1024.0**2,
          "GB": 1024.0**3, "TB": 1024.0**4, "%": 1.0, "c": 1.0, "": 1.0}
_BASE = {"ms": "s", "us": "s", "KB": "B", "MB": "B", "GB": "B", "TB": "B"}


@dataclass(frozen=True, slots=True)
class Range:
    """A threshold range: alert outside ``[start, end]``, or inside it when ``inside``."""

    start: float = 0.0
    end: float = math.inf
    inside: bool = False


@dataclass(frozen=True, slots=True)
class PerfDatum:
    label: str
    value: float  # in ``unit``, already converted to seconds or bytes
    unit: str  # "", "s", "%", "B" or "c" (or a unit the guidelines do not know, as given)
    warn: Range | None = None
    crit: Range | None = None
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True, slots=True)
class PluginOutput:
    summary: str
    long_output: tuple[str, ...]
    perfdata: tuple[PerfDatum, ...]


def split_output(text: str) -> PluginOutput:
    """The summary (first line before ``|``), the long output lines and the parsed perfdata."""
    lines = text.splitlines()
    if not lines:
        return PluginOutput("", (), ())
    summary, _, perf = lines[0].partition("|")
    perf_texts = [perf]
    long_output: list[str] = []
    in_perfdata = False
    for line in lines[1:]:
        if in_perfdata:
            perf_texts.append(line)
            continue
        text_part, bar, perf_part = line.partition("|")
        long_output.append(text_part.rstrip() if bar else line)
        if bar:
            perf_texts.append(perf_part)
            in_perfdata = True
    while long_output and not long_output[-1].strip():
        long_output.pop()
    data = tuple(datum for chunk in perf_texts for datum in parse_perfdata(chunk))
    return PluginOutput(summary.strip(), tuple(long_output), data)


def parse_perfdata(text: str) -> Iterator[PerfDatum]:
    position = 0
    while True:
        match = _ITEM.match(text, position)
        if match is None:  # not label=value: skip this word
            word = _WORD.match(text, position)
            if word is None:
                return
            position = word.end()
            continue
        position = match.end()
        label = match[1]
        if label.startswith("'"):
            label = label[1:-1].replace("''", "'")
        datum = _datum(label, match[2])
        if datum is not None:
            yield datum


def _datum(label: str, spec: str) -> PerfDatum | None:
    fields = spec.split(";")
    value = _VALUE.fullmatch(fields[0])
    if value is None:  # "U" (undetermined) or garbage
        return None
    unit = value[2]
    scale = _SCALE.get(unit, 1.0)
    number = float(value[1]) * scale
    if not math.isfinite(number):  # "1e999": no metric store or graph can hold it
        return None
    fields += [""] * (5 - len(fields))
    return PerfDatum(
        label=label,
        value=number,
        unit=_BASE.get(unit, unit),
        warn=_range(fields[1], scale),
        crit=_range(fields[2], scale),
        min=_number(fields[3], scale),
        max=_number(fields[4], scale),
    )


def _range(text: str, scale: float) -> Range | None:
    text = text.strip()
    match = _RANGE.fullmatch(text) if text else None
    if match is None or (match[2] is None and match[3] is None):
        return None
    start = -math.inf if match[2] == "~" else float(match[2] or 0.0) * scale
    end = float(match[3]) * scale if match[3] is not None else math.inf
    return Range(start, end, inside=match[1] == "@")


def _number(text: str, scale: float) -> float | None:
    try:
        number = float(text) * scale
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def as_metrics(perfdata: tuple[PerfDatum, ...]) -> dict[str, float]:
    """``label`` → value; ``label.warn``/``.crit`` → the range's upper end and
    ``.warn_low``/``.crit_low`` → its lower end when finite and not zero; ``.min``, ``.max``.
    Ranges that alert *inside* (``@``) give no threshold metrics (one number cannot say it).
    """
    metrics: dict[str, float] = {}
    for datum in perfdata:
        metrics[datum.label] = datum.value
        for name, limit in (("warn", datum.warn), ("crit", datum.crit)):
            if limit is None or limit.inside:
                continue
            if math.isfinite(limit.end):
                metrics[f"{datum.label}.{name}"] = limit.end
            if math.isfinite(limit.start) and limit.start != 0.0:
                metrics[f"{datum.label}.{name}_low"] = limit.start
        if datum.min is not None:
            metrics[f"{datum.label}.min"] = datum.min
        if datum.max is not None:
            metrics[f"{datum.label}.max"] = datum.max
    return metrics
