"""The daemon: builds the world from a config, runs it in one TaskGroup, reloads by swapping.

Signals only set events: SIGTERM/SIGINT ask for a stop, SIGHUP for a reload. A reload
builds everything fallible first (parse, validation, secrets, API token, checks and their TLS
contexts, senders); any failure keeps the old world whole and is logged; only then the swap.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from aiohttp import web

from monitord import eventloop
from monitord.agent.intake import Intake
from monitord.alerting import Alerting
from monitord.api import server as api_server
from monitord.api.auth import TokenGate
from monitord.api.views import Views
from monitord.app.parts import (
    CheckState,
    NewWorld,
    StartupError,
    build_checks,
    build_world,
    run_health_checks,
    scheduler_problems,
    warn_restart_only,
    watchdog,
)
from monitord.app.view import DaemonView
from monitord.checks.base import CheckEnv
from monitord.clock import Clock, SystemClock
from monitord.compat import TaskGroup
from monitord.config.reader import ConfigInvalid
from monitord.config.secrets import redact_url
from monitord.configfile import Config
from monitord.heartbeat.api import heartbeat_routes
from monitord.heartbeat.board import RESOURCE as HEARTBEATS
from monitord.heartbeat.board import HeartbeatBoard
from monitord.heartbeat.check import HeartbeatSpec
from monitord.heartbeat.deadlines import drive_deadlines
from monitord.heartbeat.self_ping import ping_while_configured
from monitord.history.recorder import HistoryRecorder
from monitord.history.timeline import IncidentJournal
from monitord.logs import configure_logging
from monitord.model import Result, Status
from monitord.runner import CheckRunner
from monitord.scheduler import Scheduler
from monitord.store import Store
from monitord.supervise import Supervision, supervised
from monitord.systemd import SystemdNotifier, install_signals

if TYPE_CHECKING:
    from monitord.snmp.receiver import TrapReceiver

log = structlog.get_logger("monitord")
GC_THRESHOLDS = (20_000, 20, 20)  # young, middle, old: see Daemon.run


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
        log_level: str | None = None,
    ) -> None:
        self.config = config
        self.log_level = log_level  # --log-level: wins over the config's, also after a reload
        self.config_path = config_path or config.file
        self.clock: Clock = clock or SystemClock()
        self.notifier = notifier or SystemdNotifier()
        self.stop_requested = asyncio.Event()
        self.reload_requested = asyncio.Event()
        self.ready = asyncio.Event()
        self.states: dict[str, CheckState] = {}
        # (check, location) -> the status before a restart, and since when it held
        self._restored: dict[tuple[str, str], tuple[Status, datetime | None]] = {}
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
        self.heartbeat_board: HeartbeatBoard | None = None
        self.alerting: Alerting | None = None
        self.history: HistoryRecorder | None = None
        self.intake: Intake | None = None
        # Extension points for the components wired around the core (alerting, delivery…).
        self.api_routes: list[Callable[[web.Application, TokenGate], None]] = []
        self.health_checks: list[Callable[[], str | None]] = []
        self.gate = TokenGate(None, config.api.anonymous_read)  # the token is read by run()
        self._self_heartbeat_changed = asyncio.Event()
        # Failures of the supervised long-lived tasks (for /healthz and the logs).
        self.supervision = Supervision()
        self.scheduler.supervision = self.supervision

    # -- results ----------------------------------------------------------------------

    async def handle_result(self, result: Result) -> None:
        state = self.states.get(result.check)
        if state is None:
            status, since = self._restored.pop((result.check, result.location), (None, None))
            state = self.states[result.check] = CheckState(status=status, since=since)
        state.last[result.location] = result
        if self._log_each_result:
            # Built only when it is written: at 1,000 results/s its fields cost measurable CPU.
            (log.info if self._log_all_results else log.debug)(
                "check_result", check=result.check, type=result.type,
                location=result.location, status=result.status.name,
                phase=result.phase.value if result.phase else None, summary=result.summary,
                duration_ms=round(result.duration * 1000, 1),
            )
        if state.status is not None and state.status is not result.status:
            # Not for a check's first result since start: a state restored at start (or a
            # new check's first state) is not a change.
            log.info(
                "check_state_changed", check=result.check, status=result.status.name,
                phase=result.phase.value if result.phase else None, summary=result.summary,
                previous=state.status.name, location=result.location,
            )
        if state.status is not result.status:
            state.status = result.status
            state.since = result.at
        for listener in self.result_listeners:
            await listener(result)

    def _configure_result_logs(self, config: Config) -> None:
        """``log_results = "all"``: every result at info; ``"changes"``: at debug (so written
        only with ``log_level = "debug"``), state changes and alert events staying at info."""
        self._log_all_results = config.monitord.log_results == "all"
        level = self.log_level or config.monitord.log_level
        self._log_each_result = self._log_all_results or level == "debug"

    def _restore_statuses(self, alerting: Alerting) -> None:
        """The status each check had before a restart, and since when, so that finding it
        again at the first run is not logged as a change and `since` survives the restart."""
        here = self.config.monitord.location
        for name, view in alerting.check_states().items():
            for where in view.locations:
                if where.location == here and where.at is not None:
                    # The core keeps the check's since; a location that differs from the
                    # check's status has held its own at least since its last result.
                    since = view.since if where.status is view.status else where.at
                    self._restored[(name, here)] = (where.status, since)

    async def ingest_results(self, results: Sequence[Result]) -> None:
        """A probe agent's batch: state changes logged (not every result), alerting fed the
        whole batch at once (one transaction), other listeners one result at a time."""
        for result in results:
            state = self.states.setdefault(result.check, CheckState())
            previous = state.last.get(result.location)
            state.last[result.location] = result
            if previous is None or previous.status is not result.status:
                log.info("check_state_changed", check=result.check, location=result.location,
                         previous=state.status.name if state.status is not None else None,
                         status=result.status.name, summary=result.summary)
                state.status, state.since = result.status, result.at
        alerting = self.alerting
        if alerting is not None:
            await alerting.on_results(results)
        for listener in self.result_listeners:
            if alerting is not None and listener == alerting.on_result:
                continue  # fed above, batch by batch
            for result in results:
                await listener(result)

    # -- lifecycle --------------------------------------------------------------------

    async def run(self) -> None:
        """Run until a stop is requested; returns once every task has ended."""
        loop = asyncio.get_running_loop()
        token = self.config.api.token
        self.gate = TokenGate(await asyncio.to_thread(token.read) if token else None,
                              self.config.api.anonymous_read)
        store = self.store = await Store.open(self.config.monitord.state_dir / "monitord.db")
        api_runner = await self._open_components(store)
        installed = install_signals(loop, self.request_stop, self.request_reload)
        gc_thresholds = gc.get_threshold()
        try:
            async with TaskGroup() as group:
                tasks = self._start_tasks(group)
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
            await store.close()
        log.info("stopped")

    async def _open_components(self, store: Store) -> web.AppRunner | None:
        """Alerting (resumed from the store), the agents' intake, heartbeats, history, the
        API and the trap port; a failure closes what was opened (the store too) and raises.
        Returns the API's runner, for ``run`` to clean up."""
        self.alerting = alerting = Alerting(self.config, self.clock, store)
        api_runner = None
        try:
            await alerting.open()
            self._restore_statuses(alerting)
            self._wire_alerting(alerting)
            self.intake = Intake(self.config, self.clock, store, self.ingest_results,
                                 alerting.set_silent)
            await self.intake.open()
            await self._open_heartbeats(store)
            await self._open_history(store)
            try:
                api_runner = await api_server.start(self.config.api,
                                                    self._api_views(alerting), self.gate)
            except OSError as exc:
                raise StartupError(f"cannot listen on [api] {self.config.api.listen}: "
                                   f"{exc.strerror or exc}") from exc
            await self._start_traps()
        except BaseException:
            if api_runner is not None:
                await api_runner.cleanup()
            await store.close()
            raise
        return api_runner

    def _start_tasks(self, group: TaskGroup) -> list[asyncio.Task[None]]:
        """The long-lived tasks, in ``group``; ``run`` cancels them all on a stop. Each is
        supervised (alerting supervises its own loops): an exception escaping one is logged,
        shown on /healthz while it waits to restart, and never ends the TaskGroup."""
        alerting, intake = self.alerting, self.intake
        assert alerting is not None  # both opened by _open_components
        assert intake is not None
        first = [build_checks(self.config, self.env)]

        async def schedule() -> None:  # a restart keeps the scheduler's current checks
            await self.scheduler.run(first.pop() if first else ())

        bodies: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("scheduler", schedule),
            ("reload", self._reload_loop),
            ("watchdog", partial(watchdog, self.notifier, self.healthy)),
            ("agent-silence", intake.watch_silence),
            ("self-heartbeat-settings", partial(
                ping_while_configured, lambda: self.config.monitord.self_heartbeat,
                self._self_heartbeat_changed, self.clock, self.health_problems,
                self.supervision)),
        ]
        if self.history is not None:
            bodies.append(("history", self.history.run))
        if self.heartbeat_board is not None:
            bodies.append(("heartbeat-deadlines", partial(
                drive_deadlines, self.heartbeat_board, self.clock, self._heartbeat_specs,
                self.scheduler.poke)))
        if self.traps is not None:
            bodies.append(("snmp-traps", self.traps.serve))
        tasks = [group.create_task(alerting.run(group), name="alerting")]
        tasks += [group.create_task(supervised(name, body, self.clock, watch=self.supervision),
                                    name=name) for name, body in bodies]
        return tasks

    async def _start_traps(self) -> None:
        """Bind the SNMP trap port when configured (pysnmp is imported only then)."""
        settings = self.config.snmp_traps
        if settings is None:
            return
        from monitord.snmp.listener import TrapListenError
        from monitord.snmp.receiver import TrapReceiver

        receiver = TrapReceiver(settings, self.config.local_checks(), self.handle_result,
                                self.scheduler.poke, env=self.env)
        try:
            await receiver.start()
        except TrapListenError as exc:
            raise StartupError(str(exc)) from exc
        self.traps = receiver

    async def _open_heartbeats(self, store: Store) -> None:
        """The heartbeat board, shared with the ping API and (through ``env``) the
        ``heartbeat`` checks; registered before any check runs or is built by a reload."""
        board = await HeartbeatBoard.open(store, self.clock)

        async def shared() -> HeartbeatBoard:
            return board

        await self.env.resource(HEARTBEATS, shared)
        self.heartbeat_board = board
        self.api_routes.append(lambda app, gate: heartbeat_routes(
            app, board, lambda: {c.name: c for c in self.config.local_checks()},
            self.scheduler.poke))

    async def _open_history(self, store: Store) -> None:
        """Result history for the status page and the history API (a result listener)."""
        settings = self.config.monitord
        self.history = await HistoryRecorder.open(store, self.clock, settings.history_raw,
                                                  settings.history_retention)
        self.result_listeners.append(self.history.record)

    def _heartbeat_specs(self) -> dict[str, HeartbeatSpec]:
        return {c.name: c.spec for c in self.config.local_checks()
                if isinstance(c.spec, HeartbeatSpec)}

    def _wire_alerting(self, alerting: Alerting) -> None:
        alerting.supervision = self.supervision
        self.result_listeners.append(alerting.on_result)
        alerting.evidence.attach(self.env, self.scheduler.host_cap)
        self.scheduler.next_delay = alerting.next_delay
        self.health_checks.append(alerting.health_problem)

    def _api_views(self, alerting: Alerting) -> Views:
        """What the API may see and do: the daemon through DaemonView, the rest through
        alerting; other features' endpoints come from ``api_routes``."""
        daemon = DaemonView(self, alerting)
        assert self.store is not None
        journal = IncidentJournal(self.store, alerting.incidents, alerting.diagnoses)
        return Views(clock=self.clock, health=self, checks=daemon, states=alerting,
                     incidents=alerting, silences=alerting, samples=daemon,
                     history=self.history, details=daemon, journal=journal,
                     routes=tuple(self.api_routes), agents=self.intake)

    def request_stop(self) -> None:
        self.stop_requested.set()

    def request_reload(self) -> None:
        self.reload_requested.set()

    async def _reload_loop(self) -> None:
        while True:
            await self.reload_requested.wait()
            self.reload_requested.clear()
            await self.reload()

    async def reload(self) -> bool:
        """Build the new world from the file, then swap; False (the old world kept whole,
        one ``reload_failed`` line saying why) if anything cannot be built."""
        self.notifier.reloading()
        try:
            try:
                world = await build_world(self.config_path, self.env, self.alerting)
            except ConfigInvalid as exc:
                for error in exc.errors:
                    log.error("reload_rejected", error=str(error))
                return self._reload_failed(str(exc.errors[0]) if exc.errors else "invalid",
                                           len(exc.errors))
            except Exception as exc:  # anything: a TLS context, a secret, a bug
                return self._reload_failed(f"{type(exc).__name__}: {exc}", 1)
            self._swap(world)
            if self.alerting is not None:
                await self.alerting.reload(world.config, world.outbox)
            if self.intake is not None:
                await self.intake.reload(world.config)
            if self.traps is not None:
                self.traps.set_checks(world.config.local_checks())
                await self.traps.refresh()
            return True
        finally:
            self.notifier.ready(f"running {len(self.config.local_checks())} checks")

    def _reload_failed(self, reason: str, errors: int) -> bool:
        self.reload_failures += 1
        log.error("reload_failed", errors=errors, reason=reason,
                  detail="the previous configuration keeps running")
        return False

    def _swap(self, world: NewWorld) -> None:
        """The infallible part: hand the built parts to the running ones."""
        new = world.config
        warn_restart_only(self.config, new)
        added, removed, changed = self.scheduler.update(world.checks)
        if self.scheduler.set_limits(new.monitord.max_concurrent_checks,
                                     new.monitord.max_checks_per_host):
            log.info("limits_changed", max_concurrent_checks=new.monitord.max_concurrent_checks,
                     max_checks_per_host=new.monitord.max_checks_per_host)
        self.gate.update(world.token, new.api.anonymous_read)
        if new.monitord.self_heartbeat != self.config.monitord.self_heartbeat:
            self._self_heartbeat_changed.set()
        for name in set(self.states) - {c.name for c in new.local_checks()}:
            del self.states[name]
        if self.history is not None:
            self.history.configure(new.monitord.history_raw, new.monitord.history_retention)
        self.config = new
        self.reloads += 1
        configure_logging(new.monitord.log_format, self.log_level or new.monitord.log_level,
                          scrub=redact_url)
        self._configure_result_logs(new)
        log.info("reloaded", added=added, removed=removed, changed=changed,
                 checks=len(new.local_checks()))

    def healthy(self) -> bool:
        return not self.health_problems()

    def health_problems(self) -> list[str]:
        """Empty when the loop runs (we are here), the scheduler makes progress and every
        registered component says it is fine."""
        return (scheduler_problems(self.scheduler, self.clock)
                + run_health_checks(self.health_checks) + self.supervision.problems())
