"""What ``dns_authority`` concludes from one round of answers: named findings.

Pure functions over the collected answers (no network, no clock: ``now`` is passed in). Each
finding has a stable name (``lame``, ``ns-mismatch``, ``serial-drift`` …, listed in
docs/dns.md) so a person reading an alert knows at once which of the sub-checks failed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import dns.name
import dns.rdatatype

from monitord.checks._dns_query import Reply
from monitord.checks._dns_wire import Record, Soa
from monitord.checks.dns_records import owner_name, rdata_text, show
from monitord.config.durations import format_duration
from monitord.config.schema import HostPort
from monitord.model import Phase, Status

MAX_FINDINGS_SHOWN = 8


@dataclass(frozen=True, slots=True)
class Finding:
    status: Status
    code: str
    phase: Phase
    detail: str
    where: str = ""  # the server(s) concerned; equal findings on several servers are merged


@dataclass(frozen=True, slots=True)
class Server:
    """One address of one nameserver (``name`` is the address itself for an override)."""

    name: str
    address: HostPort

    def __str__(self) -> str:
        host = self.address.host if self.address.port == 53 else str(self.address)
        return host if self.name == self.address.host else f"{self.name} {host}"


@dataclass
class ServerView:
    """Everything one server said during the round."""

    server: Server
    soa: Reply  # SOA over UDP, with DNSSEC records
    ns: Reply  # NS over TCP
    dnskey: Reply | None = None
    records: dict[tuple[str, str], Reply] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return self.soa.authoritative and self.ns.authoritative


@dataclass
class ParentView:
    """What the parent zone says about the delegation."""

    server: HostPort | None = None
    failure: str = ""  # why there is no usable parent answer ("" when there is)
    delegated: bool = True
    ns: frozenset[str] = frozenset()
    glue: dict[str, frozenset[str]] = field(default_factory=dict)
    ds: tuple[dns.rdata.Rdata, ...] = ()


def authority(views: Sequence[ServerView]) -> list[Finding]:
    """Sub-check 1: every address answers authoritatively over UDP and over TCP."""
    findings = []
    any_healthy = any(v.healthy for v in views)
    partial = Status.WARNING if any_healthy else Status.CRITICAL
    for v in views:
        udp, tcp = v.soa.problem(), v.ns.problem()
        if not udp and not tcp:
            continue
        if udp and tcp:
            dead = v.soa.message is None and v.ns.message is None
            code = "unreachable" if dead else "lame"
            detail = (f"{udp} over UDP and TCP" if udp == tcp
                      else f"{udp} over UDP, {tcp} over TCP")
        elif udp:
            code = "no-udp" if v.soa.message is None else "lame"
            detail = f"{udp} over UDP"
        else:
            code = "no-tcp" if v.ns.message is None else "lame"
            detail = f"{tcp} over TCP"
        findings.append(Finding(partial, code, Phase.DELEGATION, detail, str(v.server)))
    return findings


def zone_ns(views: Sequence[ServerView], zone: dns.name.Name) -> tuple[frozenset[str],
                                                                        list[Finding]]:
    """The zone's own NS set (from authoritative answers) and a finding if servers disagree."""
    sets: dict[frozenset[str], list[str]] = {}
    for v in views:
        rrset = v.ns.rrset(zone, dns.rdatatype.NS) if v.ns.authoritative else None
        if rrset is not None:
            sets.setdefault(frozenset(targets(rrset)), []).append(str(v.server))
    if not sets:
        return frozenset(), []
    if len(sets) == 1:
        return next(iter(sets)), []
    detail = "; ".join(f"{show(ns)} on {', '.join(where)}" for ns, where in sets.items())
    union = frozenset().union(*sets)
    return union, [Finding(Status.WARNING, "ns-inconsistent", Phase.DELEGATION,
                           f"servers disagree on the NS set: {detail}")]


def zone_addresses(views: Sequence[ServerView]) -> dict[str, frozenset[str]]:
    """A/AAAA of names found in the additional sections of authoritative NS answers."""
    found: dict[str, set[str]] = {}
    for v in views:
        if v.ns.message is None or not v.ns.authoritative:
            continue
        for record in v.ns.message.additional:
            if record.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA) and isinstance(
                    record.value, str):
                found.setdefault(record.name, set()).add(record.value)
    return {name: frozenset(addresses) for name, addresses in found.items()}


def delegation(parent: ParentView, own_ns: frozenset[str], zone: str,
               addresses: Mapping[str, frozenset[str]]) -> list[Finding]:
    """Sub-check 2: the parent's NS set equals the zone's own, and glue agrees."""
    if parent.failure or not parent.delegated:
        return []
    findings = []
    if own_ns and parent.ns != own_ns:
        only_parent, only_zone = parent.ns - own_ns, own_ns - parent.ns
        parts = []
        if only_parent:
            parts.append(f"only at the parent: {show(only_parent)}")
        if only_zone:
            parts.append(f"only in the zone: {show(only_zone)}")
        findings.append(Finding(Status.WARNING, "ns-mismatch", Phase.DELEGATION,
                                "parent NS set differs from the zone's: " + "; ".join(parts)))
    for name in sorted(parent.ns):
        in_zone = name == zone or name.endswith("." + zone)
        glue, own = parent.glue.get(name, frozenset()), addresses.get(name)
        if in_zone and not glue:
            findings.append(Finding(Status.WARNING, "glue-missing", Phase.DELEGATION,
                                    f"{name} is inside the zone but the parent has no glue "
                                    "for it"))
        elif glue and own is not None and glue != own:
            findings.append(Finding(Status.WARNING, "glue-mismatch", Phase.DELEGATION,
                                    f"{name}: parent glue {show(glue)}, zone has {show(own)}"))
    return findings


