"""A bounded reader of DNS answers: what ``dns_authority`` compares, without a message object.

dnspython builds a full object graph for every answer (names, rdata, rdatasets that hash each
record to drop duplicates); for the ~2,000 answers of a 120-zone round that was half of the
check's CPU, RRSIG and DNSKEY records the dearest. The audit only needs the header (AA, rcode),
the owner and type of each record and a few fields: NS and CNAME targets, A/AAAA addresses, the
SOA timers, RRSIG timing and key tag. Those are read here straight from the wire; every other
type is handed to dnspython's rdata parser (so it is validated exactly as before), and any
record can be turned into a dnspython rdata later (DNSSEC validation, expected records).

The reader accepts what dnspython's message parser accepts and rejects the rest with
:class:`WireError`, named after dnspython's exception for the same fault (``ShortHeader``,
``FormError``, ``BadPointer``…): a broken answer is reported as it was. It never raises
anything else (tests feed it thousands of corrupted answers). Work is bounded by the message:
every record consumes at least 11 bytes and a name follows at most 16 compression pointers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dns.exception
import dns.ipv6
import dns.rcode
import dns.rdata

A, NS, CNAME, SOA, AAAA, OPT, RRSIG, TSIG = 1, 2, 5, 6, 28, 41, 46, 250
IN = 1
UPDATE = 5  # opcode
AA = 0x0400
MAX_POINTERS = 16  # dnspython's limit on a compression chain
_SPECIAL = b'"().;\\@$'  # escaped with a backslash in a name's text (dnspython's set)
_SAFE = bytes(c for c in range(0x21, 0x7F) if c not in _SPECIAL)


class WireError(Exception):
    """The answer cannot be read; ``name`` is the fault, in dnspython's vocabulary."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@dataclass(frozen=True, slots=True)
class Soa:
    mname: str
    rname: str
    serial: int
    refresh: int
    retry: int
    expire: int
    minimum: int


@dataclass(frozen=True, slots=True)
class Rrsig:
    type_covered: int
    algorithm: int
    labels: int
    original_ttl: int
    expiration: int
    inception: int
    key_tag: int
    signer: str


@dataclass(frozen=True, slots=True)
class Record:
    """One resource record. ``value``: a name's text (NS, CNAME), an address (A, AAAA), a
    :class:`Soa`, an :class:`Rrsig`, or dnspython's rdata for any other type."""

    name: str  # owner, lower case, without the final dot (as the audit compares names)
    rdtype: int
    rdclass: int
    ttl: int
    start: int  # the rdata's place in the message
    end: int
    value: Any


@dataclass(frozen=True, slots=True)
class Message:
    wire: bytes
    flags: int
    rcode_value: int  # with the EDNS extended bits, as dnspython's ``Message.rcode()``
    answer: tuple[Record, ...]
    authority: tuple[Record, ...]
    additional: tuple[Record, ...]

    def rcode(self) -> str:
        return dns.rcode.to_text(self.rcode_value)  # type: ignore[arg-type]

    def rdata(self, record: Record) -> dns.rdata.Rdata:
        """The record as dnspython's rdata (already read for the types not read here)."""
        if isinstance(record.value, dns.rdata.Rdata):
            return record.value
        return dns.rdata.from_wire(record.rdclass, record.rdtype, self.wire,  # type: ignore[arg-type]
                                   record.start, record.end - record.start)


def read(wire: bytes, sections: int = 3) -> Message:
    """Read a DNS message: header, question, then the first ``sections`` record sections
    (1 = the answer only). Trailing bytes are ignored. Raises :class:`WireError`."""
    if len(wire) < 12:
        raise WireError("ShortHeader")
    flags = wire[2] << 8 | wire[3]
    if flags >> 11 & 0xF == UPDATE:  # never a reply to a query; sections mean other things
        raise WireError("FormError")
    counts = [wire[i] << 8 | wire[i + 1] for i in (4, 6, 8, 10)]
    pos, end = 12, len(wire)
    for _ in range(counts[0]):
        pos = _name(wire, pos, end)[1] + 4
        if pos > end:
            raise WireError("FormError")
    read_sections: list[tuple[Record, ...]] = []
    opt_ttl: int | None = None
    for number in range(1, 4):
        records: list[Record] = []
        count = counts[number] if number <= sections else 0
        for position in range(count):
            name, rdtype, rdclass, ttl, start, pos = _header(wire, pos, end)
            if rdtype == OPT:  # checked before its data is read, as dnspython does
                if number != 3 or opt_ttl is not None or name != ".":
                    raise WireError("BadEDNS")
                opt_ttl = ttl
            elif rdtype == TSIG and (number != 3 or rdclass != 255 or position != count - 1):
                raise WireError("BadTSIG")
            if pos > end:
                raise WireError("FormError")
            value = _value(wire, rdtype, rdclass, start, pos)
            if rdtype == TSIG:
                raise WireError("UnknownTSIGKey")  # a signed answer we hold no key for
            if rdtype != OPT:
                records.append(Record(name, rdtype, rdclass, ttl, start, pos, value))
        read_sections.append(tuple(records))
    rcode = flags & 0xF | ((opt_ttl >> 20) & 0xFF0 if opt_ttl is not None else 0)
    return Message(wire, flags, rcode, *read_sections)


