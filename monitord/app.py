"""The daemon: builds the world from a config, runs it in one TaskGroup, reloads by swapping.

Signals only set events: SIGTERM/SIGINT ask for a stop, SIGHUP for a reload. A reload
validates the new file first; if it is invalid, the old configuration keeps running and the
errors are logged.
"""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from aiohttp import web

from monitord import eventloop
from monitord.alerting import Alerting
from monitord.api import server as api_server
from monitord.api.heartbeat import heartbeat_routes
from monitord.api.metrics import Exposition
from monitord.api.operator import operator_routes
from monitord.api.server import TokenGate
from monitord.checks.base import Check, CheckEnv
from monitord.checks.registry import KINDS
from monitord.clock import Clock, SystemClock
from monitord.compat import TaskGroup
from monitord.config.load import Config, load_config
from monitord.config.reader import ConfigInvalid
from monitord.config.schema import CheckConfig
from monitord.heartbeat_out import ping_forever
from monitord.heartbeats import RESOURCE as HEARTBEATS
from monitord.heartbeats import HeartbeatBoard
from monitord.logs import configure_logging
from monitord.model import Result, Status
from monitord.runner import CheckRunner
from monitord.scheduler import Scheduler
from monitord.store import Store
from monitord.systemd import SystemdNotifier

if TYPE_CHECKING:
    from monitord.traps import TrapReceiver

log = structlog.get_logger("monitord")
GC_THRESHOLDS = (20_000, 20, 20)  # young, middle, old: see Daemon.run

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


