"""The ``icmp`` check: ``count`` echo requests to a host, loss and round-trip times.

The host name resolves through ``[monitord] resolvers`` like every network check; ``family``
picks the address (``auto``: the first one found). Requests leave :data:`SPACING` apart; each
waits for its reply at most :data:`REPLY_WAIT`, never past the check's timeout. Verdicts:

- loss above ``max_loss`` percent: CRITICAL in phase ``response`` (every reply missing says so);
- average round-trip time above ``max_rtt``: WARNING in phase ``response``;
- otherwise OK (some loss at or below ``max_loss`` is said in the summary).

Metrics: ``rtt_min_ms``, ``rtt_avg_ms``, ``rtt_max_ms`` (when a reply came), ``loss_percent``,
``packets_sent``, ``packets_received``. A process allowed neither kind of ICMP socket (see
:mod:`monitord.checks._icmp_socket`) gets UNKNOWN in phase ``internal``, saying why.
"""

from __future__ import annotations

import socket

from monitord.checks._icmp_socket import IcmpUnavailable, shared_pinger
from monitord.checks._net import os_reason, resolve
from monitord.checks._probe import Probe, ProbeFailure, run_probe
from monitord.checks.base import CheckEnv
from monitord.checks.icmp_spec import FAMILIES, KIND, IcmpSpec, parse
from monitord.compat import TaskGroup
from monitord.config.durations import format_duration
from monitord.config.schema import CheckConfig
from monitord.model import Outcome, Phase, Status

__all__ = ["FAMILIES", "KIND", "IcmpCheck", "IcmpSpec", "parse"]

SPACING = 0.2  # seconds between requests, ping(8)'s minimum for unprivileged users
REPLY_WAIT = 2.0  # a reply later than this counts as lost (ping -W 2)


class IcmpCheck:
    def __init__(self, config: CheckConfig, env: CheckEnv) -> None:
        assert isinstance(config.spec, IcmpSpec)
        self.spec: IcmpSpec = config.spec
        self.env = env
        self.timeout = config.timeout

    async def run(self) -> Outcome:
        return await run_probe(self.env.clock.monotonic, self.timeout, self._run)

    async def _run(self, probe: Probe) -> Outcome:
        spec = self.spec
        family, address = await self._address(probe)
        try:
            pinger = await shared_pinger(self.env, family)
        except IcmpUnavailable as exc:
            return Outcome(Status.UNKNOWN, str(exc), Phase.INTERNAL)
        except OSError as exc:
            return Outcome(Status.UNKNOWN, f"cannot open an ICMP socket: {os_reason(exc)}",
                           Phase.INTERNAL)
        probe.begin()
        probe.enter(Phase.RESPONSE)
        # Leave every reply its wait, but inside the run's own deadline (see run_probe).
        budget = max(self.timeout * 0.95, self.timeout - 0.5) - 0.05
        wait = max(0.05, min(REPLY_WAIT, budget - (spec.count - 1) * SPACING))
        rtts: list[float | None] = [None] * spec.count
        errors: list[str] = []

        async def one(index: int) -> None:
            await self.env.clock.sleep(index * SPACING)
            try:
                rtts[index] = await pinger.ping(address, wait)
            except OSError as exc:  # no route, unreachable network: the run's verdict
                errors.append(os_reason(exc))

        async with TaskGroup() as group:
            for index in range(spec.count):
                group.create_task(one(index))
        if errors:
            raise ProbeFailure(Phase.CONNECT, f"cannot send to {address}: {errors[0]}")
        return self._verdict(address, [rtt for rtt in rtts if rtt is not None])

    async def _address(self, probe: Probe) -> tuple[int, str]:
        spec = self.spec
        found = await resolve(self.env, probe, spec.host, 0)
        wanted = FAMILIES[spec.family]
        for family, address in found:
            if wanted in (socket.AF_UNSPEC, family) and family in (socket.AF_INET,
                                                                    socket.AF_INET6):
                return family, address
        version = "IPv6" if wanted == socket.AF_INET6 else "IPv4"
        raise ProbeFailure(Phase.RESOLVE, f"{spec.host} has no {version} address")

    def _verdict(self, address: str, rtts: list[float]) -> Outcome:
        spec = self.spec
        sent, received = spec.count, len(rtts)
        loss = round(100.0 * (sent - received) / sent, 3)
        metrics = {"loss_percent": loss, "packets_sent": float(sent),
                   "packets_received": float(received)}
        named = spec.host if spec.host == address else f"{spec.host} ({address})"
        if not rtts:
            return Outcome(Status.CRITICAL, f"no reply from {named} to {sent} echo request"
                                            f"{'s' if sent > 1 else ''}", Phase.RESPONSE, metrics)
        low, high, avg = min(rtts), max(rtts), sum(rtts) / received
        metrics.update(rtt_min_ms=_ms(low), rtt_avg_ms=_ms(avg), rtt_max_ms=_ms(high))
        summary = (f"{named}: {received}/{sent} replies, {loss:g}% loss, rtt min/avg/max "
                   f"{_ms(low):g}/{_ms(avg):g}/{_ms(high):g} ms")
        if loss > spec.max_loss:
            return Outcome(Status.CRITICAL, f"{summary}, loss above max_loss {spec.max_loss:g}%",
                           Phase.RESPONSE, metrics)
        if spec.max_rtt is not None and avg > spec.max_rtt:
            return Outcome(Status.WARNING, f"{summary}, average above max_rtt "
                                           f"{format_duration(spec.max_rtt)}", Phase.RESPONSE,
                           metrics)
        return Outcome.ok(summary, metrics)


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)

