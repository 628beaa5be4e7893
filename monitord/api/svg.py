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
             f'height="{height}" preserveAspectRatio="none" role="img" '
             'aria-label="status over time">']
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


def _coarse(slots: Sequence[HistoryBucket], points: int,
            ) -> list[tuple[int, float, Sequence[float]]]:
    """(count, mean ms, phase means) per group of adjacent slots, count-weighted."""
    k = max(1, -(-len(slots) // points))
    if k == 1:
        return [(b.count, b.mean_ms, b.phases) for b in slots]
    out: list[tuple[int, float, Sequence[float]]] = []
    for i in range(0, len(slots), k):
        count = total = 0.0
        sums: list[float] = []
        for b in slots[i:i + k]:
            if not b.count:
                continue
            count += b.count
            total += b.mean_ms * b.count
            if len(sums) < len(b.phases):
                sums.extend([0.0] * (len(b.phases) - len(sums)))
            for p, v in enumerate(b.phases):
                sums[p] += v * b.count
        out.append((int(count), total / count if count else 0.0,
                    [v / count for v in sums] if count else ()))
    return out


def sparkline(slots: Sequence[HistoryBucket], phases: Sequence[str], width: int = 160,
              height: int = 28, points: int = 24, titles: bool = True) -> str:
    """Mean response time (the line) over ``points`` steps, the phases the check measures
    stacked beneath it (each phase's title when ``titles``). Integer coordinates keep a
    2,000-check page small; so does drawing each phase as one area down to the baseline,
    the tallest first, each opaque in a group made translucent as a whole (``.ph``): every
    area is its upper edge only, and the bands look as if stacked translucent bands."""
    series = _coarse(slots, points)
    counted = [c for c in series if c[0]]
    if len(counted) < 2:  # one point draws no line
        return (f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" '
                f'height="{height}"></svg>')
    top = max(mean for _, mean, _ in counted) or 1.0
    n = len(series)
    step = width / max(n - 1, 1)

    scale = (height - 2) / top

    def y(value: float) -> int:
        return round(height - 1 - scale * (value if value < top else top))

    xs = [round(i * step) for i in range(n)]
    areas = []
    upper = [0.0] * n
    corners = f"{xs[-1]},{height - 1} 0,{height - 1}"
    for p, name in enumerate(phases[:len(PHASE_CLASS)]):
        values = [c[2][p] if c[0] and p < len(c[2]) else 0.0 for c in series]
        if not any(values):
            continue
        upper = [upper[i] + values[i] for i in range(n)]
        edge = " ".join(f"{xs[i]},{y(upper[i])}" for i in range(n))
        title = f"<title>{escape(name)}</title>" if titles else ""
        areas.append(f'<polygon class="{PHASE_CLASS[p]}" points="{edge} {corners}">'
                     f"{title}</polygon>")
    line = " ".join(f"{xs[i]},{y(c[1])}" for i, c in enumerate(series) if c[0])
    return (f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" preserveAspectRatio="none" role="img" '
            f'aria-label="response time, peak {top:.0f} ms">'
            f"<title>response time: peak mean {top:.0f} ms</title>"
            + (f'<g class="ph">{"".join(reversed(areas))}</g>' if areas else "")
            + f'<polyline class="total" points="{line}"/></svg>')


def dot(status: Status | None, title: str) -> str:
    return (f'<svg class="dot" width="12" height="12" role="img"><title>{escape(title)}</title>'
            f'<circle class="{status_class(status)}" cx="6" cy="6" r="5"/></svg>')
