"""TOML file -> validated, frozen :class:`Config`, with every error reported at once."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitord.checks.domains import Expansion, expand_domains
from monitord.checks.registry import KINDS
from monitord.config.agents import AgentConfig, agent_check, parse_agents, resolve_silent_after
from monitord.config.alerting import AlertingConfig
from monitord.config.lines import LineIndex, Place
from monitord.config.reader import ConfigError, ConfigInvalid, Problems, Table
from monitord.config.schema import (
    COMMON_CHECK_KEYS,
    ApiSection,
    CheckConfig,
    MonitordSection,
    parse_api,
    parse_check,
    parse_monitord,
)
from monitord.notify.config import ReceiverConfig, SmtpSection, parse_receivers, parse_smtp
from monitord.route.config import check_receiver_references, parse_routing
from monitord.route.maintenance import Maintenance
from monitord.route.routes import Route
from monitord.route.timeintervals import TimeInterval
from monitord.snmp.trap_config import SnmpTrapsConfig, parse_snmp_traps

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

_AT_LINE = re.compile(r"\s*\(at line (\d+), column \d+\)$")


@dataclass(frozen=True)
class Config:
    file: Path
    monitord: MonitordSection
    api: ApiSection
    checks: tuple[CheckConfig, ...]
    smtp: SmtpSection | None = None
    receivers: tuple[ReceiverConfig, ...] = ()
    alerting: AlertingConfig = field(default_factory=AlertingConfig)
    time_intervals: Mapping[str, TimeInterval] = field(default_factory=dict)
    routes: tuple[Route, ...] = ()
    maintenance: tuple[Maintenance, ...] = ()
    expansion: Expansion = field(default_factory=Expansion)  # from [[domain]] blocks
    snmp_traps: SnmpTrapsConfig | None = None  # no [snmp_traps]: no trap receiver
    agents: tuple[AgentConfig, ...] = ()  # [[agent]]: remote locations posting results

    def check(self, name: str) -> CheckConfig:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)

    def local_checks(self) -> tuple[CheckConfig, ...]:
        """The enabled checks this instance runs itself."""
        here = self.monitord.location
        return tuple(c for c in self.checks if c.enabled and here in c.locations)

    def qualified_checks(self) -> tuple[CheckConfig, ...]:
        """What the central daemon qualifies: every check, plus one ``agent:LOCATION``
        check per ``[[agent]]`` (its silence)."""
        here = self.monitord.location
        return self.checks + tuple(agent_check(a, here) for a in self.agents)

    def assignment(self, location: str) -> tuple[CheckConfig, ...]:
        """The enabled checks an agent at ``location`` runs."""
        return tuple(c for c in self.checks if c.enabled and location in c.locations)


def load_config(path: str | Path) -> Config:
    """Read and validate ``path``; raises :class:`ConfigInvalid` listing every problem."""
    path = Path(path)
    problems = Problems(str(path))
    try:
        source = path.read_text(encoding="utf-8")
        raw = tomllib.loads(source)
    except OSError as exc:
        problems.add("", f"cannot read the file: {exc.strerror or exc}")
        raise ConfigInvalid(problems.errors) from None
    except UnicodeDecodeError as exc:
        problems.add("", f"not UTF-8 text: {exc}")
        raise ConfigInvalid(problems.errors) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigInvalid([_syntax_error(path, exc)]) from None
    except RecursionError:  # tomllib recurses once per level of nesting
        problems.add("", "invalid TOML: arrays or tables nested too deeply")
        raise ConfigInvalid(problems.errors) from None
    if not raw:
        problems.add("", "the file is empty: it needs at least a [[check]] or a [monitord] "
                         "section (see config.example.toml)")
        raise ConfigInvalid(problems.errors)
    problems.lines = LineIndex(source)
    config = parse_config(raw, path, problems)
    if problems:
        raise ConfigInvalid(problems.errors)
    return config


def _syntax_error(path: Path, exc: ValueError) -> ConfigError:
    """``FILE:LINE: invalid TOML: …``, the line moved from the parser's message to the front."""
    message = str(exc)
    where = _AT_LINE.search(message)
    if where is None:
        return ConfigError(str(path), "", f"invalid TOML: {message}")
    return ConfigError(str(path), "", f"invalid TOML: {message[:where.start()]}",
                       int(where.group(1)))


