"""One question to one authoritative server (dnspython, RD=0), with the answer classified.

Authoritative checks need what a stub resolver hides: the AA flag, the rcode, the authority
and additional sections and DNSSEC records. Every query here is non-recursive, carries EDNS
(1232-byte payload, the DNS flag-day value) and has its own deadline; a UDP answer that comes
back truncated is asked again over TCP. Nothing is cached: each run asks afresh.

Input from the network is bounded by the protocol itself (a UDP datagram, a TCP message of at
most 65,535 bytes); what the checks keep from a reply is bounded by their callers.
"""

from __future__ import annotations

from dataclasses import dataclass

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset

from monitord.config.schema import HostPort

EDNS_PAYLOAD = 1232


@dataclass(frozen=True, slots=True)
class Reply:
    """The classified reply of one server; ``message`` is None when nothing usable came back."""

    server: HostPort
    transport: str  # "udp" or "tcp" (the transport that produced the reply)
    message: dns.message.Message | None
    failure: str = ""  # "timeout", "connection refused", "malformed response: …"

    @property
    def rcode(self) -> str:
        return dns.rcode.to_text(self.message.rcode()) if self.message is not None else ""

    @property
    def authoritative(self) -> bool:
        """An answer a resolver can use as authoritative: NOERROR/NXDOMAIN with AA set."""
        m = self.message
        return (m is not None and bool(m.flags & dns.flags.AA)
                and m.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN))

    def problem(self) -> str:
        """Why this reply is not authoritative ("" when it is)."""
        if self.message is None:
            return self.failure
        if self.message.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            return f"answered {self.rcode}"
        if not self.message.flags & dns.flags.AA:
            return "answered without the AA flag (not authoritative)"
        return ""

    def rrset(self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType,
              section: str = "answer") -> dns.rrset.RRset | None:
        """The RRset (name, type) in a section, or None."""
        if self.message is None:
            return None
        for rrset in getattr(self.message, section):
            if rrset.name == name and rrset.rdtype == rdtype:
                return rrset  # type: ignore[no-any-return]
        return None

    def signatures(self, name: dns.name.Name,
                   covered: dns.rdatatype.RdataType) -> list[dns.rdata.Rdata]:
        """The RRSIGs over (name, covered) in the answer section."""
        if self.message is None:
            return []
        return [rd for rrset in self.message.answer
                if rrset.name == name and rrset.rdtype == dns.rdatatype.RRSIG
                for rd in rrset if rd.type_covered == covered]


async def ask(server: HostPort, name: dns.name.Name, rdtype: dns.rdatatype.RdataType,
              timeout: float, tcp: bool = False, dnssec: bool = False) -> Reply:
    """Ask ``server`` for (name, rdtype) without recursion; never raises on network trouble."""
    query = dns.message.make_query(name, rdtype, use_edns=0, payload=EDNS_PAYLOAD,
                                   want_dnssec=dnssec)
    query.flags &= ~dns.flags.RD
    transport = "tcp" if tcp else "udp"
    try:
        if tcp:
            response = await dns.asyncquery.tcp(query, server.host, timeout=timeout,
                                                port=server.port)
        else:
            response, used_tcp = await dns.asyncquery.udp_with_fallback(
                query, server.host, timeout=timeout, port=server.port)
            transport = "tcp" if used_tcp else "udp"
    except dns.exception.Timeout:
        return Reply(server, transport, None, "timeout")
    except ConnectionRefusedError:
        return Reply(server, transport, None, "connection refused")
    except (EOFError, ConnectionError) as exc:
        return Reply(server, transport, None, f"connection closed ({type(exc).__name__})")
    except OSError as exc:
        return Reply(server, transport, None, exc.strerror or type(exc).__name__)
    except dns.exception.DNSException as exc:  # FORMERR-like garbage, id/question mismatch
        return Reply(server, transport, None, f"malformed response: {type(exc).__name__}")
    return Reply(server, transport, response)
