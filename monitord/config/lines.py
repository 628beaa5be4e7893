"""Where a table or key was written: a light scan of the TOML source for line numbers.

``tomllib`` gives no positions for values, so error messages find their line here: one pass
over the text notes the line of every table header (``[api]``, ``[[check]]``,
``[domain.dns_authority]``) and of every ``key =`` written under it. A place is a tuple of
keys and array indices as the parsed data nests them: ``("check", 2, "timeout")`` is the
``timeout`` of the third ``[[check]]``.

The scan is deliberately simple: it skips the bodies of multi-line strings, and knows keys
written at the start of a line (plain, quoted or dotted). Keys inside inline tables, or
written in ways it does not follow, have no line: the caller then falls back to the line of
the enclosing key or table, or omits the number rather than guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

Place = tuple[str | int, ...]

_KEY_PART = r'(?:[A-Za-z0-9_-]+|"[^"\\]*"|\'[^\']*\')'
_HEADER = re.compile(rf"\s*(\[\[?)\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(rf"\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=")
_PART = re.compile(_KEY_PART)


def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(p.strip("\"'") for p in _PART.findall(dotted))


def scan(source: str) -> Mapping[Place, int]:
    """Place -> 1-based line number of every header and key the scan recognises."""
    lines: dict[Place, int] = {}
    arrays: dict[Place, int] = {}  # array-of-tables place -> how many elements so far
    current: Place = ()
    in_string: str | None = None  # the delimiter of a multi-line string being skipped
    for number, text in enumerate(source.splitlines(), start=1):
        if in_string is not None:
            if text.count(in_string) % 2 == 1:
                in_string = None
            continue
        header = _HEADER.match(text)
        if header:
            parts = _parts(header.group(2))
            parent = _resolve(parts[:-1], arrays)
            place = (*parent, parts[-1])
            if header.group(1) == "[[":
                arrays[place] = arrays.get(place, 0) + 1
                place = (*place, arrays[place] - 1)
            current = place
            lines.setdefault(current, number)
            continue
        key = _KEY.match(text)
        if key:
            lines.setdefault((*current, *_parts(key.group(1))), number)
        for delimiter in ('"""', "'''"):
            if text.count(delimiter) % 2 == 1:
                in_string = delimiter
                break
    return lines


def _resolve(parts: tuple[str, ...], arrays: Mapping[Place, int]) -> Place:
    """A header's parent path, with the current element of each array of tables in it."""
    place: Place = ()
    for part in parts:
        place = (*place, part)
        if place in arrays:
            place = (*place, arrays[place] - 1)
    return place


class LineIndex:
    """Finds the line of a place, or of the nearest enclosing place the scan saw."""

    def __init__(self, source: str) -> None:
        self._lines = scan(source)

    def line(self, place: Place) -> int | None:
        while place:
            found = self._lines.get(place)
            if found is not None:
                return found
            place = place[:-1]
        return None
