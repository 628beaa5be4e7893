"""The ``monitord`` command line: each command is a small function returning an exit status."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from monitord import __version__
from monitord.config.load import Config, load_config
from monitord.config.reader import ConfigInvalid
from monitord.config.schema import CheckConfig

DEFAULT_CONFIG = "/etc/monitord/config.toml"
EXIT_BAD_CONFIG = 2


def config_path(args: argparse.Namespace) -> Path:
    return Path(args.config or os.environ.get("MONITORD_CONFIG") or DEFAULT_CONFIG)


def load_or_report(args: argparse.Namespace) -> Config | None:
    """The config, or None after printing every problem (one a line) to stderr."""
    try:
        return load_config(config_path(args))
    except ConfigInvalid as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(f"{len(exc.errors)} problem(s) found", file=sys.stderr)
        return None


# -- commands ----------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from monitord import eventloop
    from monitord.app import Daemon, StartupError
    from monitord.config.secrets import unreadable_secrets
    from monitord.logs import configure_logging

    config = load_or_report(args)
    if config is None:
        return EXIT_BAD_CONFIG
    problems = unreadable_secrets(config)
    for problem in problems:
        print(f"{config.file}: {problem}", file=sys.stderr)
    if problems:
        return EXIT_BAD_CONFIG
    try:
        eventloop.resolve(config.monitord.event_loop)
    except eventloop.EventLoopUnavailable as exc:
        print(f"{config.file}: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    configure_logging(config.monitord.log_format, config.monitord.log_level)
    try:
        eventloop.run(Daemon(config, config_path=config_path(args)).run(),
                      config.monitord.event_loop)
    except StartupError as exc:  # e.g. the API or trap port cannot be bound
        print(f"monitord: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0


def summary_lines(config: Config) -> list[str]:
    """One line per section, for ``check-config``."""
    by_type = Counter(c.type for c in config.checks)
    types = ", ".join(f"{n} {t}" for t, n in sorted(by_type.items()))
    local = len(config.local_checks())
    return [
        f"monitord: location {config.monitord.location}, state in {config.monitord.state_dir}",
        f"checks: {len(config.checks)} ({types or 'none'}); {local} run at this location",
        config.expansion.describe(),
        f"api: {config.api.listen or 'disabled'}",
        "receivers: " + (", ".join(f"{r.name} ({r.type})" for r in config.receivers) or "none")
        + (f"; smtp {config.smtp.host}:{config.smtp.port} ({config.smtp.tls})"
           if config.smtp else ""),
        f"routes: {len(config.routes)}, time intervals: {len(config.time_intervals)}, "
        f"maintenance windows: {len(config.maintenance)}",
        f"snmp traps: {config.snmp_traps.listen}" if config.snmp_traps else "snmp traps: off",
    ]


def cmd_check_config(args: argparse.Namespace) -> int:
    config = load_or_report(args)
    if config is None:
        return EXIT_BAD_CONFIG
    print(f"{config.file}: valid")
    for line in summary_lines(config):
        print(f"  {line}")
    return 0


def select_checks(config: Config, names: Sequence[str]) -> tuple[list[CheckConfig], list[str]]:
    """Checks named exactly, or every check whose name starts with ``NAME:`` (a family)."""
    if not names:
        return list(config.local_checks()), []
    chosen: list[CheckConfig] = []
    unknown = []
    for name in names:
        family = [c for c in config.checks
                  if c.name == name or c.name.startswith((name + ":", name + "/"))]
        if not family:
            unknown.append(name)
        chosen += [c for c in family if c not in chosen]
    return chosen, unknown


def cmd_probe(args: argparse.Namespace) -> int:
    from monitord.probe import probe_once

    config = load_or_report(args)
    if config is None:
        return 3
    checks, unknown = select_checks(config, args.check or [])
    for name in unknown:
        print(f"monitord probe: no check named {name!r}", file=sys.stderr)
    if unknown:
        return 3
    results = asyncio.run(probe_once(config, checks))
    for result in results:
        if args.json:
            print(json.dumps(result.to_json(), sort_keys=False))
        else:
            phase = f" [{result.phase.value}]" if result.phase else ""
            print(f"{result.status.name:<8} {result.check} ({result.type}, {result.location})"
                  f"{phase}: {result.summary} ({result.duration * 1000:.0f} ms)")
    from monitord.model import Status

    return int(Status.worst([r.status for r in results])) if results else 0


def cmd_routes(args: argparse.Namespace) -> int:
    from monitord.route.explain import cmd_routes as explain_routes

    config = load_or_report(args)
    if config is None:
        return EXIT_BAD_CONFIG
    status, text = explain_routes(config, args.at, args.label or [], args.check)
    if status:
        print(f"monitord routes: {text.rstrip()}", file=sys.stderr)
    else:
        print(text, end="")
    return status


def cmd_test_notify(args: argparse.Namespace) -> int:
    from monitord.notify.testsend import test_notify

    config = load_or_report(args)
    if config is None:
        return EXIT_BAD_CONFIG
    status, text = asyncio.run(test_notify(config, args.receiver))
    print(f"monitord test-notify: {text}", file=sys.stderr if status else sys.stdout)
    return status


def cmd_demo(args: argparse.Namespace) -> int:
    from monitord.demo import run_demo

    state_dir = Path(args.state_dir).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(run_demo(state_dir))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="monitord", description="Monitoring and alerting daemon.")
    parser.add_argument("--version", action="version", version=f"monitord {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("-c", "--config", help=f"config file (default $MONITORD_CONFIG, else "
                                              f"{DEFAULT_CONFIG})")
        return p

    command("run", "run the daemon in the foreground").set_defaults(func=cmd_run)
    command("check-config", "validate the config and summarise it").set_defaults(
        func=cmd_check_config)
    probe = command("probe", "run checks once, now, and print each result (no alerting)")
    probe.add_argument("--check", action="append", metavar="NAME",
                       help="a check (or a family like dns:example.fr); repeatable")
    probe.add_argument("--json", action="store_true", help="one JSON object a line")
    probe.set_defaults(func=cmd_probe)
    routes = command("routes", "explain which routes and receivers get an alert at an instant")
    routes.add_argument("--at", required=True, metavar="TIME",
                        help="ISO 8601 with an offset, e.g. 2026-03-30T22:00:00+02:00")
    routes.add_argument("--label", action="append", metavar="K=V",
                        help="a label of the alert; repeatable")
    routes.add_argument("--check", metavar="NAME",
                        help="use that check's labels (--label adds to or overrides them)")
    routes.set_defaults(func=cmd_routes)
    test_notify = command("test-notify", "send a clearly marked test notification through a "
                                         "receiver, for real")
    test_notify.add_argument("--receiver", required=True, metavar="NAME")
    test_notify.set_defaults(func=cmd_test_notify)
    demo = sub.add_parser("demo", help="run the daemon on loopback targets it starts itself",
                          description="Start a failing-and-recovering web shop, a TCP service "
                          "and a notification sink on loopback, and monitor them.")
    demo.add_argument("--state-dir", default="state/demo",
                      help="where the demo keeps its config and state (default: state/demo)")
    demo.set_defaults(func=cmd_demo)
    from monitord.client import add_parsers

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("-c", "--config", help="config file (for the API address and token)")
        p.set_defaults(func=_client)
        return p

    add_parsers(sub, with_config)
    return parser


def _client(args: argparse.Namespace) -> int:
    status: int = args.client(args, config_path(args))
    return status


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":
    raise SystemExit(main())
