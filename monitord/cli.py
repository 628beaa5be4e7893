"""The ``monitord`` command line: each command is a small function returning an exit status.

Start-up matters (an operator types these at 3 a.m.): this module imports only argparse, and
each command imports what it needs when it runs — the config reader, the daemon, aiohttp.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from monitord import __version__

if TYPE_CHECKING:
    from monitord.config.schema import CheckConfig
    from monitord.configfile import Config

DEFAULT_CONFIG = "/etc/monitord/config.toml"
EXIT_BAD_CONFIG = EXIT_BAD_INPUT = 2
LOG_LEVELS = ("debug", "info", "warning", "error")

# The exit statuses each command documents in its --help (and the README's command table).
EXITS = {
    "run": "0 clean stop (SIGTERM, SIGINT), 1 cannot start (a port cannot be bound), "
           "2 bad config or unreadable secret",
    "check-config": "0 valid, 2 invalid (every problem listed, one a line); a file with a "
                    "[central] table is validated as a probe agent's (monitord agent)",
    "probe": "the worst status, Nagios style: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; "
             "2 on a bad config or an unknown --check",
    "routes": "0, 2 on bad input (config, --at, --label, --check)",
    "test-notify": "0 delivered, 1 failed (reason printed), 2 bad config or unknown receiver",
    "agent": "0 clean stop (SIGTERM, SIGINT), 1 cannot start, 2 bad config or unreadable "
             "token",
    "demo": "0",
}
RUN_NOTES = """\
signals:
  SIGHUP    reload the config: validated first; if invalid, the errors are logged
            (reload_rejected) and the old config keeps running
  SIGTERM, SIGINT
            stop within 5 s

