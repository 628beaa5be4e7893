"""Zone texts and check construction for the DNS tests.

Zones are written as text (what an operator would write), so a test reads like the broken
setup it reproduces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from monitord.checks.kind import CheckKind
from monitord.config.reader import ConfigInvalid, Problems, Table
from monitord.config.schema import CheckConfig, build_check


def zone_text(
    origin: str,
    serial: int = 1,
    ns: Sequence[str] = ("ns1", "ns2"),
    records: Sequence[str] = (),
    refresh: int = 3600,
    retry: int = 600,
    expire: int = 1209600,
    ttl: int = 300,
) -> str:
    """A zone file: SOA (mname = first NS), the NS set, then ``records`` as written."""
    lines = [
        f"$ORIGIN {origin.rstrip('.')}.",
        f"$TTL {ttl}",
        f"@ IN SOA {ns[0]} hostmaster {serial} {refresh} {retry} {expire} 300",
    ]
    lines += [f"@ IN NS {name}" for name in ns]
    lines += list(records)
    return "\n".join(lines) + "\n"


def make_check(kind: CheckKind, data: Mapping[str, Any], timeout: float = 5.0) -> CheckConfig:
    """A validated CheckConfig for one check table; raises ConfigInvalid listing the errors."""
    problems = Problems("test.toml")
    table = Table(problems, 'check[0] "t"', {"timeout": f"{timeout}s", **data})
    config = build_check(table, "t", kind.name, kind, "here")
    if problems or config is None:
        raise ConfigInvalid(problems.errors)
    return config


def config_errors(kind: CheckKind, data: Mapping[str, Any]) -> list[str]:
    """The error messages a check table produces (empty when valid)."""
    problems = Problems("test.toml")
    build_check(Table(problems, 'check[0] "t"', dict(data)), "t", kind.name, kind, "here")
    return [e.message for e in problems.errors]
