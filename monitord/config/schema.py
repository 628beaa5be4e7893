"""The typed, frozen configuration objects and the parsers of the core sections.

Feature sections (alerting, routes, receivers, SNMP traps, …) are parsed by their own modules
and attached to :class:`Config` by :mod:`monitord.config.load`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitord import eventloop
from monitord.config.reader import SecretRef, Table, to_str

if TYPE_CHECKING:
    from monitord.checks.base import CheckSpec

CHECK_NAME = re.compile(r"[a-z0-9._-]+")
LOCATION_NAME = re.compile(r"[a-z0-9._-]+")
COMMON_CHECK_KEYS = (
    "name", "type", "interval", "retry_interval", "timeout", "confirm", "labels", "depends_on",
    "locations", "quorum", "enabled", "description", "flap_low", "flap_high",
)


@dataclass(frozen=True, slots=True)
class HostPort:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_host_port(text: str, default_port: int | None = None) -> HostPort:
    """``"127.0.0.1:9300"``, ``"[::1]:53"``, ``"::1"`` or ``"host"`` (with a default port)."""
    text = text.strip()
    host, port_text = text, None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError(f"expected [address]:port, got {text!r}")
        host, rest = text[1:end], text[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"expected [address]:port, got {text!r}")
            port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    if port_text is None:
        if default_port is None:
            raise ValueError(f"expected host:port, got {text!r}")
        return HostPort(host, default_port)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"expected a port from 1 to 65535 in {text!r}")
    if not host:
        raise ValueError(f"expected a host before the port in {text!r}")
    return HostPort(host, int(port_text))


def to_zone(value: object) -> ZoneInfo:
    name = to_str(value)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f'unknown time zone "{name}" (expected an IANA name like '
                         f'"Europe/Paris")') from None


@dataclass(frozen=True, slots=True)
class SelfHeartbeat:
    url: str
    interval: float
    timeout: float


@dataclass(frozen=True, slots=True)
class MonitordSection:
    location: str = "local"
    state_dir: Path = Path("/var/lib/monitord")
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    log_format: str = "json"
    log_level: str = "info"
    resolvers: tuple[HostPort, ...] = ()
    max_concurrent_checks: int = 1000
    max_checks_per_host: int = 16
    self_heartbeat: SelfHeartbeat | None = None
    event_loop: str = "auto"
    log_results: str = "changes"


@dataclass(frozen=True, slots=True)
class ApiSection:
    listen: HostPort | None = HostPort("127.0.0.1", 9300)
    token: SecretRef | None = None
    anonymous_read: bool = False
    external_url: str = ""


@dataclass(frozen=True, slots=True)
class CheckConfig:
    """One check, with ``[defaults]`` already applied. ``spec`` holds the kind's own keys."""

    name: str
    type: str
    spec: CheckSpec
    interval: float = 60.0
    retry_interval: float = 15.0
    timeout: float = 10.0
    confirm: int = 3
    labels: Mapping[str, str] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()
    quorum: int = 1
    enabled: bool = True
    description: str = ""
    flap_low: float | None = None
    flap_high: float | None = None

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "critical")

    def alert_labels(self) -> dict[str, str]:
        """The labels every alert of this check carries (contract: check, type, severity)."""
        return {**self.labels, "check": self.name, "type": self.type, "severity": self.severity}


