"""Sub-check 4 of ``dns_authority``: DNSSEC, judged the way a validating resolver would.

A validating resolver fails a zone (SERVFAIL for every name in it) when the chain from the
parent breaks: a DS at the parent that matches no DNSKEY, a DS for a zone that is not signed
at all, or signatures that have expired. Those are CRITICAL. Signatures about to expire
(within ``rrsig_warn_before``) are a WARNING: the signer has stopped re-signing.

Signature *timing* is read on every server (a stale secondary serves old signatures); the
DS -> DNSKEY -> RRSIG(DNSKEY) chain is verified cryptographically once, on the first healthy
server's DNSKEY set.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

import dns.dnssec
import dns.exception
import dns.name
import dns.rdata
import dns.rdatatype
import dns.rrset

from monitord.checks._dns_audit import Finding, ParentView, ServerView
from monitord.checks._dns_query import name_key
from monitord.config.durations import format_duration
from monitord.model import Phase, Status


def dnssec(zone: dns.name.Name, views: Sequence[ServerView], parent: ParentView,
           now: datetime, warn_before: float) -> tuple[list[Finding], float | None]:
    """Findings, and the smallest time (s) left before an RRSIG expires (None if unsigned)."""
    healthy = [v for v in views if v.healthy]
    keysets = [v.dnskey for v in healthy if v.dnskey is not None
               and v.dnskey.rrset(zone, dns.rdatatype.DNSKEY)]
    signed = bool(keysets) or any(v.soa.signatures(zone, dns.rdatatype.SOA) for v in healthy)
    if not signed:
        if parent.ds and healthy:
            return [Finding(Status.CRITICAL, "ds-unsigned-zone", Phase.DNSSEC,
                            f"the parent publishes DS ({_tags(parent.ds)}) but the zone is not "
                            "signed: validating resolvers fail every name in it")], None
        return [], None
    findings: list[Finding] = []
    least: float | None = None
    for v in healthy:
        # SOA and DNSKEY signatures usually share their dates: one line for both.
        grouped: dict[tuple[Status, str, str], list[str]] = {}
        for covered, reply in ((dns.rdatatype.SOA, v.soa), (dns.rdatatype.DNSKEY, v.dnskey)):
            label = dns.rdatatype.to_text(covered)
            signatures = reply.signatures(zone, covered) if reply is not None else []
            if not signatures:
                grouped.setdefault((Status.CRITICAL, "rrsig-missing", "missing in a signed "
                                    "zone"), []).append(label)
                continue
            finding, left = _timing(signatures, now, warn_before)
            least = left if least is None else min(least, left)
            if finding is not None:
                grouped.setdefault(finding, []).append(label)
        for (status, code, phrase), labels in grouped.items():
            findings.append(Finding(status, code, Phase.DNSSEC,
                                    f"RRSIG over {' and '.join(labels)} {phrase}", str(v.server)))
    if parent.ds and keysets:  # dnspython's DNSSEC logic, on one server's DNSKEY answer
        keys = keysets[0].rdatas(zone, dns.rdatatype.DNSKEY) or []
        findings += _chain(zone, parent.ds, dns.rrset.from_rdata_list(zone, 0, keys), healthy)
    return findings, least


def _timing(signatures: list[Any], now: datetime,
            warn_before: float) -> tuple[tuple[Status, str, str] | None, float]:
    """How the best signature of an RRset (the one that expires last) stands at ``now``."""
    best = max(signatures, key=lambda s: s.expiration)
    left = best.expiration - now.timestamp()
    when = _utc(best.expiration)
    if left <= 0:
        return (Status.CRITICAL, "rrsig-expired",
                f"expired {when} ({format_duration(-left)} ago)"), left
    if now.timestamp() < best.inception:
        return (Status.CRITICAL, "rrsig-not-yet-valid",
                f"only valid from {_utc(best.inception)}"), left
    if left < warn_before:
        return (Status.WARNING, "rrsig-expiring",
                f"expires {when} (in {format_duration(left)})"), left
    return None, left


def _chain(zone: dns.name.Name, ds_set: Sequence[Any], keys: dns.rrset.RRset,
           healthy: Sequence[ServerView]) -> list[Finding]:
    """A DS at the parent matches a DNSKEY, and that key signs the DNSKEY set."""
    matching = []
    for ds in ds_set:
        for key in keys:
            try:
                if dns.dnssec.make_ds(zone, key, ds.digest_type) == ds:
                    matching.append(key)
            except (dns.exception.UnsupportedAlgorithm, ValueError):
                continue  # a digest type we cannot compute is no evidence either way
    if not matching:
        return [Finding(Status.CRITICAL, "ds-no-matching-key", Phase.DNSSEC,
                        f"no DS at the parent ({_tags(ds_set)}) matches a DNSKEY of the zone "
                        f"({_tags(keys)}): validating resolvers fail every name in it")]
    view = next(v for v in healthy if v.dnskey is not None and v.dnskey.rrset(
        zone, dns.rdatatype.DNSKEY) is not None)
    assert view.dnskey is not None
    chosen = {dns.dnssec.key_id(k) for k in matching}
    message = view.dnskey.message
    assert message is not None
    owner = name_key(zone)
    by_ds_key: list[Any] = [
        message.rdata(r) for r in message.answer if r.rdtype == dns.rdatatype.RRSIG
        and r.name == owner and r.value.type_covered == dns.rdatatype.DNSKEY
        and r.value.key_tag in chosen]
    keyset = {zone: keys}
    for signature in by_ds_key:
        try:  # verify at a moment inside the signature's validity: timing is judged apart
            dns.dnssec.validate_rrsig(keys, signature, keyset,  # type: ignore[arg-type]
                                      now=float(signature.inception) + 1)
            return []
        except dns.exception.UnsupportedAlgorithm:
            return []
        except dns.exception.ValidationFailure:
            continue
    return [Finding(Status.CRITICAL, "ds-key-not-signing", Phase.DNSSEC,
                    f"the DNSKEY matching the parent's DS ({_tags(matching)}) does not sign "
                    "the DNSKEY set validly", str(view.server))]


def _tags(records: Iterable[Any]) -> str:
    tags = sorted({r.key_tag if r.rdtype == dns.rdatatype.DS else dns.dnssec.key_id(r)
                   for r in records})
    return "key tag" + ("s " if len(tags) > 1 else " ") + ", ".join(map(str, tags))


def _utc(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
