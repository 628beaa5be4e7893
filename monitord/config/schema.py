"""The typed, frozen configuration objects and the parsers of the core sections.

Here are the keys every check shares (:class:`CheckConfig`); a check kind's own keys are read
by the kind into its :class:`CheckSpec`. Feature sections (alerting, routes, receivers, SNMP
traps, …) are parsed by their own modules and attached to ``Config`` by
:mod:`monitord.configfile`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitord.config.durations import format_duration
from monitord.config.reader import SecretRef, Table, describe_value, to_str

CHECK_NAME = re.compile(r"[a-z0-9._-]+")
LOCATION_NAME = re.compile(r"[a-z0-9._-]+")
LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # Prometheus label name syntax
EVENT_LOOPS = ("auto", "asyncio", "uvloop")  # [monitord] event_loop (monitord.eventloop)
# Bounds of interval, retry_interval and timeout: below 100 ms a check is a load generator;
# beyond 30 days (or 1 h for a timeout) the value is a typo, and a huge one overflows dates.
SHORTEST = 0.1
HOUR = 3600.0
DAY_SECONDS = 86400.0
MAX_INTERVAL = 30 * DAY_SECONDS
COMMON_CHECK_KEYS = (
    "name", "type", "interval", "retry_interval", "timeout", "confirm", "labels", "depends_on",
    "locations", "quorum", "enabled", "description", "flap_low", "flap_high",
)


class CheckSpec(Protocol):
    """A kind's own settings, frozen. ``target`` names the host for the per-host cap."""

    @property
    def target(self) -> str: ...


class SpecParser(Protocol):
    """What the common-key parsers need of a check kind (a kind is one)."""

    def parse(self, table: Table) -> CheckSpec:
        """Read the kind's keys; record errors on ``table``, never raise."""
        ...


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
            raise ValueError(f'expected [address]:port, got "{text}"')
        host, rest = text[1:end], text[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f'expected [address]:port, got "{text}"')
            port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    if port_text is None:
        if default_port is None:
            raise ValueError(f'expected host:port, got "{text}"')
        return HostPort(host, default_port)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f'expected a port from 1 to 65535 in "{text}"')
    if not host:
        raise ValueError(f'expected a host before the port in "{text}"')
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
    log_results: str = "changes"  # "all": every check run at info; "changes": runs at debug
    resolvers: tuple[HostPort, ...] = ()
    max_concurrent_checks: int = 1000
    max_checks_per_host: int = 16
    self_heartbeat: SelfHeartbeat | None = None
    history_raw: float = 48 * 3600.0  # raw results kept this long, then 5-minute rollups
    history_retention: float = 30 * 86400.0
    event_loop: str = "auto"  # auto | asyncio | uvloop (monitord.eventloop)


@dataclass(frozen=True, slots=True)
class ApiSection:
    listen: HostPort | None = HostPort("127.0.0.1", 9300)
    token: SecretRef | None = None
    anonymous_read: bool = False
    external_url: str = ""
    public_status: bool = False  # GET /public: services and availability, nothing else
    request_timeout: float = 10.0  # to receive a request's headers, and again its body
    max_connections: int = 256  # open at once; more are closed at once
    tls_cert_file: str | None = None  # both set: the API is served over HTTPS
    tls_key_file: str | None = None


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
    # The keys as written (defaults applied): what the central daemon ships to a probe agent,
    # which parses them itself. Secrets in it are references (*_file, *_env), never values.
    source: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

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
            resolver = parse_host_port(text, default_port=53)
            ipaddress.ip_address(resolver.host)  # a name server is an address, not a name
        except ValueError as exc:
            table.error("resolvers", f"expected IP addresses like \"127.0.0.1\" or "
                                     f"\"[::1]:5353\", got {text!r} ({exc})")
            continue
        resolvers.append(resolver)
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
        log_results=table.choice("log_results", ("changes", "all"), "changes"),
        resolvers=tuple(resolvers),
        max_concurrent_checks=table.int("max_concurrent_checks", 1000, minimum=1),
        max_checks_per_host=table.int("max_checks_per_host", 16, minimum=1),
        self_heartbeat=heartbeat,
        history_raw=table.duration("history_raw", 48 * 3600.0),
        history_retention=table.duration("history_retention", 30 * 86400.0),
        event_loop=table.choice("event_loop", EVENT_LOOPS, "auto"),
    )
    if section.history_retention < section.history_raw:
        table.error("history_retention", "must be at least history_raw")
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
        external_url=_external_url(table),
        request_timeout=table.duration("request_timeout", 10.0),
        max_connections=table.int("max_connections", 256, minimum=1, maximum=100_000),
        public_status=table.bool("public_status", False),
        tls_cert_file=table.file_path("tls_cert_file"),
        tls_key_file=table.file_path("tls_key_file"),
    )
    if (section.tls_cert_file is None) != (section.tls_key_file is None):
        table.error("tls_cert_file", "give both tls_cert_file and tls_key_file, or neither")
    table.finish()
    return section


