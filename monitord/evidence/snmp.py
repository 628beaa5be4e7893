"""Evidence for ``snmp`` checks: the device's uptime (a reboot?) and its interfaces' error and
discard counters, read with the check's own session code and credentials."""

from __future__ import annotations

from dataclasses import dataclass

from monitord.checks._probe import Probe, ProbeFailure
from monitord.checks.base import CheckEnv
from monitord.config.schema import CheckConfig
from monitord.evidence.base import FAILED, MAX_ADDRESSES, OK, Emit, Step, found
from monitord.snmp import oids
from monitord.snmp.uptime import describe
from monitord.snmp.values import as_int, as_text

COUNTERS = (oids.IF_IN_ERRORS, oids.IF_OUT_ERRORS, oids.IF_IN_DISCARDS, oids.IF_OUT_DISCARDS)
NAMES = {oids.IF_IN_ERRORS: "in errors", oids.IF_OUT_ERRORS: "out errors",
         oids.IF_IN_DISCARDS: "in discards", oids.IF_OUT_DISCARDS: "out discards"}


@dataclass(frozen=True, slots=True)
class SnmpEvidence:
    def steps(self, config: CheckConfig, env: CheckEnv, budget: float) -> list[Step]:
        from monitord.snmp.check import SnmpCheck  # pysnmp only when SNMP is configured

        check = SnmpCheck(config, env)
        device = f"{check.spec.host}:{check.spec.port}"

        async def run(emit: Emit) -> None:
            try:
                # The check's own session set-up: same credentials, same engine.
                session = await check._session(Probe(env.clock.monotonic))
                values = await session.get([oids.SYS_UPTIME])
                ticks = as_int(values.get(oids.SYS_UPTIME))
                emit(found("snmp", f"{device} sysUpTime", OK if ticks is not None else FAILED,
                           f"up {describe(ticks / 100)}" if ticks is not None
                           else "sysUpTime cannot be read"))
                columns = await session.walk([oids.IF_DESCR, *COUNTERS])
            except ProbeFailure as failure:
                emit(found("snmp", device, FAILED, failure.summary))
                return
            names = columns.get(oids.IF_DESCR, {})
            rows = []
            for index in names:
                counts = {NAMES[c]: as_int(columns.get(c, {}).get(index)) for c in COUNTERS}
                bad = {k: v for k, v in counts.items() if v}
                if bad:
                    rows.append((sum(v or 0 for v in bad.values()), index, bad))
            for _, index, bad in sorted(rows, reverse=True)[:MAX_ADDRESSES]:
                emit(found("snmp", f"{device} {as_text(names[index])}", FAILED,
                           ", ".join(f"{k} {v}" for k, v in bad.items())))
            if not rows:
                emit(found("snmp", f"{device} interfaces", OK,
                           f"{len(names)} interfaces, no error or discard counted"))

        return [Step("snmp", device, run)]
