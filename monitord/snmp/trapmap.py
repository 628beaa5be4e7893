"""What a received trap means for the checks of the device that sent it (pure).

A trap is a hint, never the last word: every recognised trap asks for an immediate re-poll of
the device's checks, and only problems become results of their own:

=====================  ============================================  =========================
trap                   result                                        for the checks in mode
=====================  ============================================  =========================
linkDown               CRITICAL (none if the port is admin down)     interfaces (include/exclude
                                                                     applied when it is named)
linkUp                 none: one port up says nothing of the others  —
coldStart, warmStart   WARNING (the device restarted)                uptime
authenticationFailure  WARNING (someone used bad credentials)        all of the device's
configured [[trap]]    its ``status``                                all of the device's
=====================  ============================================  =========================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from monitord.config.schema import CheckConfig
from monitord.model import Status
from monitord.snmp import oids
from monitord.snmp.interfaces import selected
from monitord.snmp.spec import SnmpSpec
from monitord.snmp.trap_config import EnterpriseTrap
from monitord.snmp.values import Value, as_int, as_text

_GENERIC = {
    oids.COLD_START: "coldStart", oids.WARM_START: "warmStart", oids.LINK_DOWN: "linkDown",
    oids.LINK_UP: "linkUp", oids.AUTHENTICATION_FAILURE: "authenticationFailure",
}
_IF_COLUMNS = {oids.IF_NAME: "name", oids.IF_DESCR: "descr", oids.IF_ALIAS: "alias",
               oids.IF_ADMIN_STATUS: "admin", oids.IF_OPER_STATUS: "oper",
               "1.3.6.1.2.1.2.2.1.1": "index"}


@dataclass(frozen=True, slots=True)
class Trap:
    sender: str  # the UDP source address
    oid: str  # snmpTrapOID.0 ("" when the notification carried none)
    varbinds: tuple[tuple[str, Value], ...] = ()
    version: str = "2c"  # "1", "2c" or "3"
    inform: bool = False

    @property
    def name(self) -> str:
        return _GENERIC.get(self.oid, self.oid)


@dataclass(frozen=True, slots=True)
class Hint:
    trap: str  # linkDown, or the configured name
    summary: str
    status: Status | None = None  # None: re-poll only
    modes: tuple[str, ...] | None = None  # modes of the checks that get the result; None: all
    interface: tuple[str, ...] = ()  # the port's names, matched against include/exclude


def interpret(trap: Trap, enterprise: Mapping[str, EnterpriseTrap]) -> Hint | None:
    """The meaning of ``trap``; None for a trap monitord does not know (counted, ignored)."""
    source = f"{trap.name} trap from {trap.sender}"
    if trap.oid in (oids.LINK_DOWN, oids.LINK_UP):
        port = _interface(trap.varbinds)
        names = tuple(dict.fromkeys(v for k in ("name", "descr", "alias")
                                    if (v := as_text(port.get(k)))))
        index = as_int(port.get("index"))
        where = names[0] if names else "an interface"
        where += f" (ifIndex {index})" if index is not None else ""
        if trap.oid == oids.LINK_UP:
            return Hint(trap.name, f"{source}: {where} up")
        if as_int(port.get("admin")) == oids.ADMIN_DOWN:
            return Hint(trap.name, f"{source}: {where} shut down by an operator")
        return Hint(trap.name, f"{source}: {where} down; re-polling", Status.CRITICAL,
                    ("interfaces",), names)
    if trap.oid in (oids.COLD_START, oids.WARM_START):
        return Hint(trap.name, f"{source}: the device restarted; re-polling", Status.WARNING,
                    ("uptime",))
    if trap.oid == oids.AUTHENTICATION_FAILURE:
        return Hint(trap.name, f"{source}: the device rejected a request with bad "
                               "credentials", Status.WARNING)
    known = enterprise.get(trap.oid)
    if known is not None:
        return Hint(known.name, f"{known.name} trap from {trap.sender}; re-polling",
                    known.status)
    return None


def _interface(varbinds: Sequence[tuple[str, Value]]) -> dict[str, Value]:
    """ifIndex, names and statuses of the port a link trap is about (first one named)."""
    found: dict[str, Value] = {}
    for oid, value in varbinds:
        column, _, index = oid.rpartition(".")
        key = _IF_COLUMNS.get(column)
        if key is None:
            continue
        found.setdefault(key, value)
        if index.isdigit():
            found.setdefault("index", int(index))
    return found


def recipients(hint: Hint, checks: Sequence[CheckConfig]) -> list[CheckConfig]:
    """The device's checks that get ``hint`` as a result."""
    if hint.status is None:
        return []
    chosen = []
    for check in checks:
        spec = check.spec
        if not isinstance(spec, SnmpSpec):
            continue
        if hint.modes is not None and spec.mode not in hint.modes:
            continue
        if hint.interface and not selected(hint.interface, spec.include, spec.exclude):
            continue
        chosen.append(check)
    return chosen