def _header(wire: bytes, pos: int, end: int) -> tuple[str, int, int, int, int, int]:
    """(owner, type, class, TTL, start and end of the rdata) of the record at ``pos``."""
    labels, pos = _name(wire, pos, end)
    if pos + 10 > end:
        raise WireError("FormError")
    rdtype = wire[pos] << 8 | wire[pos + 1]
    rdclass = wire[pos + 2] << 8 | wire[pos + 3]
    ttl = int.from_bytes(wire[pos + 4:pos + 8], "big")
    start = pos + 10
    stop = start + (wire[pos + 8] << 8 | wire[pos + 9])  # checked by the caller
    return _text(labels), rdtype, rdclass, ttl, start, stop


def _value(wire: bytes, rdtype: int, rdclass: int, start: int, stop: int) -> Any:
    size = stop - start
    if rdtype == A and rdclass == IN:
        if size != 4:
            raise WireError("FormError")
        return ".".join(map(str, wire[start:stop]))
    if rdtype == AAAA and rdclass == IN:
        if size != 16:
            raise WireError("FormError")
        return dns.ipv6.inet_ntoa(wire[start:stop])
    if rdtype in (NS, CNAME):
        labels, pos = _name(wire, start, stop)
        return _text(labels) if pos == stop else _fail("FormError")
    if rdtype == SOA:
        mname, pos = _name(wire, start, stop)
        rname, pos = _name(wire, pos, stop)
        if stop - pos != 20:
            raise WireError("FormError")
        numbers = [int.from_bytes(wire[p:p + 4], "big") for p in range(pos, stop, 4)]
        return Soa(_text(mname), _text(rname), *numbers)
    if rdtype == RRSIG:
        if size < 18:
            raise WireError("FormError")
        fixed = wire[start:start + 18]
        signer, _ = _name(wire, start + 18, stop, compressed=False)  # then the signature
        return Rrsig(fixed[0] << 8 | fixed[1], fixed[2], fixed[3],
                     int.from_bytes(fixed[4:8], "big"), int.from_bytes(fixed[8:12], "big"),
                     int.from_bytes(fixed[12:16], "big"), fixed[16] << 8 | fixed[17],
                     _text(signer))
    if rdtype == OPT and size == 0:
        return None  # EDNS without options (the usual case): nothing to validate
    try:  # every other type: dnspython's own parser validates it, as it always did
        return dns.rdata.from_wire(rdclass, rdtype, wire, start, size)  # type: ignore[arg-type]
    except dns.exception.DNSException as exc:
        raise WireError(type(exc).__name__) from None


def _name(wire: bytes, pos: int, end: int,
          compressed: bool = True) -> tuple[tuple[bytes, ...], int]:
    """(labels, position after the name), following compression pointers as dnspython does:
    each must point before the previous one, and a target may not run into what follows it."""
    labels: list[bytes] = []
    size = 1
    lowest = segment = pos
    after = -1
    hops = 0
    while True:
        if pos >= end:
            raise WireError("FormError")
        count = wire[pos]
        pos += 1
        if count == 0:
            break
        if count < 64:
            if pos + count > end:
                raise WireError("FormError")
            labels.append(wire[pos:pos + count])
            size += count + 1
            pos += count
        elif count >= 192:
            if not compressed:  # RRSIG's signer name (RFC 4034)
                raise WireError("DecompressionForbidden")
            if pos >= end:
                raise WireError("FormError")
            target = (count & 0x3F) << 8 | wire[pos]
            pos += 1
            if target >= lowest:
                raise WireError("BadPointer")
            hops += 1
            if hops > MAX_POINTERS:
                raise WireError("PointerChainTooLong")
            if after < 0:
                after = pos
            lowest, end, pos = target, segment, target
            segment = target
        else:
            raise WireError("BadLabelType")
    if size > 255:
        raise WireError("NameTooLong")
    return tuple(labels), after if after >= 0 else pos


def _text(labels: tuple[bytes, ...]) -> str:
    """The name's text as dnspython writes it, without the final dot, in lower case."""
    if not labels:
        return "."
    if all(not label.translate(None, _SAFE) for label in labels):  # the usual case
        return b".".join(labels).decode("ascii").lower()
    return ".".join(_escape(label) for label in labels).lower()


def _escape(label: bytes) -> str:
    return "".join("\\" + chr(c) if c in _SPECIAL else chr(c) if 0x20 < c < 0x7F
                   else f"\\{c:03d}" for c in label)


def _fail(name: str) -> Any:
    raise WireError(name)