def serials(views: Sequence[ServerView], zone: dns.name.Name) -> dict[str, int]:
    """Server -> SOA serial, from authoritative SOA answers."""
    found = {}
    for v in views:
        soa = soa_of(v.soa, zone)
        if soa is not None:
            found[str(v.server)] = soa.serial
    return found


def soa_of(reply: Reply, zone: dns.name.Name) -> Soa | None:
    """The zone's SOA in an authoritative answer (the first record of the RRset)."""
    rrset = reply.rrset(zone, dns.rdatatype.SOA) if reply.authoritative else None
    return rrset[0].value if rrset else None


def targets(records: Iterable[Record]) -> list[str]:
    """The target names of NS (or CNAME) records."""
    return [r.value for r in records if isinstance(r.value, str)]


def serial_drift(by_server: Mapping[str, int], since: datetime | None, now: datetime,
                 grace: float, expire: float) -> list[Finding]:
    """Sub-check 3: one serial everywhere; a difference older than ``grace`` is a problem.

    ``since`` is when a difference was first seen (kept by the check between runs). A
    difference that outlives the SOA expire timer means a secondary is about to stop
    answering for the zone: CRITICAL.
    """
    if len(set(by_server.values())) <= 1 or since is None:
        return []
    lasted = (now - since).total_seconds()
    groups: dict[int, list[str]] = {}
    for server, serial in by_server.items():
        groups.setdefault(serial, []).append(server)
    detail = "; ".join(f"{serial} on {', '.join(groups[serial])}"
                       for serial in sorted(groups, reverse=True))
    seen = f"for {format_duration(lasted)}" if lasted >= 1 else "first seen now"
    detail += f" ({seen}, grace {format_duration(grace)})"
    if lasted > expire:
        status = Status.CRITICAL
    elif lasted > grace or grace <= 0:  # a grace of 0s: a drift is a problem when first seen
        status = Status.WARNING
    else:
        status = Status.OK  # shown in the summary, not a problem yet
    return [Finding(status, "serial-drift", Phase.DNS, detail)]


def records(views: Sequence[ServerView], zone: str,
            expected: Mapping[tuple[str, str], frozenset[str]]) -> list[Finding]:
    """Sub-check 5: each expected record has the expected content on every healthy server."""
    findings = []
    for v in views:
        if not v.healthy:
            continue  # already reported as lame or unreachable
        for (owner, record), want in expected.items():
            reply = v.records.get((owner, record))
            name = owner_name(owner, zone)
            what = f"{record} {name}"
            if reply is None:
                continue
            if not reply.authoritative:
                detail = f"{what}: {reply.problem()}"
            else:
                rdtype = dns.rdatatype.from_text(record)
                rdatas = reply.rdatas(name, rdtype)
                got = frozenset(rdata_text(rd) for rd in rdatas) if rdatas else frozenset()
                if got == want:
                    continue
                detail = f"{what}: expected {show(want)}, got {show(got)}"
                if reply.message is not None and reply.rcode == "NXDOMAIN":
                    detail = f"{what}: expected {show(want)}, got NXDOMAIN"
            findings.append(Finding(Status.CRITICAL, "record-mismatch", Phase.CONTENT, detail,
                                    str(v.server)))
    return findings


def diversity(ns: frozenset[str], addresses: Mapping[str, frozenset[str]],
              minimum: int) -> list[Finding]:
    """Sub-check 6: at least ``minimum`` nameservers, not all on one address.

    ``addresses`` are the known addresses of the NS names (zone data and glue).
    """
    findings = []
    if ns and len(ns) < minimum:
        findings.append(Finding(Status.WARNING, "too-few-nameservers", Phase.DELEGATION,
                                f"{len(ns)} nameserver{'s' if len(ns) > 1 else ''} "
                                f"({show(ns)}), at least {minimum} expected"))
    hosts = frozenset().union(*(addresses.get(name, frozenset()) for name in ns))
    if len(ns) > 1 and len(hosts) == 1:
        findings.append(Finding(Status.WARNING, "single-address", Phase.DELEGATION,
                                f"all {len(ns)} nameservers are on one address, "
                                f"{next(iter(hosts))}"))
    return findings


def summarize(findings: Iterable[Finding]) -> tuple[Status, Phase | None, list[str]]:
    """Worst status, its phase, and one line per finding (worst first, equal ones merged)."""
    merged: dict[tuple[Status, str, Phase, str], list[str]] = {}
    for f in findings:
        wheres = merged.setdefault((f.status, f.code, f.phase, f.detail), [])
        if f.where and f.where not in wheres:
            wheres.append(f.where)
    rank = {Status.CRITICAL: 0, Status.WARNING: 1, Status.UNKNOWN: 2, Status.OK: 3}
    keys = sorted(merged, key=lambda k: (rank[k[0]], k[1]))
    problems: list[Status] = [k[0] for k in keys if k[0] is not Status.OK]
    status = Status.worst(problems) if problems else Status.OK
    phase = next((k[2] for k in keys if k[0] is status), None) if problems else None
    lines = []
    for key in keys:
        where = merged[key]
        lines.append(f"{key[1]}: " + (f"{', '.join(where)}: " if where else "") + key[3])
    if len(lines) > MAX_FINDINGS_SHOWN:
        lines = [*lines[:MAX_FINDINGS_SHOWN], f"… and {len(lines) - MAX_FINDINGS_SHOWN} more"]
    return status, phase, lines

