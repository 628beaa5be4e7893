"""``[[domain]]`` blocks: one block of settings, expanded into the checks of each name.

For each name N of a block (labels ``domain = N`` and ``tld`` = its last label):

=============================  ===============  ==========================================
check name                     type             made when
=============================  ===============  ==========================================
``dns:N``                      dns_authority    ``authority = true`` (default)
``dns:N:<type>``               dns              per ``expect`` entry at the apex (``A``)
``dns:N:<type>:<host>``        dns              per ``expect`` entry elsewhere (``"www A"``)
``dns:N:expiry``               domain_expiry    ``expiry = true`` (default)
``dns:N:tls:<host>[:<port>]``  tls              per ``tls_hosts`` entry (port if not 443)
=============================  ===============  ==========================================

Every check of a name starts with ``dns:N``, so ``monitord probe --check dns:N`` runs them all.

Settings, from strongest to weakest: the block's per-kind table (``[domain.tls]``,
``[domain.dns_authority]``, ``[domain.dns]``, ``[domain.domain_expiry]``, which may hold any key
of that kind and any common key); the block's own keys (each goes to every generated kind that
knows it — except ``warn_before``/``crit_before``, which mean the registration (domain_expiry),
and ``port``, which means the nameservers (dns_authority)); then ``[defaults]``. The RDAP
check is the exception for its cadence: ``interval = "12h"`` and ``retry_interval = "1h"``
unless ``[domain.domain_expiry]`` says otherwise, so a block with ``interval = "1m"`` does not
poll registries (which rate-limit) every minute.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from monitord.checks.dns_records import normalize_domain, owner_name, parse_expect_table
from monitord.checks.kind import CheckKind
from monitord.config.reader import Problems, Table, describe_value, to_str_list
from monitord.config.schema import COMMON_CHECK_KEYS, CheckConfig, build_check

KIND_TABLES = ("dns_authority", "dns", "domain_expiry", "tls")
BLOCK_KEYS = ("names", "expect", "expiry", "authority", "tls_hosts", "expires")
# Keys that identify what a generated check looks at: set by the expansion, never by the user.
GENERATED = frozenset({"name", "type", "query", "record", "zone", "domain", "host",
                       "server_name", "expect_contains", "expect_rcode"})
# Block keys several kinds know but that mean one thing in a domain block.
ONE_OWNER = {"warn_before": "domain_expiry", "crit_before": "domain_expiry",
             "port": "dns_authority"}
# The RDAP check's own cadence: registries rate-limit (see the module docstring).
KIND_CADENCE = {"domain_expiry": {"interval": "12h", "retry_interval": "1h"}}
_TLS_HOST = re.compile(r"(@|[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?)(?::(\d{1,5}))?")


@dataclass(frozen=True)
class Expansion:
    """What the ``[[domain]]`` blocks produced (``check-config`` prints the counts)."""

    checks: tuple[CheckConfig, ...] = ()
    domains: tuple[str, ...] = ()

    @property
    def by_type(self) -> Counter[str]:
        return Counter(c.type for c in self.checks)

    def describe(self) -> str:
        """One line: "domains: 3 names expanded into 12 checks (3 dns_authority, …)"."""
        kinds = ", ".join(f"{n} {t}" for t, n in sorted(self.by_type.items()))
        return (f"domains: {len(self.domains)} names expanded into {len(self.checks)} checks"
                + (f" ({kinds})" if kinds else ""))


def expand_domains(root: Table, defaults: Mapping[str, Any], location: str,
                   kinds: Mapping[str, CheckKind]) -> Expansion:
    """Every ``[[domain]]`` block of ``root`` into checks; errors are recorded on ``root``."""
    checks: list[CheckConfig] = []
    seen: dict[str, str] = {}
    for index, block in root.tables("domain", name_key=None):
        checks += _expand_block(block, f"domain[{index + 1}]", defaults, location, kinds, seen)
    return Expansion(tuple(checks), tuple(seen))


@dataclass
class _Block:
    path: str
    flat: dict[str, Any]  # keys routed to the generated kinds
    subtables: dict[str, dict[str, Any]] = field(default_factory=dict)


def _expand_block(table: Table, path: str, defaults: Mapping[str, Any], location: str,
                  kinds: Mapping[str, CheckKind], seen: dict[str, str]) -> list[CheckConfig]:
    names = _names(table, path, seen)
    expected = parse_expect_table(table, "expect")
    want_expiry = table.bool("expiry", True)
    want_authority = table.bool("authority", True)
    tls_hosts = _tls_hosts(table)
    expires = table.raw("expires")
    table.get("expires", lambda v: v, None)  # validated per name by domain_expiry
    if isinstance(expires, dict):
        unknown = set(expires) - set(names)
        if unknown:
            table.error("expires", f"names not in this block: {', '.join(sorted(unknown))}")
    block = _Block(path, {})
    for kind_name in KIND_TABLES:
        sub = table.table(kind_name)
        if sub is not None:
            block.subtables[kind_name] = dict(sub.data)
            _check_subtable(sub, kinds.get(kind_name))
    routed, used = _route_flat(table, kinds)
    table.finish(extra_known=sorted(used))
    out: list[CheckConfig] = []
    for name in names:
        tld = name.rsplit(".", 1)[-1]
        labels = {"domain": name, "tld": tld}
        plan: list[tuple[str, str, dict[str, Any]]] = []
        if want_authority:
            plan.append(("dns_authority", f"dns:{name}",
                         {"zone": name, "expect": _expect_raw(table)}))
        for (owner, record), values in expected.items():
            host = owner_name(owner, name)
            suffix = "" if host == name else f":{host}"
            plan.append(("dns", f"dns:{name}:{record.lower()}{suffix}",
                         {"query": host, "record": record, "expect": sorted(values)}))
        if want_expiry:
            data: dict[str, Any] = {"domain": name}
            per_name = expires.get(name) if isinstance(expires, dict) else expires
            if per_name is not None:
                data["expires"] = per_name
            plan.append(("domain_expiry", f"dns:{name}:expiry", data))
        for label, port in tls_hosts:
            host = name if label == "@" else f"{label}.{name}"
            suffix = "" if port == 443 else f":{port}"
            plan.append(("tls", f"dns:{name}:tls:{host}{suffix}",
                         {"host": host, "port": port, "server_name": host}))
        for kind_name, check_name, generated in plan:
            check = _build(kind_name, check_name, generated, labels, block, routed, defaults,
                           location, kinds, table.problems)
            if check is not None:
                out.append(check)
    return out


def _names(table: Table, path: str, seen: dict[str, str]) -> list[str]:
    names: list[str] = []
    raw = table.get("names", to_str_list, None)
    if raw is None:
        if "names" not in table.data:
            table.error("names", "required (the domain names this block monitors)")
        return names
    if not raw:
        table.error("names", "expected at least one domain name")
    for text in raw:
        try:
            name = normalize_domain(text)
        except ValueError as exc:
            table.error("names", str(exc))
            continue
        if name in seen:
            table.error("names", f'"{name}" is already listed in {seen[name]}')
            continue
        seen[name] = path
        names.append(name)
    return names


def _tls_hosts(table: Table) -> list[tuple[str, int]]:
    hosts = []
    for text in table.str_list("tls_hosts"):
        match = _TLS_HOST.fullmatch(text.lower().strip())
        port = int(match[2]) if match and match[2] else 443
        if match is None or not 0 < port < 65536:
            table.error("tls_hosts", f'expected "www", "@" (the name itself) or "www:8443", '
                                     f'got "{text}"')
            continue
        hosts.append((match[1], port))
    return hosts


def _expect_raw(table: Table) -> Any:
    value = table.raw("expect")
    return value if isinstance(value, dict) else {}


def _route_flat(table: Table, kinds: Mapping[str, CheckKind]) -> tuple[
        dict[str, dict[str, Any]], set[str]]:
    """Kind -> the block's own keys that kind takes, and every key so used.

    A key no generated kind takes (and not common, not a block key) is left for
    :meth:`Table.finish` to report as unknown, with a "did you mean".
    """
    flat = {k: v for k, v in table.data.items()
            if k not in BLOCK_KEYS and k not in KIND_TABLES}
    routed: dict[str, dict[str, Any]] = {k: {} for k in KIND_TABLES}
    claimed: set[str] = set()
    for kind_name in KIND_TABLES:
        kind = kinds.get(kind_name)
        if kind is None:
            continue
        for key in _keys_of(kind, flat) & set(flat):
            if key in GENERATED or ONE_OWNER.get(key, kind_name) != kind_name:
                continue
            routed[kind_name][key] = flat[key]
            claimed.add(key)
    common = {k: flat[k] for k in flat if k in COMMON_CHECK_KEYS and k not in GENERATED}
    for kind_name in KIND_TABLES:
        routed[kind_name] = {**common, **routed[kind_name]}
    for key in sorted(GENERATED & set(flat)):
        table.error(key, "set by the expansion for each name; it cannot be given in a "
                         "[[domain]] block")
    # Every key some generated kind could take, so finish() can say "did you mean".
    vocabulary = set(COMMON_CHECK_KEYS) - GENERATED
    for kind in filter(None, (kinds.get(k) for k in KIND_TABLES)):
        vocabulary |= _keys_of(kind, {}) - GENERATED
    return routed, claimed | set(common) | (GENERATED & set(flat)) | vocabulary


def _check_subtable(sub: Table, kind: CheckKind | None) -> None:
    """Errors of a per-kind table, once, whether or not the block makes checks of that kind."""
    for key in sorted(GENERATED & set(sub.data)):
        sub.error(key, "set by the expansion for each name; it cannot be given here")
    known = set(COMMON_CHECK_KEYS) | GENERATED
    if kind is not None:
        known |= _keys_of(kind, sub.data)
    sub.finish(extra_known=sorted(known))


def _keys_of(kind: CheckKind, data: Mapping[str, Any]) -> set[str]:
    """The keys ``kind`` reads, learnt by letting it parse ``data`` into a scratch list."""
    probe = Table(Problems(""), "", data)
    kind.parse(probe)
    return set(probe._read)  # private, but the same package


def _build(kind_name: str, check_name: str, generated: dict[str, Any], labels: dict[str, str],
           block: _Block, routed: Mapping[str, Mapping[str, Any]], defaults: Mapping[str, Any],
           location: str, kinds: Mapping[str, CheckKind], problems: Problems) -> CheckConfig | None:
    kind = kinds.get(kind_name)
    sub = block.subtables.get(kind_name, {})
    path = f"{block.path}.{kind_name}" if kind_name in block.subtables else block.path
    if kind is None:
        problems.add(block.path, f'no check type "{kind_name}" is available')
        return None
    for key in sorted(GENERATED & set(sub)):
        problems.add(path, f"{key}: set by the expansion for each name; it cannot be given here")
    data = {k: v for k, v in sub.items() if k not in GENERATED}
    data.update(generated)
    data["labels"] = _labels(problems, path, defaults, routed[kind_name], sub, labels)
    inherited = {**defaults, **routed[kind_name], **KIND_CADENCE.get(kind_name, {})}
    table = Table(problems, path, data, inherited=inherited, inherited_path=block.path)
    return build_check(table, check_name, kind_name, kind, location)


def _labels(problems: Problems, path: str, *sources: Mapping[str, Any]) -> dict[str, str]:
    """Labels of [defaults], the block and its kind table, then ``domain`` and ``tld``."""
    merged: dict[str, str] = {}
    for source in sources[:-1]:
        value = source.get("labels", {})
        if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
            merged.update(value)
        else:
            problems.add(path, f"labels: expected a table of strings, got "
                               f"{describe_value(value)}")
    merged.update(sources[-1])
    return merged
