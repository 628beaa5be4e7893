"""The ``tcp`` kind's keys and their parsing, importable without network libraries.

The check itself (:mod:`monitord.checks.tcp`) is imported when a check is built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitord.checks._options import DEFAULT_TLS, TlsOptions, host, port, size, tls_options, to_host
from monitord.checks.kind import CheckKind, Kind, deferred
from monitord.config.reader import Table, to_str

MAX_READ = 64 * 1024
CHUNK = 4096


@dataclass(frozen=True, slots=True)
class TcpSpec:
    host: str
    port: int
    send: str | None = None
    expect: re.Pattern[str] | None = None
    tls: bool = False
    server_name: str = ""  # SNI and the name checked in the certificate; default: host
    tls_options: TlsOptions = DEFAULT_TLS
    max_read: int = MAX_READ

    @property
    def target(self) -> str:
        return self.host


def parse(table: Table) -> TcpSpec:
    return TcpSpec(
        host=host(table),
        port=port(table),
        send=table.optional("send", to_str),
        expect=table.regex("expect"),
        tls=table.bool("tls", False),
        server_name=table.get("server_name", to_host, ""),
        tls_options=tls_options(table),
        max_read=size(table, "max_read", MAX_READ, minimum=1, maximum=1024 * 1024),
    )


KIND: CheckKind = Kind("tcp", parse, deferred("monitord.checks.tcp", "TcpCheck"))
