"""The ``icmp`` kind's keys and their parsing, importable without network libraries.

The check itself (:mod:`monitord.checks.icmp`) is imported when a check is built.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from monitord.checks._options import host, is_ip
from monitord.checks.kind import CheckKind, Kind, deferred
from monitord.config.reader import Table, to_duration

FAMILIES = {"auto": socket.AF_UNSPEC, "ipv4": socket.AF_INET, "ipv6": socket.AF_INET6}


@dataclass(frozen=True, slots=True)
class IcmpSpec:
    host: str
    count: int = 3
    max_loss: float = 50.0  # percent; CRITICAL above
    max_rtt: float | None = None  # seconds, on the average; WARNING above
    family: str = "auto"

    @property
    def target(self) -> str:
        return self.host


def parse(table: Table) -> IcmpSpec:
    spec = IcmpSpec(
        host=host(table),
        count=table.int("count", 3, minimum=1, maximum=20),
        max_loss=table.float("max_loss", 50.0, minimum=0.0, maximum=100.0),
        max_rtt=table.optional("max_rtt", to_duration),
        family=table.choice("family", tuple(FAMILIES), "auto"),
    )
    if spec.max_rtt is not None and spec.max_rtt <= 0:
        table.error("max_rtt", "expected a duration above zero")
    if is_ip(spec.host) and spec.family != "auto":
        literal = "ipv6" if ":" in spec.host else "ipv4"
        if literal != spec.family:
            table.error("family", f'"{spec.family}" contradicts the {literal} address '
                                  f"{spec.host}")
    return spec


KIND: CheckKind = Kind("icmp", parse, deferred("monitord.checks.icmp", "IcmpCheck"))