def _external_url(table: Table) -> str:
    """Where people reach the API (links in notifications): an absolute http(s) URL."""
    text = table.str("external_url", "")
    if not text:
        return ""
    scheme, sep, rest = text.partition("://")
    host = rest.split("/", 1)[0]
    if (scheme not in ("http", "https") or not sep or not host or any(c.isspace() for c in text)
            or "@" in host):
        table.error("external_url", f'expected an http:// or https:// URL like '
                                    f'"https://monitord.example.net", got "{text}"')
        return ""
    return text.rstrip("/")


def parse_check(table: Table, location: str,
                kinds: Mapping[str, SpecParser]) -> CheckConfig | None:
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


def build_check(table: Table, name: str, type_name: str, kind: SpecParser | None,
                location: str) -> CheckConfig | None:
    """The common keys of any check, plus its kind's own (shared with [[domain]] expansion)."""
    interval = _bounded(table, "interval", 60.0)
    labels = table.str_map("labels")
    for label in labels:
        if not LABEL_NAME.fullmatch(label):
            table.error("labels", f'label name "{label}": expected letters, digits and _ '
                                  f"(not starting with a digit)")
    severity = labels.get("severity", "critical")
    if severity not in ("critical", "warning", "info"):
        table.error("labels", f'severity: expected critical, warning or info, got "{severity}"')
    common: dict[str, Any] = {
        "interval": interval,
        "retry_interval": _bounded(table, "retry_interval", min(15.0, interval)),
        "timeout": _bounded(table, "timeout", 10.0, longest=HOUR),
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
    low, high = common["flap_low"], common["flap_high"]
    if low is not None and high is not None and low > high:
        table.error("flap_low", f"expected at most flap_high ({high:g}), got {low:g}")
    if common["quorum"] > len(common["locations"]):
        table.error("quorum", f"expected at most the number of locations "
                              f"({len(common['locations'])}), got {common['quorum']}")
    if kind is None:
        table.finish(extra_known=[k for k in table.data if k not in COMMON_CHECK_KEYS])
        return None
    spec = kind.parse(table)
    source = table.values_read()
    table.finish()
    return CheckConfig(name=name, type=type_name, spec=spec, **common,
                       source={**source, "name": name, "type": type_name})


def _bounded(table: Table, key: str, default: float, *, longest: float = MAX_INTERVAL) -> float:
    """A check's interval, retry_interval or timeout: from SHORTEST to ``longest``."""
    value = table.duration(key, default)
    if value < SHORTEST or value > longest:
        table.error(key, f"expected a duration from {format_duration(SHORTEST)} to "
                         f"{format_duration(longest)}, got {describe_value(table.raw(key))}")
        return default
    return value


def _percent(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
        raise ValueError(f'expected a percentage from 0 to 100, got "{value}"')
    return float(value)
