"""Inline SVG drawn on the server: status bars, response-time sparklines, location dots.

Colours come from CSS classes (``s-ok``, ``s-warn``, ``s-crit``, ``s-unk``, ``s-none``) so
the page's light and dark themes both apply. Runs of equal slots are drawn as one rectangle
and numbers are rounded, which keeps a 2,000-check page small.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from monitord.api import timefmt
from monitord.api.views import HistoryBucket
from monitord.model import Status

CLASS = {Status.OK: "s-ok", Status.WARNING: "s-warn", Status.CRITICAL: "s-crit",
         Status.UNKNOWN: "s-unk"}
PHASE_CLASS = ("p0", "p1", "p2", "p3")


def status_class(status: Status | None) -> str:
    return CLASS[status] if status is not None else "s-none"


def _slot_class(bucket: HistoryBucket) -> str:
    if not bucket.count:
        return "s-none"
    return CLASS[bucket.worst]


def _percent(value: float | None) -> str:
    return "no data" if value is None else f"{value * 100:.2f}%"


def status_bar(slots: Sequence[HistoryBucket], width: int = 240, height: int = 18,
               detail: bool = False) -> str:
    """One rectangle per run of equal slots (``detail``: one per slot, each with a title)."""
    if not slots:
        return ""
    step = width / len(slots)
    parts = [f'<svg class="bar" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="status over time">']
    i = 0
    while i < len(slots):
        cls = _slot_class(slots[i])
        j = i + 1
        if not detail:
            while j < len(slots) and _slot_class(slots[j]) == cls:
                j += 1
        x = round(i * step, 1)
        w = round((j - i) * step - (1 if detail and step > 3 else 0), 1)
        title = ""
        if detail:
            b = slots[i]
            avail = _percent((b.count - b.failures) / b.count if b.count else None)
            title = (f"<title>{timefmt.display(b.start)}: "
                     f"{b.worst.name if b.count else 'no result'}, {b.count} results, "
                     f"{avail} up, mean {b.mean_ms:.0f} ms</title>")
        parts.append(f'<rect class="{cls}" x="{x}" y="0" width="{w}" height="{height}" '
                     f'rx="1">{title}</rect>')
        i = j
    parts.append("</svg>")
    return "".join(parts)


def sparkline(slots: Sequence[HistoryBucket], phases: Sequence[str], width: int = 160,
              height: int = 28) -> str:
    """Mean response time per slot, stacked by phase where the check measures phases."""
    counted = [b for b in slots if b.count]
    if not counted:
        return f'<svg class="spark" width="{width}" height="{height}"></svg>'
    top = max(b.mean_ms for b in counted) or 1.0
    n = len(slots)
    step = width / max(n - 1, 1)

    def y(value: float) -> float:
        return round(height - 1 - (height - 2) * min(value, top) / top, 1)

    xs = [round(i * step, 1) for i in range(n)]
    parts = [f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="response time, peak {top:.0f} ms">'
             f"<title>response time: peak mean {top:.0f} ms</title>"]
    has_phases = any(any(b.phases) for b in counted)
    if has_phases:
        base = [0.0] * n
        for p, name in enumerate(phases[:len(PHASE_CLASS)]):
            values = [b.phases[p] if b.count and p < len(b.phases) else 0.0 for b in slots]
            if not any(values):
                continue
            upper = [base[i] + values[i] for i in range(n)]
            points = " ".join(f"{xs[i]},{y(upper[i])}" for i in range(n))
            back = " ".join(f"{xs[i]},{y(base[i])}" for i in reversed(range(n)))
            parts.append(f'<polygon class="{PHASE_CLASS[p]}" points="{points} {back}">'
                         f"<title>{escape(name)}</title></polygon>")
            base = upper
    line = " ".join(f"{xs[i]},{y(b.mean_ms)}" for i, b in enumerate(slots) if b.count)
    parts.append(f'<polyline class="total" points="{line}"/></svg>')
    return "".join(parts)


def dot(status: Status | None, title: str) -> str:
    return (f'<svg class="dot" width="12" height="12" role="img" aria-label="{escape(title)}">'
            f'<title>{escape(title)}</title>'
            f'<circle class="{status_class(status)}" cx="6" cy="6" r="5"/></svg>')