def parse_config(raw: Mapping[str, Any], path: Path, problems: Problems) -> Config:
    root = Table(problems, "", raw)
    monitord = parse_monitord(root.table("monitord"), path.parent.resolve())
    api = parse_api(root.table("api"))
    defaults = _defaults(root, problems)
    checks: list[CheckConfig] = []
    # Where each check was written, for error messages: its path, its position (a name may
    # be used twice) and its place in the file (for line numbers).
    written: list[tuple[str, str, Place | None]] = []
    for index, table in root.tables("check"):
        table.inherited = defaults
        check = parse_check(table, monitord.location, KINDS)
        if check is not None:
            checks.append(check)
            written.append((table.path, f"check[{index + 1}]", table.place))
    expansion = expand_domains(root, defaults, monitord.location, KINDS)
    checks += expansion.checks  # before the name and depends_on checks: they may refer to them
    written += [(f'domain check "{c.name}"',) * 2 + (None,) for c in expansion.checks]
    _check_names_and_dependencies(checks, written, problems)
    smtp = parse_smtp(root.table("smtp"))
    receivers = parse_receivers(root, smtp)
    routing = parse_routing(root, monitord.timezone)
    check_receiver_references(routing.alerting, routing.routes, [r.name for r in receivers],
                              problems)
    snmp_traps = parse_snmp_traps(root.table("snmp_traps"))
    agents = resolve_silent_after(parse_agents(root, monitord.location), checks)
    root.finish()
    return Config(file=path, monitord=monitord, api=api, checks=tuple(checks), smtp=smtp,
                  receivers=receivers, alerting=routing.alerting,
                  time_intervals=routing.time_intervals, routes=routing.routes,
                  maintenance=routing.maintenance, expansion=expansion,
                  snmp_traps=snmp_traps, agents=agents)


def _defaults(root: Table, problems: Problems) -> Mapping[str, Any]:
    """``[defaults]``: any key that some check kind (or every check) knows."""
    table = root.table("defaults")
    if table is None:
        return {}
    if "name" in table.data or "type" in table.data:
        table.error("name" if "name" in table.data else "type",
                    "cannot be a default: each check sets its own")
    known: set[str] = set()
    if set(table.data) - set(COMMON_CHECK_KEYS):
        # Learn the kinds' keys by letting each read the table: kinds are declared by light
        # spec modules (no network library), so this costs milliseconds.
        scratch = Problems("")
        for kind in KINDS.values():
            probe = Table(scratch, "", table.data)
            kind.parse(probe)
            known |= _keys_read(probe)
    table.finish(extra_known=sorted((known | set(COMMON_CHECK_KEYS)) - {"name", "type"}))
    return dict(table.data)


def _keys_read(table: Table) -> set[str]:
    return set(table._read)


def _check_names_and_dependencies(checks: list[CheckConfig],
                                  written: list[tuple[str, str, Place | None]],
                                  problems: Problems) -> None:
    seen: dict[str, str] = {}
    for (path, position, place), check in zip(written, checks):
        if check.name in seen:
            # both share the name: the position tells them apart
            problems.add(path if path == position else f'{position} "{check.name}"',
                         f"name: duplicate check name (first used by {seen[check.name]})",
                         (*place, "name") if place else None)
        else:
            seen[check.name] = position
    by_name = {c.name: c for c in checks}
    for (path, _, place), check in zip(written, checks):
        where = (*place, "depends_on") if place else None
        for parent in check.depends_on:
            if parent not in by_name:
                problems.add(path, f'depends_on: no check named "{parent}"', where)
            elif parent == check.name:
                problems.add(path, "depends_on: a check cannot depend on itself", where)
    for cycle in _cycles(by_name):
        problems.add("check", "depends_on: dependency cycle " + " -> ".join(cycle))


def _cycles(by_name: Mapping[str, CheckConfig]) -> list[list[str]]:
    """Each dependency cycle once, as a path that returns to its start."""
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(by_name, white)
    found: list[list[str]] = []
    stack: list[str] = []

    def visit(name: str) -> None:
        color[name] = grey
        stack.append(name)
        for parent in by_name[name].depends_on:
            if parent not in by_name or parent == name:
                continue
            if color[parent] == grey:
                found.append([*stack[stack.index(parent):], parent])
            elif color[parent] == white:
                visit(parent)
        stack.pop()
        color[name] = black

    for name in by_name:
        if color[name] == white:
            visit(name)
    return found
