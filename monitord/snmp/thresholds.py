"""The ``oid`` mode: one value against warn/crit thresholds or an expected string (pure)."""

from __future__ import annotations

from monitord.model import Outcome, Phase, Status
from monitord.snmp.spec import SnmpSpec
from monitord.snmp.values import Absent, Value


def breach(value: float, warn: float | None, crit: float | None,
           below: bool = False) -> tuple[Status, str]:
    """The status of ``value`` and the threshold it crossed (``"crit 90"``), or ``""``."""
    for status, limit, name in ((Status.CRITICAL, crit, "crit"), (Status.WARNING, warn, "warn")):
        if limit is not None and (value < limit if below else value > limit):
            return status, f"{'below' if below else 'above'} {name} {limit:g}"
    return Status.OK, ""


def number(value: Value) -> float | None:
    """Integers, and strings holding a number (UCD-SNMP's laLoad is a string like "0.42")."""
    if isinstance(value, int):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def evaluate(spec: SnmpSpec, value: Value) -> Outcome:
    label = spec.label or spec.oid
    if isinstance(value, Absent):
        where = f"{spec.label} ({spec.oid})" if spec.label else spec.oid
        return Outcome(Status.CRITICAL, f"the agent has no value at {where} ({value.value})",
                       Phase.CONTENT)
    if spec.expect is not None:
        text = str(value)
        if spec.expect.fullmatch(text):
            return Outcome.ok(f"{label} = {text!r}")
        return Outcome(Status.CRITICAL, f"{label} = {text!r}, expected "
                                        f"/{spec.expect.pattern}/", Phase.SNMP)
    found = number(value)
    if found is None:
        return Outcome(Status.UNKNOWN, f"{label} = {str(value)!r} is not a number",
                       Phase.CONTENT)
    status, crossed = breach(found, spec.warn, spec.crit, spec.below)
    metrics = {"value": found}
    if status is Status.OK:
        return Outcome.ok(f"{label} = {found:g}", metrics)
    return Outcome(status, f"{label} = {found:g}, {crossed}", Phase.SNMP, metrics)
