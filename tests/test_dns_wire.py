"""The DNS answer reader (``_dns_wire``) against dnspython, on real answers from Knot.

Real answers (a signed zone, an unsigned one, a parent with a delegation and glue; SOA, NS,
DNSKEY, A, AAAA, MX, TXT, NXDOMAIN with NSEC proofs) are read by both; every field the checks
use must agree. Then thousands of seeded corruptions of those answers: the reader may only
accept or raise its own ``WireError``, and it accepts exactly what dnspython accepts, with the
same failure name (except UPDATE messages, which the reader always refuses).
"""

from __future__ import annotations

import contextlib
import random
import socket
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rdatatype
import dns.version
import pytest

from monitord.checks._dns_wire import Message, Rrsig, Soa, WireError, read
from tests.support.dnssec import sign
from tests.support.dnszones import zone_text
from tests.support.knot import KnotServer, free_udp_tcp_port, start_knot

ADDRESS = "127.0.56.1"
NOW = datetime.now(timezone.utc)
QUESTIONS = [  # (name, type, DNSSEC records, over TCP)
    ("signed.test", "SOA", True, False), ("signed.test", "DNSKEY", True, False),
    ("signed.test", "NS", False, True), ("signed.test", "NS", True, True),
    ("signed.test", "A", True, False), ("www.signed.test", "AAAA", True, False),
    ("signed.test", "MX", True, False), ("signed.test", "TXT", True, False),
    ("nothing.signed.test", "A", True, False), ("signed.test", "CAA", True, False),
    ("plain.test", "SOA", False, False), ("plain.test", "NS", False, True),
    ("plain.test", "MX", False, False), ("alias.plain.test", "A", False, False),
    ("plain.test", "DS", False, False), ("child.plain.test", "NS", False, False),
    ("child.plain.test", "DS", True, False), ("nothing.plain.test", "TXT", False, False),
]
RECORDS = ("@ IN A 192.0.2.10", "www IN AAAA 2001:db8::10", "www IN A 192.0.2.11",
           "@ IN MX 10 mx.example.net.", '@ IN TXT "v=spf1 -all" "second string"',
           '@ IN CAA 0 issue "letsencrypt.org"', "ns1 IN A 127.0.56.1",
           "ns2 IN AAAA ::ffff:192.0.2.1", "alias IN CNAME www")


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[bytes]]:
    tmp = tmp_path_factory.mktemp("wire")
    signed = sign(tmp / "keys", "signed.test", zone_text("signed.test", records=RECORDS),
                  NOW - timedelta(days=1), NOW + timedelta(days=20))
    plain = zone_text("plain.test", records=[
        *RECORDS, "child IN NS ns1.child", "child IN NS ns.elsewhere.example.",
        "ns1.child IN A 192.0.2.53", "ns1.child IN AAAA 2001:db8::53",
        "child IN DS 12345 13 2 " + "ab" * 32])
    port = free_udp_tcp_port([ADDRESS])
    server: KnotServer = start_knot(tmp, {"signed.test": signed.text, "plain.test": plain},
                                    ADDRESS, port)
    try:
        yield [_ask(port, *question) for question in QUESTIONS]
    finally:
        server.stop()


def _ask(port: int, name: str, rdtype: str, dnssec: bool, tcp: bool) -> bytes:
    query = dns.message.make_query(name, rdtype, want_dnssec=dnssec, payload=1232, use_edns=0)
    query.flags &= ~dns.flags.RD
    wire = query.to_wire()
    kind = socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.settimeout(5)
        sock.connect((ADDRESS, port))
        if not tcp:
            sock.send(wire)
            return sock.recv(65535)
        sock.sendall(len(wire).to_bytes(2, "big") + wire)
        data = b""
        while len(data) < 2 or len(data) < 2 + int.from_bytes(data[:2], "big"):
            chunk = sock.recv(65535)
            assert chunk, "knotd closed the connection"
            data += chunk
        return data[2:]


def _ours(message: Message) -> list[list[tuple[str, int, int, str]]]:
    return [sorted({(r.name, r.rdtype, r.rdclass, message.rdata(r).to_text()) for r in section})
            for section in (message.answer, message.authority, message.additional)]


def _theirs(message: dns.message.Message) -> list[list[tuple[str, int, int, str]]]:
    return [sorted({(rrset.name.to_text(omit_final_dot=True).lower(), rrset.rdtype,
                     rrset.rdclass, rd.to_text()) for rrset in section for rd in rrset})
            for section in (message.answer, message.authority, message.additional)]


def test_reader_agrees_with_dnspython_on_real_answers(answers: list[bytes]) -> None:
    types_seen: set[int] = set()
    for wire in answers:
        ours, theirs = read(wire), dns.message.from_wire(wire)
        assert ours.flags == theirs.flags
        assert ours.rcode() == dns.rcode.to_text(theirs.rcode())
        assert _ours(ours) == _theirs(theirs)
        for section, rrsets in ((ours.answer, theirs.answer), (ours.authority, theirs.authority),
                                (ours.additional, theirs.additional)):
            natives = {(r.name, r.rdtype, _native(r.value)) for r in section}
            expected = {(rrset.name.to_text(omit_final_dot=True).lower(), rrset.rdtype,
                         _native_of(rd)) for rrset in rrsets for rd in rrset}
            assert natives == expected
            types_seen |= {r.rdtype for r in section}
    # The answers cover every type the reader decodes itself, and a few it hands on.
    for rdtype in ("A", "AAAA", "NS", "CNAME", "SOA", "RRSIG", "DNSKEY", "MX", "TXT", "NSEC",
                   "DS", "CAA"):
        assert dns.rdatatype.from_text(rdtype) in types_seen, rdtype


