"""Where a name points: through each configured resolver and each authoritative server.

Resolvers are asked with recursion (RD=1), as the checks' own lookups are; the zone that holds
the name is found through the first resolver (the SOA owner), its servers through the NS set,
and each server address is asked without recursion (:func:`monitord.checks._dns_query.ask`),
so a stale or hijacked resolver answer stands next to what the zone itself says. Answers are
shown with their TTLs; when the sources disagree, a finding says who says what.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence

import dns.asyncquery
import dns.exception
import dns.message
import dns.name
import dns.rdatatype
import dns.resolver

from monitord.checks._dns_query import ask
from monitord.checks.dns_records import DNS_PORT
from monitord.compat import timeout as compat_timeout
from monitord.config.schema import HostPort, parse_host_port
from monitord.evidence.base import FAILED, MAX_SERVERS, OK, Emit, Found, Step, found

ADDRESS_TYPES = (dns.rdatatype.A, dns.rdatatype.AAAA)
Answer = tuple[str, int]  # (value, TTL)


def resolvers_of(configured: Sequence[str | HostPort]) -> list[HostPort]:
    """The resolvers to ask: the configured ones, else the system's (resolv.conf)."""
    servers = [r if isinstance(r, HostPort) else parse_host_port(r, 53) for r in configured]
    if not servers:
        try:
            system = dns.resolver.Resolver()
        except dns.exception.DNSException:
            return []
        servers = [HostPort(str(s), 53) for s in system.nameservers]
    return servers[:MAX_SERVERS]


def name_steps(host: str, resolvers: Sequence[HostPort], budget: float,
               types: Sequence[dns.rdatatype.RdataType] = ADDRESS_TYPES) -> list[Step]:
    """The ``resolve`` step (every resolver) and the ``authoritative`` step (the zone)."""
    per_query = max(0.2, budget * 0.4)
    name = dns.name.from_text(host)

    async def through_resolvers(emit: Emit) -> None:
        answers = await asyncio.gather(*(recursive(r, name, types, per_query)
                                         for r in resolvers))
        seen: dict[str, str] = {}
        for server, answer in zip(resolvers, answers):
            emit(_item("resolve", f"{host} via {server}", answer, types))
            seen[str(server)] = _values(answer)
        _disagreement(emit, "resolve", host, seen)

    async def at_the_zone(emit: Emit) -> None:
        if not resolvers:
            emit(found("authoritative", host, FAILED, "no resolver to find the zone with"))
            return
        zone, servers, why = await _zone_servers(name, resolvers[0], per_query)
        if not servers:
            emit(found("authoritative", host, FAILED, why))
            return
        answers = await asyncio.gather(*(_authoritative(s, name, types, per_query)
                                         for _, s in servers))
        seen: dict[str, str] = {}
        for (ns, server), answer in zip(servers, answers):
            label = f"{host} at {ns} {server}" + (f" (zone {zone})" if zone else "")
            emit(_item("authoritative", label, answer, types))
            seen[f"{ns} {server}"] = _values(answer)
        _disagreement(emit, "authoritative", host, seen)

    return [Step("resolve", f"{host} via the resolvers", through_resolvers),
            Step("authoritative", f"{host} at the zone's servers", at_the_zone)]


# -- asking --------------------------------------------------------------------------------

Result = dict[str, list[Answer]] | str  # records by type, or why there is no answer


async def recursive(server: HostPort, name: dns.name.Name,
                     types: Sequence[dns.rdatatype.RdataType], limit: float) -> Result:
    replies = await asyncio.gather(*(_ask_recursive(server, name, t, limit) for t in types))
    return _merge(replies, types)


async def _ask_recursive(server: HostPort, name: dns.name.Name,
                         rdtype: dns.rdatatype.RdataType,
                         limit: float) -> dns.message.Message | str:
    query = dns.message.make_query(name, rdtype)  # RD=1
    try:
        async with compat_timeout(limit):
            response, _ = await dns.asyncquery.udp_with_fallback(
                query, server.host, port=server.port, timeout=limit)
    except TimeoutError:
        return "timeout"
    except ConnectionRefusedError:
        return "connection refused"
    except (OSError, dns.exception.DNSException) as exc:
        return getattr(exc, "strerror", None) or type(exc).__name__
    return response


