"""The keys of the ``snmp`` check kind, parsed without pysnmp.

Parsing a config must stay fast and must not load pysnmp when no SNMP check is configured, so
this module holds only the frozen spec and its parser (shared with the poller, the trap
receiver and its section); the kind itself is declared in :mod:`monitord.snmp.kind`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitord.checks._options import to_host
from monitord.config.reader import SecretRef, Table, describe_value, to_float, to_regex
from monitord.snmp.oids import normalize_oid

MODES = ("interfaces", "uptime", "oid", "rate")
VERSIONS = ("2c", "3")
# Names as net-snmp's command line tools spell them (-a / -x), so a working snmpget line
# translates directly into the config.
AUTH_PROTOCOLS = ("SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512", "MD5")
PRIV_PROTOCOLS = ("AES", "AES-192", "AES-256", "AES-192-C", "AES-256-C", "DES")

# Keys that only make sense with some modes: given elsewhere they are an error, not ignored.
_MODE_KEYS = {
    "include": ("interfaces", "rate"),
    "exclude": ("interfaces", "rate"),
    "oid": ("oid",),
    "label": ("oid",),
    "expect": ("oid",),
    "warn": ("oid", "rate"),
    "crit": ("oid", "rate"),
    "direction": ("oid",),
    "error_warn": ("rate",),
    "error_crit": ("rate",),
}


@dataclass(frozen=True, slots=True)
class CommunityAuth:
    """SNMPv2c: the community string, read when the check runs."""

    community: SecretRef


@dataclass(frozen=True, slots=True)
class UsmAuth:
    """SNMPv3 user-based security; no auth key means noAuthNoPriv, no priv key authNoPriv."""

    user: str
    auth_protocol: str = "SHA"
    auth_key: SecretRef | None = None
    priv_protocol: str = "AES"
    priv_key: SecretRef | None = None

    @property
    def level(self) -> str:
        if self.auth_key is None:
            return "noAuthNoPriv"
        return "authPriv" if self.priv_key is not None else "authNoPriv"


@dataclass(frozen=True, slots=True)
class SnmpSpec:
    host: str
    auth: CommunityAuth | UsmAuth
    mode: str = "interfaces"
    port: int = 161
    retries: int = 1
    include: tuple[re.Pattern[str], ...] = ()
    exclude: tuple[re.Pattern[str], ...] = ()
    oid: str = ""
    label: str = ""
    warn: float | None = None
    crit: float | None = None
    below: bool = False  # thresholds fire when the value drops below them (free space…)
    expect: re.Pattern[str] | None = None
    error_warn: float | None = None  # rate mode: errors + discards per second
    error_crit: float | None = None

    @property
    def target(self) -> str:
        return self.host

    @property
    def version(self) -> str:
        return "2c" if isinstance(self.auth, CommunityAuth) else "3"


def to_oid(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f'expected a numeric OID like "1.3.6.1.2.1.1.3.0", got '
                         f"{describe_value(value)}")
    return normalize_oid(value)


def to_patterns(value: object) -> tuple[re.Pattern[str], ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ValueError(f'expected an array of regular expressions like ["ge-.*"], got '
                         f"{describe_value(value)}")
    return tuple(to_regex(item) for item in value)


def parse(table: Table) -> SnmpSpec:
    host = table.get("host", to_host, "")
    if not table.has("host"):
        table.error("host", "required")
    version = table.choice("version", VERSIONS, "2c")
    auth = _parse_auth(table, version)
    mode = table.choice("mode", MODES, "interfaces")
    for key, modes in _MODE_KEYS.items():
        if key in table.data and mode not in modes:
            table.error(key, f"only used with mode = {' or '.join(modes)}")
    spec = SnmpSpec(
        host=host,
        auth=auth,
        mode=mode,
        port=table.int("port", 161, minimum=1, maximum=65535),
        retries=table.int("retries", 1, minimum=0, maximum=5),
        include=table.get("include", to_patterns, ()),
        exclude=table.get("exclude", to_patterns, ()),
        oid=table.get("oid", to_oid, ""),
        label=table.str("label", ""),
        warn=table.optional("warn", to_float),
        crit=table.optional("crit", to_float),
        below=table.choice("direction", ("above", "below"), "above") == "below",
        expect=table.regex("expect"),
        error_warn=table.optional("error_warn", _non_negative),
        error_crit=table.optional("error_crit", _non_negative),
    )
    _check_mode(table, spec)
    return spec


def _parse_auth(table: Table, version: str) -> CommunityAuth | UsmAuth:
    # Both versions' keys are read on either path so that [defaults] may hold any of them;
    # only a check's own keys that its version does not use are errors.
    user = table.str("user", "")
    auth_protocol = table.choice("auth_protocol", AUTH_PROTOCOLS, "SHA")
    priv_protocol = table.choice("priv_protocol", PRIV_PROTOCOLS, "AES")
    auth_key = table.secret("auth_key", required=False)
    priv_key = table.secret("priv_key", required=False)
    community = table.secret("community", required=version == "2c")
    unused: tuple[str, ...]
    if version == "2c":
        unused = ("user", "auth_protocol", "auth_key_file", "auth_key_env", "priv_protocol",
                  "priv_key_file", "priv_key_env")
    else:
        unused = ("community_file", "community_env")
    for key in unused:
        if key in table.data:
            other = "3" if version == "2c" else "2c"
            table.error(key, f'only used with version = "{other}"')
    if version == "2c":
        # A missing community was reported above; the placeholder is never used.
        return CommunityAuth(community or SecretRef(env="SNMP_COMMUNITY"))
    if not user:
        table.error("user", 'required with version = "3"')
    if priv_key is not None and auth_key is None:
        table.error("priv_key_file", "privacy needs authentication: set auth_key_file too")
    return UsmAuth(user=user, auth_protocol=auth_protocol, auth_key=auth_key,
                   priv_protocol=priv_protocol, priv_key=priv_key)


def _check_mode(table: Table, spec: SnmpSpec) -> None:
    if spec.mode == "oid":
        if not table.has("oid"):
            table.error("oid", "required with mode = oid")
        if spec.expect is None and spec.warn is None and spec.crit is None:
            table.error("oid", "give warn/crit thresholds or expect, else nothing is checked")
        if spec.expect is not None and (spec.warn is not None or spec.crit is not None):
            table.error("expect", "expect checks a string, warn/crit a number: not both")
    if spec.mode == "rate":
        for key in ("warn", "crit"):
            value = getattr(spec, key)
            if value is not None and not 0 < value <= 100:
                table.error(key, f"expected a percentage of the interface speed from 0 to "
                                 f"100, got {value:g}")
    for low, high in (("warn", "crit"), ("error_warn", "error_crit")):
        first, second = getattr(spec, low), getattr(spec, high)
        if first is not None and second is not None:
            wrong = first < second if spec.below else first > second
            if wrong:
                order = "at or above" if spec.below else "at or below"
                table.error(low, f"expected {low} {order} {high} ({first:g} vs {second:g})")


def _non_negative(value: object) -> float:
    number = to_float(value)
    if number < 0:
        raise ValueError(f"expected a number of events per second, got {number:g}")
    return number

