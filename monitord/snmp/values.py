"""What an SNMP read returns, as plain Python values (no pysnmp types past the session)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass


class Absent(enum.Enum):
    """The SNMPv2 exception values: the agent answered, but has no such value."""

    NO_SUCH_OBJECT = "noSuchObject"
    NO_SUCH_INSTANCE = "noSuchInstance"
    END_OF_MIB_VIEW = "endOfMibView"


# Integers (Integer32, Gauge32, Counter32/64, TimeTicks), strings (OCTET STRING decoded as
# UTF-8, OIDs and IP addresses in dotted form) or an exception value.
Value = int | str | Absent
# column OID -> row index (the OID suffix after the column, e.g. "3") -> value
Columns = Mapping[str, Mapping[str, Value]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a poll goes (after name resolution) and how hard it tries."""

    address: str
    port: int
    timeout: float  # per attempt
    retries: int

    def __str__(self) -> str:
        return f"[{self.address}]:{self.port}" if ":" in self.address else \
            f"{self.address}:{self.port}"


def index_key(index: str) -> tuple[int, ...]:
    """Numeric order of row indexes ("10" after "9")."""
    try:
        return tuple(int(part) for part in index.split("."))
    except ValueError:
        return (2**63,)


def as_text(value: Value | None) -> str:
    if value is None or isinstance(value, Absent):
        return ""
    return str(value)


def as_int(value: Value | None) -> int | None:
    return value if isinstance(value, int) else None
