"""The runnable ``snmp`` check: one poll per run, state kept between runs.

State lives on the instance (the scheduler keeps one per configured check): the previous
uptime sample, when a reboot was seen, and the previous counters for rates. Time comes from
``env.clock``, so reboot windows and rates are tested in virtual time.
"""

from __future__ import annotations

import asyncio
from typing import Any

from monitord.checks._net import resolve
from monitord.checks._probe import Probe, ProbeFailure, run_probe
from monitord.checks.base import CheckEnv
from monitord.config.schema import CheckConfig
from monitord.model import Outcome, Phase, Status
from monitord.snmp import interfaces, oids, rate, thresholds, v2c
from monitord.snmp.session import Requester, SnmpSession, read_secret_for
from monitord.snmp.spec import CommunityAuth, SnmpSpec, UsmAuth
from monitord.snmp.uptime import Change, UptimeSample, compare, describe
from monitord.snmp.values import Absent, Endpoint, as_int

# Share of the check's timeout given to the attempts of one request; the rest leaves room to
# probe whether a silent agent is alive (and so tell a wrong key from an unreachable host).
ATTEMPTS_SHARE = 0.6


class SnmpCheck:
    def __init__(self, config: CheckConfig, env: CheckEnv) -> None:
        assert isinstance(config.spec, SnmpSpec)
        self.config = config
        self.spec: SnmpSpec = config.spec
        self.env = env
        self.attempt_timeout = round(
            max(0.1, config.timeout * ATTEMPTS_SHARE / (self.spec.retries + 1)), 2)
        self._target: tuple[Endpoint, Any] | None = None
        self._uptime: UptimeSample | None = None
        self._rebooted_at: float | None = None
        self._rebooted_from: float | None = None
        self._counters: rate.CounterSample | None = None

    async def run(self) -> Outcome:
        return await run_probe(self.env.clock.monotonic, self.config.timeout, self._poll)

    async def _poll(self, probe: Probe) -> Outcome:
        session: SnmpSession | None = None
        try:
            session = await self._session(probe)
            probe.enter(Phase.REQUEST)
            outcome = await self._mode(session)
        except ProbeFailure as failure:
            outcome = Outcome(failure.status, failure.summary, failure.phase)
        return Outcome(outcome.status, outcome.summary, outcome.phase,
                       {**outcome.metrics, **self._metrics(probe, session)})

    async def _session(self, probe: Probe) -> SnmpSession:
        auth = self.spec.auth
        community = await read_secret_for(auth.community, "community") \
            if isinstance(auth, CommunityAuth) else None
        addresses = await resolve(self.env, probe, self.spec.host, self.spec.port)
        endpoint = Endpoint(addresses[0][1], self.spec.port, self.attempt_timeout,
                            self.spec.retries)
        requester: Requester
        if community is not None:
            requester = v2c.V2cRequester(await v2c.shared_client(self.env), community, endpoint)
        else:
            assert isinstance(auth, UsmAuth)
            requester = await self._v3_requester(auth, endpoint)
        # The run's deadline is kept in loop time, like the timeout that enforces it.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.timeout * 0.95 - probe.elapsed()
        return SnmpSession(requester, endpoint, lambda: deadline - loop.time())

    async def _v3_requester(self, auth: UsmAuth, endpoint: Endpoint) -> Requester:
        from monitord.snmp import engine  # imports pysnmp: only when SNMPv3 is polled

        data, engine_key = await engine.credentials(auth)
        shared = await engine.shared_engine(self.env, engine_key)
        if self._target is None or self._target[0] != endpoint:
            self._target = (endpoint, await engine.make_target(endpoint))  # reused
        return engine.PysnmpRequester(shared, data, self._target[1], endpoint, auth)

    def _metrics(self, probe: Probe, session: SnmpSession | None) -> dict[str, float]:
        probe.enter(probe.stage)
        return {
            "time_resolve_ms": round(probe.durations.get(Phase.RESOLVE, 0.0) * 1000, 3),
            "time_request_ms": round(probe.durations.get(Phase.REQUEST, 0.0) * 1000, 3),
            "requests": float(session.requests if session else 0),
        }

    async def _mode(self, session: SnmpSession) -> Outcome:
        mode = self.spec.mode
        if mode == "interfaces":
            spec = self.spec
            patterns = bool(spec.include or spec.exclude)
            columns = await session.walk(interfaces.COLUMNS if patterns else interfaces.ESSENTIAL)
            if not patterns and interfaces.needs_descr(columns):
                columns.update(await session.walk([oids.IF_DESCR]))
            found = interfaces.interfaces_from(columns)
            return interfaces.evaluate(found, self.spec.include, self.spec.exclude)
        if mode == "oid":
            values = await session.get([self.spec.oid])
            return thresholds.evaluate(self.spec, values.get(self.spec.oid,
                                                             Absent.NO_SUCH_INSTANCE))
        if mode == "uptime":
            return self._judge_uptime(await self._read_uptime(session, required=True))
        sample = rate.sample_from(await session.walk(rate.COLUMNS),
                                  await self._read_uptime(session, required=False))
        outcome = rate.evaluate(self.spec, self._counters, sample)
        self._counters = sample
        return outcome

    async def _read_uptime(self, session: SnmpSession, *, required: bool) -> UptimeSample:
        v3 = isinstance(self.spec.auth, UsmAuth)
        wanted = [oids.SYS_UPTIME, oids.SNMP_ENGINE_BOOTS] if v3 else [oids.SYS_UPTIME]
        values = await session.get(wanted)
        ticks = values.get(oids.SYS_UPTIME)
        if required and not isinstance(ticks, int):
            why = ticks.value if isinstance(ticks, Absent) else "not a TimeTicks value"
            raise ProbeFailure(Phase.CONTENT, f"sysUpTime.0 cannot be read ({why})")
        return UptimeSample(self.env.clock.monotonic(), as_int(ticks),
                            as_int(values.get(oids.SNMP_ENGINE_BOOTS)))

    def _judge_uptime(self, sample: UptimeSample) -> Outcome:
        """A reboot stays a WARNING for one ``interval`` after it was seen."""
        change = compare(self._uptime, sample)
        previous, self._uptime = self._uptime, sample
        if change is Change.REBOOTED:
            self._rebooted_at = sample.at
            self._rebooted_from = previous.seconds if previous else None
        uptime = sample.seconds or 0.0
        metrics = {"uptime_s": uptime}
        if sample.boots is not None:
            metrics["engine_boots"] = float(sample.boots)
        source = "snmpEngineBoots" if sample.boots is not None else "sysUpTime"
        if self._rebooted_at is not None:
            since = sample.at - self._rebooted_at
            if since < self.config.interval:
                before = (f", was up {describe(self._rebooted_from)}"
                          if self._rebooted_from is not None else "")
                return Outcome(Status.WARNING, f"rebooted: up {describe(uptime)}{before} "
                                               f"(seen by {source})", Phase.SNMP, metrics)
            self._rebooted_at = None
        note = " (sysUpTime wrapped after 497 days, not a reboot)" \
            if change is Change.WRAPPED else ""
        return Outcome.ok(f"up {describe(uptime)}{note}", metrics)
