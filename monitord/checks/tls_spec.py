"""The ``tls`` kind's keys and their parsing, importable without network libraries.

The check itself (:mod:`monitord.checks.tls`) is imported when a check is built.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitord.checks._options import DEFAULT_TLS, TlsOptions, host, port, tls_options, to_host
from monitord.checks.kind import CheckKind, Kind, deferred
from monitord.config.durations import format_duration
from monitord.config.reader import Table

DAY = 86400.0


@dataclass(frozen=True, slots=True)
class TlsSpec:
    host: str
    port: int = 443
    server_name: str = ""  # SNI and the name checked in the certificate; default: host
    tls: TlsOptions = DEFAULT_TLS
    warn_before: float = 21 * DAY
    crit_before: float = 7 * DAY

    @property
    def target(self) -> str:
        return self.host


def parse(table: Table) -> TlsSpec:
    spec = TlsSpec(
        host=host(table),
        port=port(table, 443),
        server_name=table.get("server_name", to_host, ""),
        tls=tls_options(table),
        warn_before=table.duration("warn_before", 21 * DAY),
        crit_before=table.duration("crit_before", 7 * DAY),
    )
    if spec.crit_before > spec.warn_before:
        table.error("crit_before", f"expected at most warn_before "
                                   f"({format_duration(spec.warn_before)}), got "
                                   f"{format_duration(spec.crit_before)}")
    return spec


KIND: CheckKind = Kind("tls", parse, deferred("monitord.checks.tls", "TlsCheck"))
