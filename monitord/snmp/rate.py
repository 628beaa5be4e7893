"""The ``rate`` mode: interface counters turned into rates between two polls (pure).

Octets come from the 64-bit ifHC*Octets counters, which never wrap in practice (2^64 bytes
is 46 years at 100 Gbit/s), so any decrease is a reset: the interval is skipped and the new
value becomes the baseline. The same holds for the 32-bit error and discard counters (a wrap
would need 4 billion errors in one interval; skipping one interval is the safe reading). A
reboot (see :mod:`monitord.snmp.uptime`), a changed ifCounterDiscontinuityTime or an ifIndex
now naming another interface also reset the baseline, and so does a jump above ten times the
interface speed: no absurd rates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from monitord.model import Outcome, Phase, Status
from monitord.snmp import oids
from monitord.snmp.interfaces import MAX_NAMED, selected
from monitord.snmp.spec import SnmpSpec
from monitord.snmp.thresholds import breach
from monitord.snmp.uptime import Change, UptimeSample, compare
from monitord.snmp.values import Columns, as_int, as_text, index_key

# More than ten times the interface speed is not traffic but a counter that jumped (a line
# card swapped, an agent bug); a wrong ifHighSpeed, as on some LAGs, stays well below.
IMPLAUSIBLE = 10

COLUMNS = (oids.IF_DESCR, oids.IF_OPER_STATUS, oids.IF_IN_DISCARDS, oids.IF_IN_ERRORS,
           oids.IF_OUT_DISCARDS, oids.IF_OUT_ERRORS, oids.IF_NAME, oids.IF_HC_IN_OCTETS,
           oids.IF_HC_OUT_OCTETS, oids.IF_HIGH_SPEED, oids.IF_ALIAS,
           oids.IF_COUNTER_DISCONTINUITY)


@dataclass(frozen=True, slots=True)
class Counters:
    name: str
    labels: tuple[str, ...]
    oper: int | None
    speed: int | None  # ifHighSpeed, Mbit/s
    in_octets: int | None
    out_octets: int | None
    errors: int | None  # in + out
    discards: int | None  # in + out
    discontinuity: int | None

    def counters(self) -> tuple[int | None, ...]:
        return (self.in_octets, self.out_octets, self.errors, self.discards)


@dataclass(frozen=True, slots=True)
class CounterSample:
    uptime: UptimeSample
    interfaces: Mapping[str, Counters]


@dataclass(frozen=True, slots=True)
class Rate:
    name: str
    speed: int | None
    in_bps: float
    out_bps: float
    errors: float  # per second
    discards: float

    def percent(self, bps: float) -> float | None:
        return bps / (self.speed * 1e4) if self.speed else None  # Mbit/s -> % of it


def _sum(*values: int | None) -> int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def sample_from(columns: Columns, uptime: UptimeSample) -> CounterSample:
    def col(column: str, index: str) -> int | None:
        return as_int(columns.get(column, {}).get(index))

    found: dict[str, Counters] = {}
    for index in sorted(columns.get(oids.IF_HC_IN_OCTETS, {}), key=index_key):
        descr = as_text(columns.get(oids.IF_DESCR, {}).get(index))
        name = as_text(columns.get(oids.IF_NAME, {}).get(index)) or descr or f"ifIndex {index}"
        alias = as_text(columns.get(oids.IF_ALIAS, {}).get(index))
        found[index] = Counters(
            name=name, labels=tuple(x for x in (name, descr, alias) if x),
            oper=col(oids.IF_OPER_STATUS, index), speed=col(oids.IF_HIGH_SPEED, index),
            in_octets=col(oids.IF_HC_IN_OCTETS, index),
            out_octets=col(oids.IF_HC_OUT_OCTETS, index),
            errors=_sum(col(oids.IF_IN_ERRORS, index), col(oids.IF_OUT_ERRORS, index)),
            discards=_sum(col(oids.IF_IN_DISCARDS, index), col(oids.IF_OUT_DISCARDS, index)),
            discontinuity=col(oids.IF_COUNTER_DISCONTINUITY, index),
        )
    return CounterSample(uptime, found)


def _delta(before: int | None, after: int | None) -> int | None:
    if before is None or after is None:
        return 0
    return after - before if after >= before else None


def rates(previous: CounterSample, current: CounterSample,
          indexes: list[str]) -> tuple[list[Rate], int]:
    """Rates of the interfaces ``indexes`` and how many had to take a new baseline."""
    elapsed = current.uptime.at - previous.uptime.at
    found: list[Rate] = []
    resets = 0
    for index in indexes:
        now, before = current.interfaces[index], previous.interfaces.get(index)
        if before is None or before.name != now.name or before.discontinuity != now.discontinuity:
            resets += 1
            continue
        deltas = [_delta(b, a) for b, a in zip(before.counters(), now.counters(), strict=True)]
        if any(d is None for d in deltas) or elapsed <= 0:
            resets += 1
            continue
        d_in, d_out, d_err, d_disc = (float(d or 0) for d in deltas)
        if now.speed and max(d_in, d_out) * 8 / elapsed > IMPLAUSIBLE * now.speed * 1e6:
            resets += 1  # a jump no link can carry: an unsignalled discontinuity
            continue
        found.append(Rate(now.name, now.speed, d_in * 8 / elapsed, d_out * 8 / elapsed,
                          d_err / elapsed, d_disc / elapsed))
    return found, resets


def evaluate(spec: SnmpSpec, previous: CounterSample | None,
             current: CounterSample) -> Outcome:
    if not current.interfaces:
        return Outcome(Status.CRITICAL, "the agent has no 64-bit interface counters "
                                        "(IF-MIB ifHCInOctets)", Phase.CONTENT)
    indexes = [i for i, c in current.interfaces.items()
               if selected(c.labels, spec.include, spec.exclude)]
    if not indexes:
        return Outcome(Status.CRITICAL, f"no interface matches include/exclude "
                                        f"({len(current.interfaces)} on the device)",
                       Phase.CONTENT)
    indexes = [i for i in indexes if current.interfaces[i].oper in (None, oids.OPER_UP)]
    if previous is None:
        return Outcome.ok(f"baseline taken for {len(indexes)} interfaces; rates from the "
                          f"next poll")
    if compare(previous.uptime, current.uptime) is Change.REBOOTED:
        return Outcome.ok(f"the device rebooted: counters restarted, baseline taken again "
                          f"for {len(indexes)} interfaces")
    found, resets = rates(previous, current, indexes)
    return _judge(spec, found, resets)


def _judge(spec: SnmpSpec, found: list[Rate], resets: int) -> Outcome:
    problems: list[tuple[Status, float, str]] = []
    busiest: tuple[float, str] | None = None
    for rate in found:
        for direction, bps in (("in", rate.in_bps), ("out", rate.out_bps)):
            pct = rate.percent(bps)
            if pct is None:
                continue
            text = f"{rate.name} {direction} {pct:.1f}% of {_speed(rate.speed)}"
            if busiest is None or pct > busiest[0]:
                busiest = (pct, text)
            status, crossed = breach(pct, spec.warn, spec.crit)
            if status is not Status.OK:
                problems.append((status, pct, f"{text} ({crossed}%)"))
        bad = rate.errors + rate.discards
        status, crossed = breach(bad, spec.error_warn, spec.error_crit)
        if status is not Status.OK:
            problems.append((status, bad, f"{rate.name} {bad:.1f} errors+discards/s "
                                          f"({crossed})"))
    metrics = {
        "interfaces": float(len(found)),
        "max_util_pct": round(busiest[0], 3) if busiest else 0.0,
        "in_bps": sum(r.in_bps for r in found),
        "out_bps": sum(r.out_bps for r in found),
        "errors_per_s": sum(r.errors for r in found),
        "discards_per_s": sum(r.discards for r in found),
        "counter_resets": float(resets),
    }
    reset_note = f"; {resets} counters reset, baseline taken again" if resets else ""
    if not problems:
        lead = f"busiest {busiest[1]}" if busiest else "no interface speed known"
        return Outcome.ok(f"{len(found)} interfaces, {lead}{reset_note}", metrics)
    problems.sort(key=lambda p: (p[0] is not Status.CRITICAL, -p[1]))
    named = "; ".join(text for _, _, text in problems[:MAX_NAMED])
    more = f" and {len(problems) - MAX_NAMED} more" if len(problems) > MAX_NAMED else ""
    worst = Status.worst([p[0] for p in problems])
    return Outcome(worst, f"{named}{more}{reset_note}", Phase.SNMP, metrics)


def _speed(mbps: int | None) -> str:
    if not mbps:
        return "unknown speed"
    if mbps >= 1000 and mbps % 1000 == 0:
        return f"{mbps // 1000} Gbit/s"
    return f"{mbps} Mbit/s"
