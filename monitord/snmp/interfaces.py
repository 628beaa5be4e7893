"""IF-MIB interfaces: which ones to watch, and whether those are up (pure functions)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from monitord.model import Outcome, Phase, Status
from monitord.snmp import oids
from monitord.snmp.values import Columns, as_int, as_text, index_key

# The columns the interfaces mode walks, side by side (ifTable and ifXTable share ifIndex).
# ifDescr is walked only when it is needed (include/exclude patterns, or no ifName): decoding
# is most of the CPU a poll costs, and it grows with the number of values.
ESSENTIAL = (oids.IF_ADMIN_STATUS, oids.IF_OPER_STATUS, oids.IF_NAME, oids.IF_ALIAS)
COLUMNS = (oids.IF_DESCR, *ESSENTIAL)
MAX_NAMED = 5  # interfaces named in a summary; the rest are counted


@dataclass(frozen=True, slots=True)
class Interface:
    index: str
    name: str  # ifName, else ifDescr, else "ifIndex N"
    descr: str
    alias: str
    admin: int | None
    oper: int | None

    @property
    def labels(self) -> tuple[str, ...]:
        """What include/exclude patterns are matched against."""
        return tuple(label for label in (self.name, self.descr, self.alias) if label)

    @property
    def oper_name(self) -> str:
        if self.oper is None:
            return "no ifOperStatus"
        return oids.IF_OPER_NAMES.get(self.oper, f"status {self.oper}")

    def describe(self) -> str:
        text = f"{self.name} ({self.oper_name})"
        return f'{text} "{self.alias}"' if self.alias else text


def interfaces_from(columns: Columns) -> list[Interface]:
    """One :class:`Interface` per ifIndex seen in any column, in ifIndex order."""
    indexes: set[str] = set()
    for column in COLUMNS:
        indexes.update(columns.get(column, {}))
    found = []
    for index in sorted(indexes, key=index_key):
        descr = as_text(columns.get(oids.IF_DESCR, {}).get(index))
        name = as_text(columns.get(oids.IF_NAME, {}).get(index)) or descr or f"ifIndex {index}"
        found.append(Interface(
            index=index, name=name, descr=descr,
            alias=as_text(columns.get(oids.IF_ALIAS, {}).get(index)),
            admin=as_int(columns.get(oids.IF_ADMIN_STATUS, {}).get(index)),
            oper=as_int(columns.get(oids.IF_OPER_STATUS, {}).get(index)),
        ))
    return found


def needs_descr(columns: Columns) -> bool:
    """Whether some interface has no ifName, so that ifDescr must name it."""
    names = columns.get(oids.IF_NAME, {})
    return any(not as_text(names.get(index)) for index in columns.get(oids.IF_ADMIN_STATUS, {}))


def selected(labels: Sequence[str], include: Sequence[re.Pattern[str]],
             exclude: Sequence[re.Pattern[str]]) -> bool:
    """Anchored patterns: included when any label matches an include pattern (or there are
    none), unless any label matches an exclude pattern."""
    def matches(patterns: Sequence[re.Pattern[str]]) -> bool:
        return any(p.fullmatch(label) for p in patterns for label in labels)

    return (not include or matches(include)) and not matches(exclude)


def evaluate(interfaces: Sequence[Interface], include: Sequence[re.Pattern[str]],
             exclude: Sequence[re.Pattern[str]]) -> Outcome:
    """CRITICAL when a watched interface is administratively up but not operationally up."""
    if not interfaces:
        return Outcome(Status.CRITICAL, "the agent has no IF-MIB interfaces (ifTable is empty "
                                        "or not in its view)", Phase.CONTENT)
    chosen = [i for i in interfaces if selected(i.labels, include, exclude)]
    if not chosen:
        return Outcome(Status.CRITICAL, f"no interface matches include/exclude "
                                        f"({len(interfaces)} on the device)", Phase.CONTENT)
    # Only "up" counts as administratively up: down and testing are an operator's choice.
    watched = [i for i in chosen if i.admin in (None, oids.ADMIN_UP)]
    down = [i for i in watched if i.oper != oids.OPER_UP]
    ignored = len(chosen) - len(watched)
    metrics = {"interfaces": float(len(watched)), "interfaces_down": float(len(down)),
               "interfaces_admin_down": float(ignored)}
    suffix = f" ({ignored} administratively down, ignored)" if ignored else ""
    if not down:
        return Outcome(Status.OK, f"{len(watched)} interfaces up{suffix}", None, metrics)
    named = ", ".join(i.describe() for i in down[:MAX_NAMED])
    more = f" and {len(down) - MAX_NAMED} more" if len(down) > MAX_NAMED else ""
    return Outcome(Status.CRITICAL, f"{len(down)} of {len(watched)} interfaces down: "
                                    f"{named}{more}{suffix}", Phase.SNMP, metrics)
