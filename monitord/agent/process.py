"""``monitord agent``: runs the central daemon's checks for one location and posts results.

Three tasks in one TaskGroup: the scheduler (the same scheduler, runner and check code as the
central daemon), the assignment poll (ETag revalidation every ``[central] poll``; a change is
applied at once, the last assignment is kept in the state database so a restart while the
central daemon is down still probes), and the pump (results -> durable buffer -> batches,
in order, with backoff while the central daemon is unreachable). SIGHUP reloads the agent's
own file; SIGTERM/SIGINT stop it.

Error handling: an unreachable central daemon is logged once when it starts and once when
it ends (with what was buffered and dropped); a refused batch (400/403/413) can never be
accepted and is dropped with an error; a 401 keeps the batch and re-reads the token.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import structlog

from monitord.agent.batch import encode_batch
from monitord.agent.buffer import ResultBuffer
from monitord.agent.config import AgentFileConfig, load_agent_config, unreadable_files
from monitord.agent.link import CentralUnreachable, Link
from monitord.checks.base import CheckEnv
from monitord.checks.kind import Check
from monitord.checks.registry import KINDS
from monitord.clock import Clock, SystemClock
from monitord.compat import TaskGroup
from monitord.config.reader import ConfigInvalid, Problems, Table
from monitord.config.schema import CheckConfig, parse_check
from monitord.config.secrets import read_secret, redact_url
from monitord.logs import configure_logging
from monitord.model import Result
from monitord.runner import CheckRunner
from monitord.scheduler import Scheduler
from monitord.store import Store
from monitord.supervise import supervised
from monitord.systemd import SystemdNotifier, install_signals

log = structlog.get_logger("monitord.agent")

BATCH_MAX = 2000  # results per POST (well below the 4 MiB limit)
BACKOFF_MIN, BACKOFF_MAX = 1.0, 30.0
PASSIVE_TYPES = {"heartbeat"}  # fed by pings to the central daemon: nothing to run here


class AgentDaemon:
    def __init__(self, config: AgentFileConfig, *, clock: Clock | None = None,
                 notifier: SystemdNotifier | None = None) -> None:
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.notifier = notifier or SystemdNotifier()
        m = config.monitord
        self.location = m.location
        self.env = CheckEnv(clock=self.clock, location=m.location,
                            resolvers=tuple(str(r) for r in m.resolvers))
        self.scheduler = Scheduler(clock=self.clock, run_check=CheckRunner(self.clock,
                                   m.location), on_result=self.on_result,
                                   max_concurrent=m.max_concurrent_checks,
                                   max_per_host=m.max_checks_per_host)
        self.stop_requested = asyncio.Event()
        self.reload_requested = asyncio.Event()
        self._pending: list[str] = []
        self._wake = asyncio.Event()
        self._poll_now = asyncio.Event()
        self._etag: str | None = None
        self._token = ""
        self.buffer: ResultBuffer | None = None
        self.link: Link | None = None
        self.unreachable_since: float | None = None

    async def on_result(self, result: Result) -> None:
        self._pending.append(json.dumps(result.to_json(), separators=(",", ":")))
        self._wake.set()

    # -- lifecycle ---------------------------------------------------------------------

    def _start_tasks(self, group: TaskGroup, checks: list[tuple[CheckConfig, Check]]
                     ) -> list[asyncio.Task[None]]:
        """The long-lived tasks, each supervised: an exception escaping one is logged and
        it restarts after a pause; it never ends the TaskGroup (and with it every check)."""
        first = [checks]

        async def schedule() -> None:  # a restart keeps the scheduler's current checks
            await self.scheduler.run(first.pop() if first else ())

        bodies: dict[str, Callable[[], Awaitable[None]]] = {
            "scheduler": schedule, "assignment": self._poll_loop, "pump": self._pump,
            "reload": self._reload_loop}
        return [group.create_task(supervised(name, body, self.clock), name=name)
                for name, body in bodies.items()]

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        store = await Store.open(self.config.monitord.state_dir / "agent.db")
        self.buffer = ResultBuffer(store, self.config.central.buffer_max)
        try:
            await self.buffer.open()
            await self._connect()
            saved = await self.buffer.load_assignment()
            checks = self._build(json.loads(saved)) if saved else []
            installed = install_signals(loop, self.stop_requested.set,
                                        self.reload_requested.set)
            try:
                async with TaskGroup() as group:
                    tasks = self._start_tasks(group, checks)
                    log.info("agent_started", location=self.location, checks=len(checks),
                             central=self.config.central.url)
                    self.notifier.ready(f"agent {self.location}: {len(checks)} checks")
                    await self.stop_requested.wait()
                    log.info("stopping")
                    self.notifier.stopping()
                    for task in tasks:
                        task.cancel()
            finally:
                for sig in installed:
                    loop.remove_signal_handler(sig)
            await self._flush_memory()  # what was produced before the stop is kept
        finally:
            if self.link is not None:
                await self.link.close()
            await self.env.aclose()
            await store.close()
        log.info("stopped")

    async def _connect(self) -> None:
        self._token = await read_secret(self.config.central.token)
        if self.link is not None:
            await self.link.close()
        self.link = Link(self.config.central, self._token)

    async def _reload_loop(self) -> None:
        while True:
            await self.reload_requested.wait()
            self.reload_requested.clear()
            try:
                new = await asyncio.to_thread(load_agent_config, self.config.file)
            except ConfigInvalid as exc:
                for error in exc.errors:
                    log.error("reload_rejected", error=str(error))
                continue
            for what in ("location", "state_dir", "resolvers"):
                if getattr(new.monitord, what) != getattr(self.config.monitord, what):
                    log.warning("reload_needs_restart", setting=f"monitord.{what}")
            self.config = new
            assert self.buffer is not None
            self.buffer.buffer_max = new.central.buffer_max
            try:
                await self._connect()
            except (OSError, KeyError) as exc:
                log.error("agent_token_unreadable", source=new.central.token.describe(),
                          error=type(exc).__name__)
            configure_logging(new.monitord.log_format, new.monitord.log_level)
            self._poll_now.set()
            log.info("reloaded", central=new.central.url)

    # -- the assignment ----------------------------------------------------------------

    def _build(self, assignment: dict[str, Any]) -> list[tuple[CheckConfig, Check]]:
        built: list[tuple[CheckConfig, Check]] = []
        for data in assignment.get("checks", []):
            if not isinstance(data, dict) or data.get("type") in PASSIVE_TYPES:
                continue
            problems = Problems("assignment")
            config = parse_check(Table(problems, f'check "{data.get("name")}"', data),
                                 self.location, KINDS)
            if config is None or problems:
                for error in problems.errors:
                    log.error("assigned_check_invalid", error=str(error))
                continue
            built.append((config, KINDS[config.type].build(config, self.env)))
        return built

    async def _poll_loop(self) -> None:
        while True:
            await self._poll_once()
            self._poll_now.clear()
            await self.clock.wait_until(self.clock.monotonic() + self.config.central.poll,
                                        self._poll_now)

    async def _poll_once(self) -> None:
        assert self.link is not None
        assert self.buffer is not None
        try:
            answer = await self.link.assignment(self._etag)
        except CentralUnreachable as exc:
            self._unreachable(str(exc))  # said once, even when there is nothing to post
            return
        await self._reachable()
        if answer.status == 304:
            return
        if answer.status != 200:
            log.error("assignment_refused", status=answer.status)
            return
        try:
            data = json.loads(answer.body)
        except ValueError:
            log.error("assignment_invalid", reason="not JSON")
            return
        added, removed, changed = self.scheduler.update(self._build(data))
        self._etag = answer.etag
        await self.buffer.save_assignment(answer.body.decode())
        log.info("assignment_applied", version=data.get("version"), checks=len(data["checks"]),
                 added=added, removed=removed, changed=changed)

    # -- results -----------------------------------------------------------------------

    async def _flush_memory(self) -> None:
        if self._pending and self.buffer is not None:
            bodies, self._pending = self._pending, []
            dropped = await self.buffer.add(bodies)
            if dropped:
                log.warning("buffer_full_dropped", dropped=dropped,
                            buffer_max=self.buffer.buffer_max)

    async def _pump(self) -> None:
        backoff, retry_at = BACKOFF_MIN, 0.0
        while True:
            deadline = retry_at if retry_at else self.clock.monotonic() + 5.0
            await self.clock.wait_until(deadline, self._wake)
            self._wake.clear()
            await self._flush_memory()
            if self.clock.monotonic() < retry_at:
                continue
            if await self._send_all():
                backoff, retry_at = BACKOFF_MIN, 0.0
            else:
                retry_at = self.clock.monotonic() + backoff
                backoff = min(BACKOFF_MAX, backoff * 2)

    async def _send_all(self) -> bool:
        """Send buffered batches in order until none is left; False to retry later."""
        assert self.buffer is not None
        assert self.link is not None
        while True:
            out = await self.buffer.take(BATCH_MAX)
            if out is None:
                return True
            body = encode_batch(self.location, out.batch, [], out.dropped)
            # The results are already JSON: splice them in rather than decode and re-encode.
            body = body.replace(b'"results":[]', b'"results":[' +
                                ",".join(out.bodies).encode() + b"]", 1)
            try:
                answer = await self.link.post(body)
            except CentralUnreachable as exc:
                self._unreachable(str(exc))
                return False
            if answer.status == 401:
                log.error("central_refused_token", status=401)
                with suppress(OSError, KeyError):
                    await self._connect()
                return False
            await self._reachable()
            if answer.status != 200:  # 400/403/413: this batch can never be accepted
                log.error("batch_refused", batch=out.batch, status=answer.status,
                          results=len(out.bodies), reason=answer.body[:200].decode("replace"))
            await self.buffer.done(out.batch)
            await self._flush_memory()

    async def _reachable(self) -> None:
        if self.unreachable_since is not None and self.buffer is not None:
            log.info("central_reachable", buffered=await self.buffer.size(),
                     dropped=self.buffer.dropped_total,
                     down_for=round(self.clock.monotonic() - self.unreachable_since, 1))
            self.unreachable_since = None

    def _unreachable(self, reason: str) -> None:
        if self.unreachable_since is None:
            self.unreachable_since = self.clock.monotonic()
            log.warning("central_unreachable", reason=reason,
                        detail="probing goes on; results are buffered")


def run_agent(path: Path, log_level: str | None = None) -> int:
    """The ``monitord agent`` command: 2 on a bad config, 1 if it cannot start, else 0."""
    import sys

    try:
        config = load_agent_config(path)
    except ConfigInvalid as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        return 2
    problems = unreadable_files(config)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 2
    configure_logging(config.monitord.log_format, log_level or config.monitord.log_level,
                      scrub=redact_url)
    try:
        asyncio.run(AgentDaemon(config).run())
    except (OSError, KeyError) as exc:
        print(f"monitord agent: cannot start: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0
