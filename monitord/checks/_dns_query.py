"""One question to one authoritative server (RD=0), with the answer classified.

Authoritative checks need what a stub resolver hides: the AA flag, the rcode, the authority
and additional sections and DNSSEC records. Every query here is non-recursive, carries EDNS
(1232-byte payload, the DNS flag-day value) and has its own deadline; a UDP answer that comes
back truncated is asked again over TCP. No answer is cached: each run asks afresh (only the
rendered query bytes are reused).

Input from the network is bounded by the protocol itself (a UDP datagram, a TCP message of at
most 65,535 bytes); what the checks keep from a reply is bounded by their callers.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
from dataclasses import dataclass
from functools import lru_cache

import dns.flags
import dns.message
import dns.name
import dns.rdata
import dns.rdatatype

from monitord.checks._dns_wire import AA, RRSIG, Message, Record, Rrsig, WireError, read
from monitord.checks._options import is_ip
from monitord.compat import timeout as compat_timeout
from monitord.config.schema import HostPort

EDNS_PAYLOAD = 1232


@dataclass(frozen=True, slots=True)
class Reply:
    """The classified reply of one server; ``message`` is None when nothing usable came back.

    Names are compared in the reader's form (lower case, no final dot); methods take a
    dnspython name or that text.
    """

    server: HostPort
    transport: str  # "udp" or "tcp" (the transport that produced the reply)
    message: Message | None
    failure: str = ""  # "timeout", "connection refused", "malformed response: …"

    @property
    def rcode(self) -> str:
        return self.message.rcode() if self.message is not None else ""

    @property
    def authoritative(self) -> bool:
        """An answer a resolver can use as authoritative: NOERROR/NXDOMAIN with AA set."""
        m = self.message
        return m is not None and bool(m.flags & AA) and m.rcode_value in (0, 3)

    def problem(self) -> str:
        """Why this reply is not authoritative ("" when it is)."""
        if self.message is None:
            return self.failure
        if self.message.rcode_value not in (0, 3):
            return f"answered {self.rcode}"
        if not self.message.flags & AA:
            return "answered without the AA flag (not authoritative)"
        return ""

    def rrset(self, name: dns.name.Name | str, rdtype: int,
              section: str = "answer") -> list[Record] | None:
        """The records (name, type) of a section, of the first class seen (as dnspython
        groups an RRset), or None."""
        if self.message is None:
            return None
        key = name_key(name)
        found = [r for r in getattr(self.message, section) if r.rdtype == rdtype
                 and r.name == key]
        if not found:
            return None
        return [r for r in found if r.rdclass == found[0].rdclass]

    def rdatas(self, name: dns.name.Name | str, rdtype: int,
               section: str = "answer") -> list[dns.rdata.Rdata] | None:
        """The same records as dnspython rdata (for the few places that need its logic)."""
        records = self.rrset(name, rdtype, section)
        if records is None or self.message is None:
            return None
        return [self.message.rdata(r) for r in records]

    def signatures(self, name: dns.name.Name | str, covered: int) -> list[Rrsig]:
        """The RRSIGs over (name, covered) in the answer section."""
        if self.message is None:
            return []
        key = name_key(name)
        return [r.value for r in self.message.answer if r.rdtype == RRSIG and r.name == key
                and r.value.type_covered == covered]


@lru_cache(maxsize=4096)
def name_key(name: dns.name.Name | str) -> str:
    """A name in the form the reader gives owners: lower case, without the final dot."""
    if isinstance(name, str):
        name = dns.name.from_text(name)
    return name.to_text(omit_final_dot=True).lower()


async def ask(server: HostPort, name: dns.name.Name, rdtype: dns.rdatatype.RdataType,
              timeout: float, tcp: bool = False, dnssec: bool = False,
              answer_only: bool = False) -> Reply:
    """Ask ``server`` for (name, rdtype) without recursion; never raises on network trouble.

    ``answer_only`` reads the header and the answer section only: reading is a large part
    of the cost of a round, and a signed zone's authority and additional sections (NS, glue and
    their RRSIGs) are several times the size of the answer.
    """
    transport = "tcp" if tcp else "udp"
    if not is_ip(server.host):  # a name would be looked up by a blocking getaddrinfo
        return Reply(server, transport, None, "server is not an IP address")
    template, question = _render(name, rdtype, dnssec)
    ident = secrets.randbits(16).to_bytes(2, "big")
    wire = ident + template[2:]
    try:
        async with compat_timeout(timeout):
            if not tcp:
                data = await _udp(server, wire, question)
                if data[2] & _TC:  # truncated: the whole answer only comes over TCP
                    transport = "tcp"
                    data = await _tcp(server, wire, question)
            else:
                data = await _tcp(server, wire, question)
        response = read(data, sections=1 if answer_only else 3)
    except TimeoutError:
        return Reply(server, transport, None, "timeout")
    except ConnectionRefusedError:
        return Reply(server, transport, None, "connection refused")
    except ConnectionError as exc:
        return Reply(server, transport, None, f"connection closed ({type(exc).__name__})")
    except OSError as exc:
        return Reply(server, transport, None, exc.strerror or type(exc).__name__)
    except WireError as exc:
        return Reply(server, transport, None, f"malformed response: {exc.name}")
    except _Unmatched:
        return Reply(server, transport, None, "no response to the query on the connection")
    return Reply(server, transport, response)


# -- the wire ------------------------------------------------------------------------------
# A small client of our own rather than dns.asyncquery: the query is rendered once per
# (name, type) and reused with a fresh ID, and plain non-blocking sockets are used rather than
# transports (rendering and transport set-up were a third of the CPU of a round). The UDP
# socket is connected, so an ICMP "port unreachable" ends the wait at once.

_TC = 0x02
_QR = 0x80
MAX_TCP_MESSAGES = 4  # unrelated messages tolerated on one TCP connection before giving up


class _Unmatched(Exception):
    """The server sent messages on the connection, none of them our answer."""


@lru_cache(maxsize=4096)
def _render(name: dns.name.Name, rdtype: dns.rdatatype.RdataType,
            dnssec: bool) -> tuple[bytes, bytes]:
    """(query wire with ID 0, its question section) for a non-recursive EDNS query."""
    query = dns.message.make_query(name, rdtype, use_edns=0, payload=EDNS_PAYLOAD,
                                   want_dnssec=dnssec)
    query.flags &= ~dns.flags.RD
    query.id = 0
    wire = query.to_wire()
    question_size = len(name.to_wire() or b"") + 4  # name, type, class (never compressed)
    return wire, wire[12:12 + question_size]


def _answers(data: bytes, ident: bytes, question: bytes) -> bool:
    """Is ``data`` the response to our query (ID, QR bit, same question, any case)?"""
    if len(data) < 12 or data[:2] != ident or not data[2] & _QR:
        return False
    if data[4:6] == b"\0\0":  # some servers answer FORMERR without repeating the question
        return True
    return data[12:12 + len(question)].lower() == question.lower()


async def _udp(server: HostPort, wire: bytes, question: bytes) -> bytes:
    loop = asyncio.get_running_loop()
    with _socket(server, socket.SOCK_DGRAM) as sock:
        sock.connect((server.host, server.port))  # immediate for UDP; ICMP errors now reach us
        sock.send(wire)
        while True:  # the deadline is the caller's
            data = await loop.sock_recv(sock, 65535)
            if _answers(data, wire[:2], question):
                return data


async def _tcp(server: HostPort, wire: bytes, question: bytes) -> bytes:
    loop = asyncio.get_running_loop()
    with _socket(server, socket.SOCK_STREAM) as sock:
        await loop.sock_connect(sock, (server.host, server.port))
        await loop.sock_sendall(sock, len(wire).to_bytes(2, "big") + wire)
        for _ in range(MAX_TCP_MESSAGES):
            size = int.from_bytes(await _read(loop, sock, 2), "big")
            data = await _read(loop, sock, size)  # at most 65,535 bytes by construction
            if _answers(data, wire[:2], question):
                return data
        raise _Unmatched


async def _read(loop: asyncio.AbstractEventLoop, sock: socket.socket, size: int) -> bytes:
    buffer = bytearray()
    while len(buffer) < size:
        chunk = await loop.sock_recv(sock, size - len(buffer))
        if not chunk:
            raise ConnectionResetError("the server closed the connection")
        buffer += chunk
    return bytes(buffer)


def _socket(server: HostPort, kind: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in server.host else socket.AF_INET
    sock = socket.socket(family, kind)
    sock.setblocking(False)
    return sock