class Daemon:
    """One running monitord.

    Error handling: a bad config at start raises ConfigInvalid (the CLI exits 2); a bad
    config on reload is logged and ignored; a failing check never stops the others.
    """

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock | None = None,
        notifier: SystemdNotifier | None = None,
        config_path: Path | None = None,
    ) -> None:
        self.config = config
        self.config_path = config_path or config.file
        self.clock: Clock = clock or SystemClock()
        self.notifier = notifier or SystemdNotifier()
        self.stop_requested = asyncio.Event()
        self.reload_requested = asyncio.Event()
        self.ready = asyncio.Event()
        self.states: dict[str, CheckState] = {}
        self._restored: dict[tuple[str, str], Status] = {}  # (check, location) before restart
        self._configure_result_logs(config)
        self.reloads = 0
        self.reload_failures = 0
        self.started_at = self.clock.now()
        self.env = CheckEnv(
            clock=self.clock, location=config.monitord.location,
            resolvers=tuple(str(r) for r in config.monitord.resolvers),
        )
        self.runner = CheckRunner(self.clock, config.monitord.location)
        self.scheduler = Scheduler(
            clock=self.clock,
            run_check=self.runner,
            on_result=self.handle_result,
            max_concurrent=config.monitord.max_concurrent_checks,
            max_per_host=config.monitord.max_checks_per_host,
        )
        self.result_listeners: list[Callable[[Result], Awaitable[None]]] = []
        self.store: Store | None = None
        self.traps: TrapReceiver | None = None
        self.alerting: Alerting | None = None
        # Extension points for the components wired around the core (alerting, delivery…).
        self.metric_sources: list[Callable[[Exposition], None]] = []
        self.api_routes: list[Callable[[web.Application, TokenGate], None]] = []
        self.health_checks: list[Callable[[], str | None]] = []

    # -- results ----------------------------------------------------------------------

    async def handle_result(self, result: Result) -> None:
        state = self.states.get(result.check)
        if state is None:
            state = self.states[result.check] = CheckState(
                status=self._restored.pop((result.check, result.location), None))
        state.last[result.location] = result
        if self._log_each_result:
            # Built only when it is written: at 1,000 results/s its fields cost measurable CPU.
            (log.info if self._log_all_results else log.debug)(
                "check_result", check=result.check, type=result.type,
                location=result.location, status=result.status.name,
                phase=result.phase.value if result.phase else None, summary=result.summary,
                duration_ms=round(result.duration * 1000, 1),
            )
        if state.status is not result.status:
            log.info(
                "check_state_changed", check=result.check, location=result.location,
                previous=state.status.name if state.status is not None else None,
                status=result.status.name, summary=result.summary,
            )
            state.status = result.status
            state.since = result.at
        for listener in self.result_listeners:
            await listener(result)

    def _configure_result_logs(self, config: Config) -> None:
        """``log_results = "all"``: every result at info; ``"changes"``: at debug (so written
        only with ``log_level = "debug"``), state changes and alert events staying at info."""
        self._log_all_results = config.monitord.log_results == "all"
        self._log_each_result = self._log_all_results or config.monitord.log_level == "debug"

    def _restore_statuses(self, alerting: Alerting) -> None:
        """The status each check had before a restart, so that finding it again at the first
        run is not logged as a change."""
        here = self.config.monitord.location
        for name, view in alerting.check_states().items():
            for where in view.locations:
                if where.location == here and where.at is not None:
                    self._restored[(name, here)] = where.status

    # -- lifecycle --------------------------------------------------------------------

    async def run(self) -> None:
        """Run until a stop is requested; returns once every task has ended."""
        loop = asyncio.get_running_loop()
        self.store = await Store.open(self.config.monitord.state_dir / "monitord.db")
        self.alerting = Alerting(self.config, self.clock, self.store)
        api_runner = None
        try:
            await self.alerting.open()
            self._restore_statuses(self.alerting)
            self._wire_alerting(self.alerting)
            await self._open_heartbeats(self.store)
            try:
                api_runner = await api_server.start(self)
            except OSError as exc:
                raise StartupError(f"cannot listen on [api] {self.config.api.listen}: "
                                   f"{exc.strerror or exc}") from exc
            await self._start_traps()
        except BaseException:
            if api_runner is not None:
                await api_runner.cleanup()
            await self.store.close()
            raise
        installed = self._install_signals(loop)
        gc_thresholds = gc.get_threshold()
        try:
            async with TaskGroup() as group:
                tasks = [
                    group.create_task(self.alerting.run(group), name="alerting"),
                    group.create_task(self.scheduler.run(build_checks(self.config, self.env)),
                                      name="scheduler"),
                    group.create_task(self._reload_loop(), name="reload"),
                    group.create_task(self._watchdog_loop(), name="watchdog"),
                ]
                if self.traps is not None:
                    tasks.append(group.create_task(self.traps.serve(), name="snmp-traps"))
                if self.config.monitord.self_heartbeat is not None:
                    tasks.append(group.create_task(ping_forever(
                        self.config.monitord.self_heartbeat, self.clock, self.health_problems),
                        name="self-heartbeat"))
                checks = len(self.config.local_checks())
                log.info("started", location=self.config.monitord.location, checks=checks,
                         config=str(self.config_path), event_loop=eventloop.name(loop))
                self.notifier.ready(f"running {checks} checks")
                self.ready.set()
                # Start-up objects (config, modules, check instances) live for the whole
                # run: keep them out of every future garbage collection pass.
                gc.collect()
                gc.freeze()
                # A check run allocates a few hundred objects that die with it: at the
                # default young threshold (700) the collector ran every few runs and
                # promoted live in-flight runs to older generations, which then needed
                # full passes. Collect less often; what dies young is freed by refcounts.
                gc.set_threshold(*GC_THRESHOLDS)
                await self.stop_requested.wait()
                log.info("stopping")
                self.notifier.stopping()
                for task in tasks:
                    task.cancel()
        finally:
            gc.set_threshold(*gc_thresholds)
            for sig in installed:
                loop.remove_signal_handler(sig)
            if api_runner is not None:
                await api_runner.cleanup()
            if self.traps is not None:
                await self.traps.close()
            await self.env.aclose()
            await self.store.close()
        log.info("stopped")

    async def _start_traps(self) -> None:
        """Bind the SNMP trap port when configured (pysnmp is imported only then)."""
        settings = self.config.snmp_traps
        if settings is None:
            return
        from monitord.traps import TrapListenError, TrapReceiver

        receiver = TrapReceiver(settings, self.config.local_checks(), self.handle_result,
                                self.scheduler.poke, env=self.env)
        try:
            await receiver.start()
        except TrapListenError as exc:
            raise StartupError(str(exc)) from exc
        self.traps = receiver
        self.metric_sources.append(self._trap_metrics)

    async def _open_heartbeats(self, store: Store) -> None:
        """The heartbeat board, shared with the ping API and (through ``env``) the
        ``heartbeat`` checks; registered before any check runs or is built by a reload."""
        board = await HeartbeatBoard.open(store, self.clock)

        async def shared() -> HeartbeatBoard:
            return board

        await self.env.resource(HEARTBEATS, shared)
        self.api_routes.append(lambda app, gate: heartbeat_routes(
            app, board, lambda: {c.name: c for c in self.config.local_checks()},
            self.scheduler.poke))

    def _trap_metrics(self, out: Exposition) -> None:
        if self.traps is not None:
            out.metric("monitord_snmp_traps_total", "counter",
                       "SNMP trap receiver counters by outcome.",
                       [({"outcome": k}, float(v)) for k, v in sorted(self.traps.stats.items())])

    def _wire_alerting(self, alerting: Alerting) -> None:
        self.result_listeners.append(alerting.on_result)
        self.scheduler.next_delay = alerting.next_delay
        self.metric_sources.append(alerting.metrics)
        self.health_checks.append(alerting.health_problem)
        self.api_routes.append(lambda app, gate: operator_routes(app, gate, alerting))

    def request_stop(self) -> None:
        self.stop_requested.set()

    def request_reload(self) -> None:
        self.reload_requested.set()

    def _install_signals(self, loop: asyncio.AbstractEventLoop) -> list[int]:
        installed: list[int] = []
        for sig, action in ((signal.SIGTERM, self.request_stop),
                            (signal.SIGINT, self.request_stop),
                            (signal.SIGHUP, self.request_reload)):
            with suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, action)
                installed.append(sig)
        return installed

    async def _reload_loop(self) -> None:
        while True:
            await self.reload_requested.wait()
            self.reload_requested.clear()
            await self.reload()

    async def reload(self) -> bool:
        """Load the config file again and swap it in; False (old config kept) if invalid."""
        self.notifier.reloading()
        try:
            try:
                new = await asyncio.to_thread(load_config, self.config_path)
            except ConfigInvalid as exc:
                self.reload_failures += 1
                for error in exc.errors:
                    log.error("reload_rejected", error=str(error))
                log.error("reload_failed", errors=len(exc.errors),
                          detail="the previous configuration keeps running")
                return False
            self._warn_restart_only(new)
            added, removed, changed = self.scheduler.update(build_checks(new, self.env))
            if self.alerting is not None:
                await self.alerting.reload(new)
            if self.traps is not None:
                self.traps.set_checks(new.local_checks())
                await self.traps.refresh()
            for name in set(self.states) - {c.name for c in new.local_checks()}:
                del self.states[name]
            self.config = new
            self.reloads += 1
            configure_logging(new.monitord.log_format, new.monitord.log_level)
            self._configure_result_logs(new)
            log.info("reloaded", added=added, removed=removed, changed=changed,
                     checks=len(new.local_checks()))
            return True
        finally:
            self.notifier.ready(f"running {len(self.config.local_checks())} checks")

    def _warn_restart_only(self, new: Config) -> None:
        old = self.config
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

    async def _watchdog_loop(self) -> None:
        interval = self.notifier.watchdog_interval
        if interval is None:
            await asyncio.get_running_loop().create_future()  # nothing to do until cancelled
            return
        while True:
            # Only a live event loop gets here, so the ping proves the loop is not stuck.
            if self.healthy():
                self.notifier.watchdog()
            await asyncio.sleep(interval / 2)

    def healthy(self) -> bool:
        return not self.health_problems()

    def health_problems(self) -> list[str]:
        """Empty when the loop runs (we are here), the scheduler makes progress and every
        registered component says it is fine."""
        problems = []
        configs = self.scheduler.checks()
        if configs:
            slowest = max(c.interval + c.timeout for c in configs)
            idle = self.clock.monotonic() - self.scheduler.last_activity
            if idle > 2 * slowest + 60 and self.scheduler.in_flight == 0:
                problems.append(f"scheduler: no check finished for {idle:.0f}s")
        for check in self.health_checks:
            problem = check()
            if problem:
                problems.append(problem)
        return problems

    def snapshot(self) -> dict[str, Any]:
        """Every check with its state and last result per location."""
        checks = []
        for config in self.config.local_checks():
            state = self.states.get(config.name, CheckState())
            checks.append({
                "check": config.name,
                "type": config.type,
                "labels": config.alert_labels(),
                "status": state.status.name if state.status is not None else "PENDING",
                "since": state.since.isoformat() if state.since else None,
                "results": [r.to_json() for r in state.last.values()],
            })
        incidents = self.alerting.incidents_json() if self.alerting is not None else []
        states = self.alerting.check_states() if self.alerting is not None else {}
        for entry in checks:
            view = states.get(str(entry["check"]))
            if view is not None:
                entry["state"] = view.state
                entry["flapping"] = view.flapping
        return {"location": self.config.monitord.location, "checks": checks,
                "incidents": [i for i in incidents if i["ended_at"] is None]}

