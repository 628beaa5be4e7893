"""The ``dns_authority`` check: is one zone served correctly by all its authoritative servers?

One run asks the parent for the delegation (NS, glue, DS), then asks every address of every
nameserver, without recursion: SOA over UDP (with DNSSEC records), NS over TCP, the
``expect``-ed records, and the DNSKEY set when the zone is signed. Those answers are shared by
the six sub-checks (see :mod:`monitord.checks._dns_audit` and :mod:`monitord.checks._dnssec`):
no sub-check asks its own questions.

Nameservers named in the zone but not at the parent, and addresses the zone gives that differ
from the glue, are asked too (a second wave): a resolver may use either.

State kept between runs: when a SOA serial difference was first seen (``serial-drift`` is a
problem only once it outlasts ``serial_drift_grace``).
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import dns.asyncresolver
import dns.exception
import dns.name
import dns.nameserver
import dns.rdatatype

from monitord.checks import _dns_audit as audit
from monitord.checks._dns_audit import Finding, ParentView, Server, ServerView
from monitord.checks._dns_query import Reply, ask
from monitord.checks._dnssec import dnssec
from monitord.checks.base import CheckEnv
from monitord.checks.dns_authority_spec import (
    DAY,
    KIND,
    MAX_ADDRESSES,
    MAX_NAMESERVERS,
    MAX_PARENT_TRIES,
    Spec,
    parse,
)
from monitord.checks.dns_records import (
    DNS_PORT,
    owner_name,
    show,
)
from monitord.config.durations import format_duration
from monitord.config.schema import CheckConfig, HostPort, parse_host_port
from monitord.model import Outcome, Phase, Status


class AuthorityCheck:
    def __init__(self, config: CheckConfig, env: CheckEnv) -> None:
        assert isinstance(config.spec, Spec)
        self.spec: Spec = config.spec
        self.env = env
        self.zone = dns.name.from_text(self.spec.zone)
        # Each query's deadline: the run makes at most ~4 rounds one after the other.
        self.query_timeout = max(0.2, min(2.0, config.timeout / 5))
        self.drift_since: datetime | None = None  # first run that saw differing serials
        self.views: list[ServerView] = []  # what every server said in the last full run

    async def run(self) -> Outcome:
        clock = self.env.clock
        started = clock.monotonic()
        now = clock.now()
        findings: list[Finding] = []
        parent = await self._parent()
        if not parent.delegated:
            return Outcome(Status.CRITICAL, f"{self.spec.zone}: not-delegated: the parent "
                           f"({parent.server}) has no delegation for the zone ({parent.failure})",
                           Phase.DELEGATION)
        if parent.failure:
            findings.append(Finding(Status.UNKNOWN, "parent-unreachable", Phase.DELEGATION,
                                    f"cannot check the delegation: {parent.failure}"))
        first, unresolved = await self._first_servers(parent)
        findings += unresolved
        if not first:
            status, phase, lines = audit.summarize(findings)
            return Outcome(Status.worst([status, Status.UNKNOWN]),
                           f"{self.spec.zone}: no nameserver address to ask; " + "; ".join(lines),
                           phase or Phase.RESOLVE)
        views = list(await asyncio.gather(*(self._examine(s, bool(parent.ds)) for s in first)))
        own_ns, disagree = audit.zone_ns(views, self.zone)
        addresses = audit.zone_addresses(views)
        more, unresolved = await self._second_servers(own_ns, addresses, views, parent)
        views += await asyncio.gather(*(self._examine(s, bool(parent.ds)) for s in more))
        findings += disagree + unresolved
        findings += self._judge(views, parent, own_ns, addresses, now)
        signatures, least = dnssec(self.zone, views, parent, now, self.spec.rrsig_warn_before)
        findings += signatures
        return self._outcome(findings, views, own_ns, least, clock.monotonic() - started)

    # -- collecting ----------------------------------------------------------------------

    async def _parent(self) -> ParentView:
        servers = list(self.spec.parent_nameservers)
        if not servers:
            servers, failure = await self._discover_parent()
            if not servers:
                return ParentView(failure=failure)
        failures = []
        for server in servers[:MAX_PARENT_TRIES]:
            ns, ds = await asyncio.gather(
                ask(server, self.zone, dns.rdatatype.NS, self.query_timeout),
                ask(server, self.zone, dns.rdatatype.DS, self.query_timeout, answer_only=True))
            if ns.message is None or ns.rcode not in ("NOERROR", "NXDOMAIN"):
                failures.append(f"{server}: {ns.problem()}")
                continue
            return self._read_parent(server, ns, ds)
        return ParentView(failure="; ".join(failures))

    def _read_parent(self, server: HostPort, ns: Reply, ds: Reply) -> ParentView:
        if ns.rcode == "NXDOMAIN":
            return ParentView(server=server, delegated=False, failure="NXDOMAIN")
        rrset = ns.rrset(self.zone, dns.rdatatype.NS, "authority")
        if rrset is None and ns.authoritative:  # the parent's server also serves the zone
            rrset = ns.rrset(self.zone, dns.rdatatype.NS)
        if rrset is None:
            return ParentView(server=server, delegated=False, failure="no NS for the zone")
        names = frozenset(audit.targets(rrset[:MAX_NAMESERVERS]))
        glue: dict[str, set[str]] = {}
        types = self._address_types()
        for extra in ns.message.additional if ns.message is not None else []:
            if extra.rdtype in types and extra.name in names and isinstance(extra.value, str):
                glue.setdefault(extra.name, set()).add(extra.value)
        ds_rrset = ds.rdatas(self.zone, dns.rdatatype.DS) if ds.authoritative else None
        return ParentView(server=server, ns=names,
                          glue={k: frozenset(v) for k, v in glue.items()},
                          ds=tuple(ds_rrset) if ds_rrset is not None else ())

    async def _discover_parent(self) -> tuple[list[HostPort], str]:
        """The parent zone's servers, found through the resolvers (closest enclosing zone)."""
        resolver = self._resolver()
        name = self.zone.parent()
        while name != dns.name.root:
            try:
                answer = await resolver.resolve(name, dns.rdatatype.NS, raise_on_no_answer=False)
            except dns.exception.DNSException as exc:
                return [], f"cannot find the parent zone's servers: {_why(exc)}"
            if answer.rrset is not None:
                names = sorted(_text(rd.target) for rd in answer.rrset)[:MAX_PARENT_TRIES]
                found = await self._addresses(names)
                servers = [HostPort(a, self.spec.port) for n in names
                           for a in sorted(found.get(n, ()))]
                return servers, "" if servers else f"no address for the servers of {name}"
            name = name.parent()
        return [], "no parent zone found"

    async def _first_servers(self, parent: ParentView) -> tuple[list[Server], list[Finding]]:
        if self.spec.nameservers:
            return [Server(a.host, a) for a in self.spec.nameservers], []
        names = sorted(parent.ns)
        if not names:  # the parent could not be asked: fall back on the resolvers' NS set
            names = await self._resolver_ns()
        missing = [n for n in names if not parent.glue.get(n)]
        found = dict(parent.glue)
        findings: list[Finding] = []
        if missing:
            resolved = await self._addresses(missing)
            found.update(resolved)
            findings += _unresolvable(n for n in missing if n not in resolved)
        return self._servers(names, found), findings

    async def _second_servers(self, own_ns: frozenset[str], zone_addresses: Mapping[str,
                              frozenset[str]], views: Sequence[ServerView],
                              parent: ParentView) -> tuple[list[Server], list[Finding]]:
        """Servers the zone names that were not asked yet (not at the parent, or other IPs)."""
        if self.spec.nameservers:
            return [], []
        asked = {(v.server.name, v.server.address.host) for v in views}
        names = sorted(own_ns)[:MAX_NAMESERVERS]
        found = {n: zone_addresses[n] for n in names if n in zone_addresses}
        missing = [n for n in names if n not in found and not parent.glue.get(n)]
        findings: list[Finding] = []
        if missing:
            resolved = await self._addresses(missing)
            found.update(resolved)
            findings += _unresolvable(n for n in missing if n not in resolved)
        more = [s for s in self._servers(names, found)
                if (s.name, s.address.host) not in asked]
        return more[:max(0, MAX_ADDRESSES - len(views))], findings

    def _servers(self, names: Iterable[str], addresses: Mapping[str, Iterable[str]]) -> list[
            Server]:
        servers = [Server(n, HostPort(a, self.spec.port)) for n in names
                   for a in sorted(addresses.get(n, ())) if self._usable(a)]
        return servers[:MAX_ADDRESSES]

    async def _examine(self, server: Server, want_dnskey: bool) -> ServerView:
        t, zone = self.query_timeout, self.zone
        wanted = list(self.spec.expect)
        soa, ns, *replies = await asyncio.gather(
            ask(server.address, zone, dns.rdatatype.SOA, t, dnssec=True, answer_only=True),
            ask(server.address, zone, dns.rdatatype.NS, t, tcp=True),  # glue in additional
            *(ask(server.address, dns.name.from_text(owner_name(owner, self.spec.zone)),
                  dns.rdatatype.from_text(record), t, answer_only=True)
              for owner, record in wanted))
        view = ServerView(server, soa, ns, records=dict(zip(wanted, replies)))
        if soa.authoritative and (want_dnskey or soa.signatures(zone, dns.rdatatype.SOA)):
            view.dnskey = await ask(server.address, zone, dns.rdatatype.DNSKEY, t, dnssec=True,
                                    answer_only=True)
        return view

    def _resolver(self) -> dns.asyncresolver.Resolver:
        """A stub resolver without cache over the configured resolvers (else the system's)."""
        servers = list(self.spec.resolvers) or [parse_host_port(r, DNS_PORT)
                                                for r in self.env.resolvers]
        resolver = dns.asyncresolver.Resolver(configure=not servers)
        if servers:
            resolver.nameservers = [dns.nameserver.Do53Nameserver(s.host, s.port)
                                    for s in servers]
        resolver.timeout = self.query_timeout
        resolver.lifetime = self.query_timeout * 2
        return resolver

    async def _addresses(self, names: Sequence[str]) -> dict[str, frozenset[str]]:
        """Addresses of host names through the resolvers; names with none are left out."""
        resolver = self._resolver()
        types = self._address_types()

        async def lookup(name: str, rdtype: dns.rdatatype.RdataType) -> list[str]:
            try:
                answer = await resolver.resolve(name, rdtype, raise_on_no_answer=False)
            except dns.exception.DNSException:
                return []
            return [rd.address for rd in answer.rrset] if answer.rrset is not None else []

        names = list(names)[:MAX_NAMESERVERS]
        results = await asyncio.gather(*(lookup(n, t) for n in names for t in types))
        found: dict[str, set[str]] = {}
        for index, addresses in enumerate(results):
            if addresses:
                found.setdefault(names[index // len(types)], set()).update(addresses)
        return {n: frozenset(a) for n, a in found.items()}

    async def _resolver_ns(self) -> list[str]:
        try:
            answer = await self._resolver().resolve(self.zone, dns.rdatatype.NS)
        except dns.exception.DNSException:
            return []
        return sorted(_text(rd.target) for rd in answer)[:MAX_NAMESERVERS]

    def _address_types(self) -> tuple[dns.rdatatype.RdataType, ...]:
        if self.spec.ipv6:
            return (dns.rdatatype.A, dns.rdatatype.AAAA)
        return (dns.rdatatype.A,)

    def _usable(self, address: str) -> bool:
        try:
            return self.spec.ipv6 or ipaddress.ip_address(address).version == 4
        except ValueError:
            return False

    # -- judging -------------------------------------------------------------------------

    def _judge(self, views: list[ServerView], parent: ParentView, own_ns: frozenset[str],
               addresses: Mapping[str, frozenset[str]], now: datetime) -> list[Finding]:
        findings = audit.authority(views)
        findings += audit.delegation(parent, own_ns, self.spec.zone, addresses)
        by_server = audit.serials(views, self.zone)
        if len(set(by_server.values())) > 1:
            self.drift_since = self.drift_since or now
        elif by_server:
            self.drift_since = None
        grace, expire = self._soa_timers(views, by_server)
        findings += audit.serial_drift(by_server, self.drift_since, now, grace, expire)
        findings += audit.records(views, self.spec.zone, self.spec.expect)
        known = {**parent.glue, **addresses}
        findings += audit.diversity(own_ns or parent.ns, known, self.spec.min_nameservers)
        return findings

    def _soa_timers(self, views: list[ServerView], by_server: Mapping[str, int]) -> tuple[
            float, float]:
        """(grace, expire): refresh + retry and expire of the newest SOA, or the overrides."""
        newest = max(by_server.values(), default=None)
        for v in views:
            soa = audit.soa_of(v.soa, self.zone)
            if soa is not None and soa.serial == newest:
                grace = (float(soa.refresh + soa.retry) if self.spec.serial_drift_grace is None
                         else self.spec.serial_drift_grace)
                return grace, max(grace, float(soa.expire))
        grace = 3600.0 if self.spec.serial_drift_grace is None else self.spec.serial_drift_grace
        return grace, max(grace, 7 * DAY)

    def _outcome(self, findings: list[Finding], views: list[ServerView], own_ns: frozenset[str],
                 least: float | None, elapsed: float) -> Outcome:
        status, phase, lines = audit.summarize(findings)
        serials = audit.serials(views, self.zone)
        metrics = {
            "time_total_ms": round(elapsed * 1000, 3),
            "nameservers": float(len(own_ns)),
            "servers_asked": float(len(views)),
            "servers_healthy": float(sum(1 for v in views if v.healthy)),
        }
        if serials:
            metrics["serial"] = float(max(serials.values()))
        if least is not None:
            metrics["rrsig_expires_in_s"] = round(least, 3)
        facts = {"ns": " ".join(sorted(own_ns))}
        if serials:
            facts["serial"] = str(max(serials.values()))
        self.views = views  # the per-server table, kept for the evidence of an incident
        if status is not Status.OK:
            return Outcome(status, f"{self.spec.zone}: " + "; ".join(lines), phase, metrics,
                           facts)
        healthy = sum(1 for v in views if v.healthy)
        parts = [f"{len(own_ns)} nameservers ({show(own_ns)}), {healthy} addresses "
                 "authoritative over UDP and TCP"]
        if serials:
            parts.append(f"serial {max(serials.values())}")
        if least is not None:
            parts.append(f"DNSSEC signatures valid for {format_duration(least)} more")
        return Outcome.ok(f"{self.spec.zone}: " + "; ".join(parts + lines), metrics, facts)


def _unresolvable(names: Iterable[str]) -> list[Finding]:
    return [Finding(Status.WARNING, "ns-unresolvable", Phase.DELEGATION,
                    f"nameserver {name} has no address") for name in names]


def _why(exc: dns.exception.DNSException) -> str:
    return {"NXDOMAIN": "NXDOMAIN", "LifetimeTimeout": "timeout",
            "NoNameservers": "no resolver answered"}.get(type(exc).__name__, type(exc).__name__)


def _text(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()


__all__ = ["DAY", "KIND", "MAX_ADDRESSES", "MAX_NAMESERVERS", "MAX_PARENT_TRIES", "AuthorityCheck",
           "Spec", "parse"]
