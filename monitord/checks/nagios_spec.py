"""The ``nagios`` kind's keys and their parsing, importable without starting anything.

The check itself (:mod:`monitord.checks.nagios`) is imported when a check is built.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from monitord.checks.kind import CheckKind, Kind, deferred
from monitord.config.reader import Table, describe_value

_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HOST_OPTIONS = ("-H", "--hostname", "--host")


@dataclass(frozen=True, slots=True)
class NagiosSpec:
    command: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    check: str = ""

    @property
    def target(self) -> str:
        """The plugin's ``-H`` host when it names one (the per-host cap applies), else the
        check itself."""
        for index, arg in enumerate(self.command[1:-1], start=1):
            if arg in _HOST_OPTIONS:
                return self.command[index + 1]
        for arg in self.command[1:]:
            for option in _HOST_OPTIONS:
                if arg.startswith(option + ("=" if option.startswith("--") else "")) and \
                        len(arg) > len(option) + 1:
                    return arg[len(option):].lstrip("=")
        return f"nagios:{self.check}"


def _to_command(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        raise ValueError(f"expected an argv array like [\"/usr/lib/nagios/plugins/check_tcp\", "
                         f"\"-H\", \"db1\"], got the string {describe_value(value)}: the "
                         f"command is run without a shell, so it is not split on spaces")
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ValueError(f"expected a non-empty array of strings, got {describe_value(value)}")
    if not value[0]:
        raise ValueError("the program (first element) is empty")
    return tuple(value)


def parse(table: Table) -> NagiosSpec:
    name = table.data.get("name")
    empty: tuple[str, ...] = ()
    if not table.has("command"):
        table.error("command", "required")
    command = table.get("command", _to_command, empty)
    env = table.str_map("env")
    for key in env:
        if not _VARIABLE.fullmatch(key):
            table.error("env", f"{describe_value(key)} is not an environment variable name")
    return NagiosSpec(command=command, env=dict(env), check=name if isinstance(name, str) else "")


KIND: CheckKind = Kind("nagios", parse, deferred("monitord.checks.nagios", "NagiosCheck"))
