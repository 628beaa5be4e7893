"""The daemon's parts that need no daemon: what a reload builds, the state of a check, the
errors of a start, the systemd watchdog."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import structlog

from monitord.alerting import Alerting
from monitord.checks.base import CheckEnv
from monitord.checks.kind import Check
from monitord.checks.registry import KINDS
from monitord.clock import Clock
from monitord.config.reader import ConfigError, ConfigInvalid
from monitord.config.schema import CheckConfig
from monitord.config.secrets import unreadable_secrets
from monitord.configfile import Config, load_config
from monitord.model import Result, Status
from monitord.notify.outbox import Outbox
from monitord.scheduler import Scheduler
from monitord.systemd import SystemdNotifier

log = structlog.get_logger("monitord")


@dataclass(frozen=True)
class NewWorld:
    """What a reload builds before it swaps anything in."""

    config: Config
    checks: list[tuple[CheckConfig, Check]]
    token: str | None
    outbox: Outbox | None


class StartupError(Exception):
    """The daemon cannot start (a port cannot be bound…); the message says why."""


def build_checks(config: Config, env: CheckEnv) -> list[tuple[CheckConfig, Check]]:
    return [(c, KINDS[c.type].build(c, env)) for c in config.local_checks()]


@dataclass
class CheckState:
    """What the daemon knows of one check right now (for logs, the API and the status page)."""

    status: Status | None = None
    since: datetime | None = None
    last: dict[str, Result] = field(default_factory=dict)  # per location


async def build_world(path: Path, env: CheckEnv, alerting: Alerting | None) -> NewWorld:
    """Everything fallible of a reload, before anything is swapped; raises on any fault."""
    new = await asyncio.to_thread(load_config, path)
    problems = await asyncio.to_thread(unreadable_secrets, new)
    if problems:
        raise ConfigInvalid([ConfigError(str(new.file), "", p) for p in problems])
    token = None
    if new.api.token is not None:
        token = await asyncio.to_thread(new.api.token.read)
    checks = build_checks(new, env)
    outbox = alerting.prepare(new) if alerting is not None else None
    return NewWorld(new, checks, token, outbox)


def warn_restart_only(old: Config, new: Config) -> None:
    """Name each changed setting that only a restart applies."""
    for what, before, after in (
        ("monitord.location", old.monitord.location, new.monitord.location),
        ("monitord.state_dir", old.monitord.state_dir, new.monitord.state_dir),
        ("monitord.resolvers", old.monitord.resolvers, new.monitord.resolvers),
        ("monitord.event_loop", old.monitord.event_loop, new.monitord.event_loop),
        ("api.listen", old.api.listen, new.api.listen),
        ("snmp_traps", old.snmp_traps, new.snmp_traps),
    ):
        if before != after:
            log.warning("reload_needs_restart", setting=what,
                        detail="this setting takes effect at the next restart")


async def watchdog(notifier: SystemdNotifier, healthy: Callable[[], bool]) -> None:
    """Ping systemd's watchdog twice per interval while ``healthy()``; until cancelled."""
    interval = notifier.watchdog_interval
    if interval is None:
        await asyncio.get_running_loop().create_future()  # nothing to do until cancelled
        return
    while True:
        # Only a live event loop gets here, so the ping proves the loop is not stuck.
        if healthy():
            notifier.watchdog()
        await asyncio.sleep(interval / 2)


def scheduler_problems(scheduler: Scheduler, clock: Clock) -> list[str]:
    """The scheduler stalled: no check finished for twice the slowest check's period."""
    configs = scheduler.checks()
    if configs:
        slowest = max(c.interval + c.timeout for c in configs)
        idle = clock.monotonic() - scheduler.last_activity
        if idle > 2 * slowest + 60 and scheduler.in_flight == 0:
            return [f"scheduler: no check finished for {idle:.0f}s"]
    return []


def run_health_checks(checks: Sequence[Callable[[], str | None]]) -> list[str]:
    """What the registered components say is wrong; a faulty health check is itself one."""
    problems = []
    for check in checks:
        try:
            problem = check()
        except Exception as exc:
            log.exception("health_check_failed")
            problem = f"health check failed: {type(exc).__name__}: {exc}"
        if problem:
            problems.append(problem)
    return problems
