"""Record types, expected values and server addresses shared by the DNS checks.

Expected record values are compared in one canonical text form, whichever library produced
the answer: both the user's strings and the answers (c-ares for ``dns``, dnspython for
``dns_authority``) go through dnspython's presentation parser. So ``"10 MX.Example.net"`` and
``"10 mx.example.net."`` are the same MX, and ``"2001:DB8::0:1"`` equals ``"2001:db8::1"``.

TXT is the exception: a TXT record is compared as the concatenation of its strings (that is
how SPF, DKIM and verification tokens are read, and c-ares only reports the concatenation), and
the user writes it unquoted: ``TXT = ["v=spf1 include:_spf.example.net -all"]``.

Reading a config must not import dnspython (it costs more than the rest of the start-up), so
the usual forms of expected values and domain names are canonicalised here by a few lines
that produce dnspython's text exactly (a test compares them); anything unusual — escapes,
quoted CAA values, TTL-style SOA timers, international names — is handed to dnspython.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from monitord.config.reader import Table, to_str_list
from monitord.config.schema import HostPort, parse_host_port

if TYPE_CHECKING:
    import dns.rdata

RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "NS", "SOA", "TXT", "CAA", "SRV")
DNS_PORT = 53
# Types whose presentation holds only names, numbers and addresses: compared case-blind.
_CASE_BLIND = frozenset({"A", "AAAA", "CNAME", "MX", "NS", "SOA", "SRV"})
# Host-name labels, plus "_" for service names (_sip._tcp, _dmarc).
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
MAX_SHOWN = 6  # values shown in a summary before "… and N more"
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-]{1,63}(?:\.[A-Za-z0-9_-]{1,63})*\.?")
_NUMBER = re.compile(r"[0-9]{1,10}")
# Fields of the plain forms: n = a 16-bit number, N = a 32-bit number, h = a host name.
_PLAIN_FIELDS = {"CNAME": "h", "NS": "h", "MX": "nh", "SRV": "nnnh", "SOA": "hhNNNNN"}


def canonical(record: str, text: str) -> str:
    """The canonical text of one value of type ``record``; raises ValueError if malformed."""
    if record == "TXT":
        return text
    plain = _plain_canonical(record, text)
    if plain is not None:
        return plain
    return _dnspython_canonical(record, text)


def _plain_canonical(record: str, text: str) -> str | None:
    """The canonical text of a value in its usual form, or None to ask dnspython."""
    if record in ("A", "AAAA"):
        if record == "AAAA" and "." in text:  # IPv4-mapped forms: dnspython's rendering
            return None
        try:
            address = ipaddress.ip_address(text.strip())
        except ValueError:
            return None
        return str(address) if address.version == (4 if record == "A" else 6) else None
    fields = _PLAIN_FIELDS.get(record)
    words = text.split()
    if fields is None or len(words) != len(fields):
        return None
    out = []
    for kind, word in zip(fields, words):
        if kind == "h":
            if not _PLAIN_NAME.fullmatch(word) or len(word.rstrip(".")) > 253:
                return None
            out.append(word.lower() if word.endswith(".") else word.lower() + ".")
        elif not _NUMBER.fullmatch(word) or int(word) >= (1 << 16 if kind == "n" else 1 << 32):
            return None
        else:
            out.append(str(int(word)))
    return " ".join(out)


def _dnspython_canonical(record: str, text: str) -> str:
    import dns.exception
    import dns.name
    import dns.rdata
    import dns.rdataclass
    import dns.rdatatype

    try:
        rdata = dns.rdata.from_text(
            dns.rdataclass.IN, dns.rdatatype.from_text(record), text, origin=dns.name.root,
            relativize=False,
        )
    except (dns.exception.DNSException, ValueError) as exc:
        raise ValueError(f'not a valid {record} value "{text}": {exc}') from None
    return rdata_text(rdata)


def rdata_text(rdata: dns.rdata.Rdata) -> str:
    """Canonical text of a dnspython rdata (see the module docstring)."""
    import dns.rdatatype
    import dns.rdtypes.ANY.TXT

    if isinstance(rdata, dns.rdtypes.ANY.TXT.TXT):
        return b"".join(rdata.strings).decode("utf-8", errors="replace")
    text = rdata.to_text()
    return text.lower() if dns.rdatatype.to_text(rdata.rdtype) in _CASE_BLIND else text


def show(values: Iterable[str]) -> str:
    """A short, bounded, sorted rendering of a set of values for a summary."""
    items = sorted(values)
    if not items:
        return "nothing"
    shown = ", ".join(items[:MAX_SHOWN])
    return shown if len(items) <= MAX_SHOWN else f"{shown} … and {len(items) - MAX_SHOWN} more"


def parse_values(table: Table, key: str, record: str) -> frozenset[str] | None:
    """An optional list of expected values of type ``record`` at ``key``, canonicalised."""
    raw = table.optional(key, to_str_list)
    if raw is None:
        return None
    return _canonical_set(table, key, record, raw)


def _canonical_set(table: Table, key: str, record: str, raw: Iterable[str]) -> frozenset[str]:
    values = set()
    for text in raw:
        try:
            values.add(canonical(record, text))
        except ValueError as exc:
            table.error(key, str(exc))
    return frozenset(values)


def parse_expect_table(table: Table, key: str) -> Mapping[tuple[str, str], frozenset[str]]:
    """``expect = { A = [...], "www AAAA" = [...] }``: (owner, TYPE) -> expected values.

    The owner is ``"@"`` (the zone apex) or a name relative to the zone; ``"www.example.fr."``
    with a final dot is absolute.
    """
    raw = table.raw(key)
    table.get(key, lambda v: v, None)  # mark as read; validated below
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        table.error(key, 'expected a table like { A = ["192.0.2.10"], MX = ["10 mx.example."] }')
        return {}
    expected: dict[tuple[str, str], frozenset[str]] = {}
    for name, values in raw.items():
        parts = name.split()
        record = parts[-1].upper() if parts else ""
        owner = parts[0].lower() if len(parts) == 2 else "@"
        if len(parts) not in (1, 2) or record not in RECORD_TYPES:
            table.error(key, f'"{name}": expected a record type ({", ".join(RECORD_TYPES)}) '
                             'or "NAME TYPE" like "www A"')
            continue
        try:
            listed = to_str_list(values)
        except ValueError as exc:
            table.error(key, f'"{name}": {exc}')
            continue
        expected[(owner, record)] = _canonical_set(table, key, record, listed)
    return expected


def owner_name(owner: str, zone: str) -> str:
    """The absolute name (without the final dot) of an ``expect`` owner within ``zone``."""
    if owner == "@":
        return zone
    if owner.endswith("."):
        return owner[:-1]
    return f"{owner}.{zone}"


def normalize_domain(text: str) -> str:
    """A domain name as compared and shown: lower case, A-labels, no final dot.

    Raises ValueError on a name that is not a valid DNS name.
    """
    name = text.strip().rstrip(".")
    if not name:
        raise ValueError("expected a domain name, got an empty string")
    if name.isascii():  # the usual case, decided without dnspython
        lowered = name.lower()
        labels = lowered.split(".")
        if (len(labels) < 2 or len(lowered) > 253
                or not all(_LABEL.fullmatch(x) for x in labels)):
            raise ValueError(f'not a valid domain name "{text}"')
        return lowered
    import dns.exception
    import dns.name

    try:
        parsed = dns.name.from_unicode(name) if not name.isascii() else dns.name.from_text(name)
    except (dns.exception.DNSException, UnicodeError) as exc:
        raise ValueError(f'not a valid domain name "{text}": {exc}') from None
    ascii_name = parsed.to_text(omit_final_dot=True).lower()
    if len(parsed.labels) < 2 or not all(_LABEL.fullmatch(x) for x in ascii_name.split(".")):
        raise ValueError(f'not a valid domain name "{text}"')
    return ascii_name


def parse_domain(table: Table, key: str) -> str:
    """A required domain name at ``key`` (see :func:`normalize_domain`)."""
    text = table.str(key)
    if not text:
        return ""
    try:
        return normalize_domain(text)
    except ValueError as exc:
        table.error(key, str(exc))
        return ""


def parse_servers(table: Table, key: str) -> tuple[HostPort, ...] | None:
    """An optional list of server addresses ``"ip"`` / ``"ip:port"`` / ``"[v6]:port"``.

    Addresses only, no host names: resolving a resolver's name would need a resolver.
    """
    raw = table.optional(key, to_str_list)
    if raw is None:
        return None
    servers = []
    for text in raw:
        try:
            server = parse_host_port(text, default_port=DNS_PORT)
            ipaddress.ip_address(server.host)
            servers.append(server)
        except ValueError as exc:
            if "does not appear to be" in str(exc):
                exc = ValueError(f'expected an IP address like "192.0.2.53" or '
                                 f'"192.0.2.53:5353", got "{text}"')
            table.error(key, str(exc))
    return tuple(servers)