def parse_monitord(table: Table | None, base_dir: Path) -> MonitordSection:
    if table is None:
        return MonitordSection()
    location = table.str("location", "local")
    if not LOCATION_NAME.fullmatch(location):
        table.error("location", f"expected a name made of a-z 0-9 . _ -, got \"{location}\"")
    state_dir = Path(table.str("state_dir", "/var/lib/monitord"))
    if not state_dir.is_absolute():
        state_dir = base_dir / state_dir
    zone = table.get("timezone", to_zone, ZoneInfo("UTC"))
    resolvers: list[HostPort] = []
    for text in table.str_list("resolvers"):
        try:
            resolvers.append(parse_host_port(text, default_port=53))
        except ValueError as exc:
            table.error("resolvers", str(exc))
    heartbeat = None
    sub = table.table("self_heartbeat")
    if sub is not None:
        heartbeat = SelfHeartbeat(
            url=sub.str("url"), interval=sub.duration("interval", 60.0),
            timeout=sub.duration("timeout", 10.0),
        )
        sub.finish()
    section = MonitordSection(
        location=location,
        state_dir=state_dir,
        timezone=zone,
        log_format=table.choice("log_format", ("json", "console"), "json"),
        log_level=table.choice("log_level", ("debug", "info", "warning", "error"), "info"),
        resolvers=tuple(resolvers),
        max_concurrent_checks=table.int("max_concurrent_checks", 1000, minimum=1),
        max_checks_per_host=table.int("max_checks_per_host", 16, minimum=1),
        self_heartbeat=heartbeat,
        event_loop=table.choice("event_loop", eventloop.CHOICES, "auto"),
        log_results=table.choice("log_results", ("changes", "all"), "changes"),
    )
    table.finish()
    return section


def parse_api(table: Table | None) -> ApiSection:
    if table is None:
        return ApiSection()
    listen: HostPort | None = None
    text = table.str("listen", "127.0.0.1:9300")
    if text:  # an empty string disables the API
        try:
            listen = parse_host_port(text)
        except ValueError as exc:
            table.error("listen", str(exc))
    section = ApiSection(
        listen=listen,
        token=table.secret("token", required=False),
        anonymous_read=table.bool("anonymous_read", False),
        external_url=table.str("external_url", ""),
    )
    table.finish()
    return section


def parse_check(table: Table, location: str, kinds: Mapping[str, Any]) -> CheckConfig | None:
    """A ``[[check]]`` table (``[defaults]`` in ``table.inherited``); None when unusable."""
    name = table.str("name")
    if name and not CHECK_NAME.fullmatch(name):
        table.error("name", f'expected a name made of a-z 0-9 . _ -, got "{name}"')
    type_name = table.str("type")
    kind = kinds.get(type_name)
    if type_name and kind is None:
        table.error("type", f'unknown check type "{type_name}" (expected one of '
                            f"{', '.join(sorted(kinds))})")
    return build_check(table, name, type_name, kind, location)


def build_check(table: Table, name: str, type_name: str, kind: Any,
                location: str) -> CheckConfig | None:
    """The common keys of any check, plus its kind's own (shared with [[domain]] expansion)."""
    interval = table.duration("interval", 60.0)
    labels = table.str_map("labels")
    severity = labels.get("severity", "critical")
    if severity not in ("critical", "warning", "info"):
        table.error("labels", f'severity: expected critical, warning or info, got "{severity}"')
    common: dict[str, Any] = {
        "interval": interval,
        "retry_interval": table.duration("retry_interval", min(15.0, interval)),
        "timeout": table.duration("timeout", 10.0),
        "confirm": table.int("confirm", 3, minimum=1, maximum=20),
        "labels": labels,
        "depends_on": table.str_list("depends_on"),
        "locations": table.str_list("locations", (location,)) or (location,),
        "quorum": table.int("quorum", 1, minimum=1),
        "enabled": table.bool("enabled", True),
        "description": table.str("description", ""),
        "flap_low": table.optional("flap_low", _percent),
        "flap_high": table.optional("flap_high", _percent),
    }
    if common["quorum"] > len(common["locations"]):
        table.error("quorum", f"expected at most the number of locations "
                              f"({len(common['locations'])}), got {common['quorum']}")
    if kind is None:
        table.finish(extra_known=[k for k in table.data if k not in COMMON_CHECK_KEYS])
        return None
    spec = kind.parse(table)
    table.finish()
    return CheckConfig(name=name, type=type_name, spec=spec, **common)


def _percent(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
        raise ValueError(f"expected a percentage from 0 to 100, got {value!r}")
    return float(value)