def _native(value: object) -> object:
    if isinstance(value, Soa):
        return (value.mname, value.rname, value.serial, value.refresh, value.retry,
                value.expire, value.minimum)
    if isinstance(value, Rrsig):
        return (value.type_covered, value.algorithm, value.labels, value.original_ttl,
                value.expiration, value.inception, value.key_tag, value.signer)
    return value if isinstance(value, str) else value.to_text()  # type: ignore[attr-defined]


def _native_of(rd: object) -> object:
    text = rd.to_text()  # type: ignore[attr-defined]
    rdtype = rd.rdtype  # type: ignore[attr-defined]
    name = lambda n: n.to_text(omit_final_dot=True).lower()  # noqa: E731
    if rdtype == dns.rdatatype.SOA:
        return (name(rd.mname), name(rd.rname), rd.serial, rd.refresh,  # type: ignore[attr-defined]
                rd.retry, rd.expire, rd.minimum)  # type: ignore[attr-defined]
    if rdtype == dns.rdatatype.RRSIG:
        return (rd.type_covered, rd.algorithm, rd.labels,  # type: ignore[attr-defined]
                rd.original_ttl, rd.expiration, rd.inception,  # type: ignore[attr-defined]
                rd.key_tag, name(rd.signer))  # type: ignore[attr-defined]
    if rdtype in (dns.rdatatype.NS, dns.rdatatype.CNAME):
        return name(rd.target)  # type: ignore[attr-defined]
    if rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
        return rd.address  # type: ignore[attr-defined]
    return text


def test_answer_only_reads_the_answer_section(answers: list[bytes]) -> None:
    for wire in answers:
        full, short = read(wire), read(wire, sections=1)
        assert short.answer == full.answer
        assert short.authority == short.additional == ()


def _corrupt(rng: random.Random, wire: bytes) -> bytes:
    data = bytearray(wire)
    how = rng.randrange(6)
    if how == 0:  # flip a few bytes anywhere
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif how == 1:  # cut short
        del data[rng.randrange(len(data)):]
    elif how == 2:  # a compression pointer to anywhere (forwards, loops, itself)
        at = rng.randrange(12, len(data) - 1)
        target = rng.randrange(len(data))
        data[at:at + 2] = bytes([0xC0 | target >> 8 & 0x3F, target & 0xFF])
    elif how == 3:  # record counts that lie
        at = rng.choice((4, 6, 8, 10))
        data[at:at + 2] = rng.randrange(65536).to_bytes(2, "big")
    elif how == 4:  # an rdata length that lies (a byte pair after the question)
        at = rng.randrange(12, len(data) - 1)
        data[at:at + 2] = rng.randrange(65536).to_bytes(2, "big")
    else:  # bytes inserted
        at = rng.randrange(len(data))
        data[at:at] = rng.randbytes(rng.randint(1, 12))
    return bytes(data)


def test_corrupted_answers_are_read_as_dnspython_reads_them(answers: list[bytes]) -> None:
    rng = random.Random(20260105)
    outcomes = {"accepted": 0, "rejected": 0}
    for round_ in range(300):
        for wire in answers:
            data = _corrupt(rng, wire)
            try:
                theirs: str | dns.message.Message = dns.message.from_wire(
                    data, ignore_trailing=True)
            except dns.exception.DNSException as exc:
                theirs = type(exc).__name__
            try:
                ours: str | Message = read(data)
            except WireError as exc:  # anything else fails the test
                ours = exc.name
            context = f"round {round_}, corrupted answer {data.hex()}"
            if len(data) >= 12 and data[2] >> 3 & 0xF == 5:  # UPDATE: refused as such
                assert ours == "FormError", context
            elif isinstance(theirs, str):
                assert _same_fault(ours, theirs), context
                outcomes["rejected"] += 1
            else:
                assert isinstance(ours, Message), f"{context}: {ours}"
                assert _ours(ours) == _theirs(theirs), context
                assert ours.flags == theirs.flags, context
                assert ours.rcode() == dns.rcode.to_text(theirs.rcode()), context
                outcomes["accepted"] += 1
    assert min(outcomes.values()) > 500, outcomes  # both paths were exercised


# The reader names faults as dnspython 2.9 does; older releases (2.8, the newest for Python
# 3.10) name a few differently (BadPointer / DecompressionForbidden / FormError for a pointer
# that goes wrong). There, the same answers must still be refused, whatever the name.
EXACT_NAMES = (int(dns.version.MAJOR), int(dns.version.MINOR)) >= (2, 9)


def _same_fault(ours: object, theirs: str) -> bool:
    return ours == theirs if EXACT_NAMES else isinstance(ours, str)


def test_garbage_and_extremes() -> None:
    rng = random.Random(7)
    for size in (0, 1, 11, 12, 13, 40, 512, 65535):
        for _ in range(200):
            with contextlib.suppress(WireError):  # anything else fails the test
                read(rng.randbytes(size))
    with pytest.raises(WireError, match="ShortHeader"):
        read(b"\x12\x34\x85")
    header = bytes(2) + b"\x84\x00" + (1).to_bytes(2, "big") + bytes(6)
    assert read(header + b"\x01a\x00\x00\x01\x00\x01").answer == ()
    with pytest.raises(WireError, match="BadPointer"):
        read(header + b"\xc0\x0c\x00\x01\x00\x01")  # a pointer to itself