exit status:
  """


def config_path(args: argparse.Namespace) -> Path:
    return Path(args.config or os.environ.get("MONITORD_CONFIG") or DEFAULT_CONFIG)


def load_or_report(args: argparse.Namespace) -> Config | None:
    """The config, or None after printing every problem (one a line) to stderr."""
    from monitord.config.reader import ConfigInvalid
    from monitord.configfile import load_config

    try:
        return load_config(config_path(args))
    except ConfigInvalid as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(f"{len(exc.errors)} problem(s) found", file=sys.stderr)
        return None


# -- commands ----------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    """Exit 2 for bad input (config, secrets, state database), 1 for the environment (a port
    in use) or an unexpected error; each failure is one line on stderr, never a traceback."""
    from monitord import eventloop
    from monitord.app import Daemon, StartupError
    from monitord.config.reader import ConfigInvalid
    from monitord.config.secrets import redact_url, unreadable_secrets
    from monitord.logs import configure_logging
    from monitord.store import StoreUnusable

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
    configure_logging(config.monitord.log_format, args.log_level or config.monitord.log_level,
                      scrub=redact_url)
    try:
        eventloop.run(Daemon(config, config_path=config_path(args), log_level=args.log_level).run(),
                      config.monitord.event_loop)
    except (StoreUnusable, ConfigInvalid) as exc:
        print(f"monitord: cannot start: {_one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    except StartupError as exc:  # e.g. the API or trap port cannot be bound
        print(f"monitord: cannot start: {_one_line(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: still one line, the daemon's log has the details
        print(f"monitord: stopped: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return 1
    return 0


def _one_line(error: BaseException) -> str:
    from monitord.config.secrets import redact_url

    while getattr(error, "exceptions", None):  # an exception group: its first member
        error = error.exceptions[0]  # type: ignore[attr-defined]
    return redact_url(" ".join(str(error).split()))


def cmd_agent(args: argparse.Namespace) -> int:
    from monitord.agent.process import run_agent

    return run_agent(config_path(args), log_level=args.log_level)


def summary_lines(config: Config) -> list[str]:
    """One line per section, for ``check-config``."""
    from collections import Counter

    by_type = Counter(c.type for c in config.checks)
    types = ", ".join(f"{n} {t}" for t, n in sorted(by_type.items()))
    local = len(config.local_checks())
    return [
        f"monitord: location {config.monitord.location}, state in {config.monitord.state_dir}",
        f"checks: {len(config.checks)} ({types or 'none'}); {local} run at this location",
        config.expansion.describe() if config.expansion.domains else "domains: none",
        f"api: {config.api.listen or 'disabled'}"
        + (" (https)" if config.api.tls_cert_file else ""),
        "agents: " + (", ".join(f"{a.location} ({len(config.assignment(a.location))} checks)"
                                for a in config.agents) or "none"),
        "receivers: " + (", ".join(f"{r.name} ({r.type})" for r in config.receivers) or "none")
        + (f"; smtp {config.smtp.host}:{config.smtp.port} ({config.smtp.tls})"
           if config.smtp else ""),
        f"routes: {len(config.routes)}, time intervals: {len(config.time_intervals)}, "
        f"maintenance windows: {len(config.maintenance)}",
        f"snmp traps: {config.snmp_traps.listen}" if config.snmp_traps else "snmp traps: off",
    ]


def cmd_check_config(args: argparse.Namespace) -> int:
    if _is_agent_file(config_path(args)):
        return _check_agent_config(config_path(args))
    config = load_or_report(args)
    if config is None:
        return EXIT_BAD_CONFIG
    print(f"{config.file}: valid")
    for line in summary_lines(config):
        print(f"  {line}")
    return 0


def _is_agent_file(path: Path) -> bool:
    """An agent's file has a ``[central]`` table, which a daemon's file never has."""
    try:
        head = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False  # the daemon's loader reports it
    return any(line.strip().startswith("[central]") for line in head.splitlines())


def _check_agent_config(path: Path) -> int:
    from monitord.agent.config import load_agent_config, summary_lines
    from monitord.config.reader import ConfigInvalid

    try:
        config = load_agent_config(path)
    except ConfigInvalid as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(f"{len(exc.errors)} problem(s) found", file=sys.stderr)
        return EXIT_BAD_CONFIG
    print(f"{path}: valid (a probe agent's file)")
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
    import asyncio
    import json

    from monitord.model import Status
    from monitord.probe import probe_once

    config = load_or_report(args)
    if config is None:
        return EXIT_BAD_INPUT
    checks, unknown = select_checks(config, args.check or [])
    for name in unknown:
        print(f'monitord probe: --check: no check named "{name}" in {config.file}',
              file=sys.stderr)
    if unknown:
        return EXIT_BAD_INPUT
    if args.explain:  # the check, then its evidence and what changed
        from monitord.explain import explain

        explained = asyncio.run(explain(config, checks))
        for item in explained:
            print(json.dumps(item.to_json()) if args.json else item.text())
        outcomes = [item.result for item in explained]
        return int(Status.worst([r.status for r in outcomes])) if outcomes else 0
    results = asyncio.run(probe_once(config, checks))
    for result in results:
        if args.json:
            print(json.dumps(result.to_json(), sort_keys=False))
        else:
            phase = f" [{result.phase.value}]" if result.phase else ""
            print(f"{result.status.name:<8} {result.check} ({result.type}, {result.location})"
                  f"{phase}: {result.summary}")
    return int(Status.worst([r.status for r in results])) if results else 0


def cmd_routes(args: argparse.Namespace) -> int:
    from monitord.route.explain import cmd_routes as explain_routes

    config = load_or_report(args)
    if config is None:
        return EXIT_BAD_CONFIG
    at = args.at
    if at.strip().lower() == "now":  # what happens to an alert right now
        from datetime import datetime

        at = datetime.now().astimezone().isoformat(timespec="seconds")
    status, text = explain_routes(config, at, args.label or [], args.check, as_json=args.json)
    if status:
        print(f"monitord routes: {text.rstrip()}", file=sys.stderr)
    else:
        print(text, end="")
    return status


def cmd_test_notify(args: argparse.Namespace) -> int:
    import asyncio

    from monitord.notify.testsend import test_notify

    config = load_or_report(args)
    if config is None:
        return EXIT_BAD_CONFIG
    status, text = asyncio.run(test_notify(config, args.receiver))
    print(f"monitord test-notify: {text}", file=sys.stderr if status else sys.stdout)
    return status


def cmd_demo(args: argparse.Namespace) -> int:
    import asyncio

    from monitord.demo import run_demo

    state_dir = Path(args.state_dir).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(run_demo(state_dir))
    return 0


def add_log_level(parser: argparse.ArgumentParser) -> None:
    """``--log-level``, for the commands that run for long (``run``, ``agent``)."""
    parser.add_argument("--log-level", choices=LOG_LEVELS, metavar="LEVEL",
                        help="debug, info, warning or error; overrides [monitord] log_level "
                             "(also after a reload)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="monitord", description="Monitoring and alerting daemon.",
        epilog="Run 'monitord COMMAND --help' for a command's options and exit statuses.")
    parser.add_argument("--version", action="version", version=f"monitord {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, notes: str = "") -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:]
                           + ".", epilog=notes or f"exit status: {EXITS[name]}",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("-c", "--config", metavar="FILE",
                       help=f"config file (default $MONITORD_CONFIG, else {DEFAULT_CONFIG})")
        return p

    run = command("run", "run the daemon in the foreground (systemd Type=notify)",
                  RUN_NOTES + EXITS["run"])
    add_log_level(run)
    run.set_defaults(func=cmd_run)
    command("check-config", "validate the config and print one summary line per section"
            ).set_defaults(func=cmd_check_config)
    agent = command("agent", "a probe agent: run the central daemon's checks for this "
                             "location and post the results (SIGHUP reloads its file)")
    add_log_level(agent)
    agent.set_defaults(func=cmd_agent)
    probe = command("probe", "run checks once, now, and print each result (no alerting)")
    probe.add_argument("--check", action="append", metavar="NAME",
                       help="a check, or a family like dns:example.fr; repeatable "
                            "(default: every check of this location)")
    probe.add_argument("--json", action="store_true",
                       help="one JSON object a line: check, type, location, status, phase, "
                            "summary, duration_ms, metrics, at")
    probe.add_argument("--explain", action="store_true",
                       help="also run the evidence probes and say what changed since the "
                            "last OK result the daemon saw")
    probe.set_defaults(func=cmd_probe)
    routes = command("routes", "explain which routes and receivers get an alert at an instant")
    routes.add_argument("--at", required=True, metavar="TIME",
                        help="ISO 8601 with an offset, e.g. 2026-03-30T22:00:00+02:00, "
                             "or 'now'")
    routes.add_argument("--label", action="append", metavar="K=V",
                        help="a label of the alert; repeatable. Without --label and --check: "
                             "an alert with no labels, which shows the default route")
    routes.add_argument("--check", metavar="NAME",
                        help="use that check's labels (--label adds to or overrides them)")
    routes.add_argument("--json", action="store_true",
                        help="the decision as one JSON object (routes, receivers, held)")
    routes.set_defaults(func=cmd_routes)
    test_notify = command("test-notify", "send a clearly marked test notification through a "
                                         "receiver, for real")
    test_notify.add_argument("--receiver", required=True, metavar="NAME",
                             help="a [[receiver]] name of the config")
    test_notify.set_defaults(func=cmd_test_notify)
    demo = sub.add_parser("demo", help="run the daemon on loopback targets it starts itself",
                          description="Start a failing-and-recovering web shop, a TCP service "
                          "and a notification sink on loopback, and monitor them.",
                          epilog=f"exit status: {EXITS['demo']}")
    demo.add_argument("--state-dir", default="state/demo", metavar="DIR",
                      help="where the demo keeps its config and state (default: state/demo)")
    demo.set_defaults(func=cmd_demo)
    from monitord.client import add_parsers

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("-c", "--config", metavar="FILE",
                       help="config file, for the API address and token (default "
                            f"$MONITORD_CONFIG, else {DEFAULT_CONFIG})")
        p.set_defaults(func=_client)
        return p

    add_parsers(sub, with_config)
    return parser


def _client(args: argparse.Namespace) -> int:
    from monitord.client import ConfigUnusable

    try:
        status: int = args.client(args, config_path(args))
    except ConfigUnusable as exc:
        print(f"monitord {args.command}: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
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
