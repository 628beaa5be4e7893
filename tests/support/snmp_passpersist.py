"""An snmpd ``pass_persist`` helper that serves OIDs from a JSON file the tests rewrite.

snmpd starts it once per registered subtree (``pass_persist OID python this.py FILE``) and
talks to it over stdin/stdout: ``PING`` → ``PONG``; ``get``/``getnext`` + OID → OID, type,
value or ``NONE``. The file maps ``".1.3.6…"`` to ``[type, value]`` and is re-read whenever it
changes, so a test changes the device (an interface goes down, a counter moves, the uptime
goes back) by writing the file.
"""

from __future__ import annotations

import json
import os
import sys


def _key(oid: str) -> tuple[int, ...]:
    return tuple(int(part) for part in oid.strip(".").split(".") if part)


class Table:
    def __init__(self, path: str, base: str) -> None:
        self.path = path
        self.base = _key(base)
        self.stamp: tuple[int, int, int] | None = None
        self.keys: list[tuple[int, ...]] = []
        self.values: dict[tuple[int, ...], tuple[str, str]] = {}

    def refresh(self) -> None:
        stat = os.stat(self.path)
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if stamp == self.stamp:
            return
        with open(self.path, encoding="utf-8") as handle:
            data = json.load(handle)
        values = {}
        for oid, (kind, value) in data.items():
            key = _key(oid)
            if key[: len(self.base)] == self.base:
                values[key] = (str(kind), str(value))
        self.values = values
        self.keys = sorted(values)
        self.stamp = stamp

    def get(self, oid: str) -> tuple[tuple[int, ...], tuple[str, str]] | None:
        key = _key(oid)
        found = self.values.get(key)
        return (key, found) if found else None

    def getnext(self, oid: str) -> tuple[tuple[int, ...], tuple[str, str]] | None:
        key = _key(oid)
        for candidate in self.keys:  # small tables: a linear scan is plenty
            if candidate > key:
                return candidate, self.values[candidate]
        return None


def main() -> None:
    table = Table(sys.argv[1], sys.argv[2])
    out = sys.stdout
    for line in sys.stdin:
        command = line.strip()
        if command == "PING":
            out.write("PONG\n")
        elif command in ("get", "getnext"):
            oid = sys.stdin.readline().strip()
            table.refresh()
            found = table.get(oid) if command == "get" else table.getnext(oid)
            if found is None:
                out.write("NONE\n")
            else:
                key, (kind, value) = found
                out.write("." + ".".join(map(str, key)) + f"\n{kind}\n{value}\n")
        elif command == "set":
            sys.stdin.readline()
            sys.stdin.readline()
            out.write("not-writable\n")
        elif not command:
            break
        out.flush()


if __name__ == "__main__":
    main()