async def _authoritative(server: HostPort, name: dns.name.Name,
                         types: Sequence[dns.rdatatype.RdataType], limit: float) -> Result:
    replies = await asyncio.gather(*(ask(server, name, t, limit) for t in types))
    messages: list[dns.message.Message | str] = []
    for reply in replies:
        problem = reply.problem()
        if problem or reply.message is None:
            messages.append(problem)
            continue
        try:  # shown with dnspython's texts and TTLs, as the resolvers' answers are
            messages.append(dns.message.from_wire(reply.message.wire, ignore_trailing=True))
        except dns.exception.DNSException as exc:
            messages.append(f"malformed response: {type(exc).__name__}")
    return _merge(messages, types)


async def _zone_servers(name: dns.name.Name, resolver: HostPort,
                        limit: float) -> tuple[str, list[tuple[str, HostPort]], str]:
    """(zone, [(ns name, address)], why none) for the zone that holds ``name``."""
    soa = await _ask_recursive(resolver, name, dns.rdatatype.SOA, limit)
    if isinstance(soa, str):
        return "", [], f"cannot find the zone through {resolver}: {soa}"
    zone = next((r.name for r in [*soa.answer, *soa.authority]
                 if r.rdtype == dns.rdatatype.SOA), None)
    if zone is None:
        return "", [], f"{resolver} gave no SOA for the zone of {name}"
    ns = await _ask_recursive(resolver, zone, dns.rdatatype.NS, limit)
    if isinstance(ns, str):
        return _text(zone), [], f"cannot get the NS set of {_text(zone)}: {ns}"
    names = sorted({_text(rd.target) for r in ns.answer if r.rdtype == dns.rdatatype.NS
                    for rd in r})[:MAX_SERVERS]
    found_addresses = await asyncio.gather(*(recursive(resolver, dns.name.from_text(n),
                                                        ADDRESS_TYPES, limit) for n in names))
    servers: list[tuple[str, HostPort]] = []
    for ns_name, result in zip(names, found_addresses):
        if isinstance(result, dict):
            servers += [(ns_name, HostPort(value, DNS_PORT))  # never a CNAME's target name
                        for t in ("A", "AAAA") for value, _ in result.get(t, [])]
    why = "" if servers else f"no address for the servers of {_text(zone)} ({', '.join(names)})"
    return _text(zone), servers[:MAX_SERVERS], why


def _merge(replies: Sequence[dns.message.Message | str],
           types: Sequence[dns.rdatatype.RdataType]) -> Result:
    """Records by type from the replies (CNAMEs followed within the answer)."""
    records: dict[str, list[Answer]] = {}
    problems: list[str] = []
    for reply, rdtype in zip(replies, types):
        if isinstance(reply, str):
            problems.append(reply)
            continue
        rcode = reply.rcode()
        if rcode != dns.rcode.NOERROR:
            problems.append(dns.rcode.to_text(rcode))
            continue
        for rrset in reply.answer:
            if rrset.rdtype in (rdtype, dns.rdatatype.CNAME):
                key = dns.rdatatype.to_text(rrset.rdtype)
                records.setdefault(key, [])
                for rd in rrset:
                    entry = (rd.to_text(), int(rrset.ttl))
                    if entry not in records[key]:
                        records[key].append(entry)
    if not records and problems:
        return problems[0] if len(set(problems)) == 1 else "; ".join(problems)
    return records


def _item(probe: str, target: str, answer: Result,
          types: Sequence[dns.rdatatype.RdataType]) -> Found:
    if isinstance(answer, str):
        return found(probe, target, FAILED, answer)
    parts = []
    for rdtype in ("CNAME", *(dns.rdatatype.to_text(t) for t in types)):
        values = answer.get(rdtype, [])
        if values:
            parts.append(f"{rdtype} " + ", ".join(f"{v} (TTL {ttl})" for v, ttl in values))
        elif rdtype != "CNAME":
            parts.append(f"{rdtype} none")
    addresses = _values(answer)
    facts = {"address": addresses} if addresses else {}
    status = OK if addresses else FAILED
    return found(probe, target, status, "; ".join(parts), facts)


def _values(answer: Result) -> str:
    if isinstance(answer, str):
        return ""
    values = sorted({v for t, records in answer.items() if t != "CNAME" for v, _ in records})
    return ", ".join(values)


def _disagreement(emit: Emit, probe: str, host: str, seen: dict[str, str]) -> None:
    distinct = {v for v in seen.values() if v}
    if len(distinct) > 1 or (distinct and "" in seen.values()):
        says = "; ".join(f"{who} says {what or 'nothing'}" for who, what in seen.items())
        emit(found(probe, host, FAILED, f"disagreement: {says}"))


def _text(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()


def family_name(family: int) -> str:
    return "IPv6" if family == socket.AF_INET6 else "IPv4"
