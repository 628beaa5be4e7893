"""``expect_json``: values the JSON body must contain, as a TOML table.

Each key is a path into the document: object keys separated by dots, a whole number indexes
an array; a nested TOML table continues the path. The value found there must equal the TOML
value (string, integer, float, boolean or array; ``true`` never equals ``1``)::

    expect_json = { status = "ok", "checks.database" = "up", "nodes.0.healthy" = true }
    # the same as: expect_json = { status = "ok", checks = { database = "up" }, ... }

Keys the table does not name are ignored: the body may hold more.
"""

from __future__ import annotations

import json
from typing import Any

from monitord.config.reader import describe_value

Path = tuple[str, ...]
Expectations = tuple[tuple[Path, Any], ...]
MAX_EXPECTATIONS = 100


def parse(value: object) -> Expectations:
    if not isinstance(value, dict) or not value:
        raise ValueError(f'expected a table of paths and values like {{ status = "ok" }}, '
                         f"got {describe_value(value)}")
    found: list[tuple[Path, Any]] = []
    _flatten(value, (), found)
    if len(found) > MAX_EXPECTATIONS:
        raise ValueError(f"expected at most {MAX_EXPECTATIONS} values, got {len(found)}")
    return tuple(found)


def _flatten(table: dict[str, Any], prefix: Path, found: list[tuple[Path, Any]]) -> None:
    for key, value in table.items():
        path = (*prefix, *key.split("."))
        if any(part == "" for part in path):
            raise ValueError(f'empty step in path "{".".join(path)}"')
        if isinstance(value, dict):
            if not value:
                raise ValueError(f'empty table at "{".".join(path)}"')
            _flatten(value, path, found)
        elif _is_plain(value):
            found.append((path, _freeze(value)))
        else:
            raise ValueError(f'"{".".join(path)}": expected a string, number, boolean or '
                             f"array, got {describe_value(value)}")


def _is_plain(value: object) -> bool:
    if isinstance(value, list):
        return all(_is_plain(item) for item in value)
    return isinstance(value, (str, int, float, bool))


def _freeze(value: Any) -> Any:
    """Arrays become tuples so the spec stays hashable."""
    return tuple(_freeze(v) for v in value) if isinstance(value, list) else value


def problem(text: str, expectations: Expectations) -> str | None:
    """Why the body does not meet the expectations, or None."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        return f"body is not JSON: {exc}"
    except RecursionError:  # hostile nesting
        return "body is not usable JSON: nested too deeply"
    for path, expected in expectations:
        where = ".".join(path)
        found, ok = _walk(document, path)
        if not ok:
            return f'JSON has no "{where}"'
        if not _same(found, expected):
            return (f'JSON "{where}" is {json.dumps(found)[:80]}, expected '
                    f"{json.dumps(expected)[:80]}")
    return None


def _walk(node: Any, path: Path) -> tuple[Any, bool]:
    for step in path:
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            return None, False
    return node, True


def _same(found: Any, expected: Any) -> bool:
    if isinstance(expected, tuple):
        return (isinstance(found, list) and len(found) == len(expected)
                and all(_same(f, e) for f, e in zip(found, expected, strict=True)))
    if isinstance(found, bool) or isinstance(expected, bool):
        return isinstance(found, bool) and isinstance(expected, bool) and found == expected
    if isinstance(expected, (int, float)):
        return isinstance(found, (int, float)) and found == expected
    return isinstance(found, str) and found == expected
