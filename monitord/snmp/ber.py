"""The few BER shapes of SNMPv2c polling: requests encoded, responses decoded (pure functions).

Community polls do not go through pysnmp: its pyasn1 decoding of a response was most of a
poll's CPU (a 48-port walk carries ~200 values, each built as a pyasn1 object and copied a
few times). This module knows only what a poll needs: a GetRequest or GetBulkRequest in a
v2c message, and the Response coming back, decoded straight into plain values
(:data:`~monitord.snmp.values.Value`). SNMPv3 stays with pysnmp (its security processing).

Decoding never trusts the peer: every length must fit inside its parent, only definite
lengths and low tag numbers are accepted, integers and sub-identifiers are bounded, and
anything else raises :class:`BerError` (the datagram is then ignored or reported, never
half-used).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monitord.snmp.values import Absent, Value

SEQUENCE = 0x30
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OBJECT_ID = 0x06
IP_ADDRESS = 0x40
COUNTER32 = 0x41
GAUGE32 = 0x42
TIME_TICKS = 0x43
OPAQUE = 0x44
COUNTER64 = 0x46
GET = 0xA0
RESPONSE = 0xA2
GET_BULK = 0xA5
VERSION_2C = 1
VERSION_3 = 3

# Unsigned application types and their width; an agent that forgets BER's leading zero byte
# sends a "negative" counter: it is read modulo the width, as net-snmp's tools do.
_UNSIGNED = {COUNTER32: 1 << 32, GAUGE32: 1 << 32, TIME_TICKS: 1 << 32, COUNTER64: 1 << 64}
_EXCEPTIONS = {0x80: Absent.NO_SUCH_OBJECT, 0x81: Absent.NO_SUCH_INSTANCE,
               0x82: Absent.END_OF_MIB_VIEW}
_TEXT = (OCTET_STRING, OPAQUE)
MAX_INTEGER_OCTETS = 9  # a Counter64 with its leading zero
MAX_SUBID_OCTETS = 5  # 32-bit sub-identifiers take up to five octets
MAX_OID_LENGTH = 128  # sub-identifiers per OID (RFC 3416)

ERROR_NAMES = (
    "noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr", "noAccess",
    "wrongType", "wrongLength", "wrongEncoding", "wrongValue", "noCreation",
    "inconsistentValue", "resourceUnavailable", "commitFailed", "undoFailed",
    "authorizationError", "notWritable", "inconsistentName",
)

Oid = tuple[int, ...]


class BerError(ValueError):
    """The bytes are not the SNMP message they claim to be."""


@dataclass(frozen=True, slots=True)
class Response:
    request_id: int
    community: bytes
    error_status: int
    error_index: int
    binds: list[tuple[Oid, Value]]

    @property
    def error_name(self) -> str:
        status = self.error_status
        return ERROR_NAMES[status] if 0 <= status < len(ERROR_NAMES) else f"error {status}"


# -- encoding ------------------------------------------------------------------------------


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes((size,))
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(octets),)) + octets


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes((tag,)) + _length(len(body)) + body


def encode_int(value: int) -> bytes:
    return _tlv(INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def encode_oid(oid: Sequence[int]) -> bytes:
    if len(oid) < 2 or oid[0] > 2 or (oid[0] < 2 and oid[1] >= 40):
        raise ValueError(f"not an encodable OID: {oid}")
    body = bytearray()
    for arc in (oid[0] * 40 + oid[1], *oid[2:]):
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return _tlv(OBJECT_ID, bytes(body))


def encode_request(community: bytes, request_id: int, oids: Sequence[Oid], *,
                   bulk: bool = False, non_repeaters: int = 0, max_repetitions: int = 0) -> bytes:
    """A v2c GetRequest (or GetBulkRequest) for ``oids``, values Null."""
    null = b"\x05\x00"
    binds = b"".join(_tlv(SEQUENCE, encode_oid(oid) + null) for oid in oids)
    first, second = (non_repeaters, max_repetitions) if bulk else (0, 0)
    pdu = _tlv(GET_BULK if bulk else GET, encode_int(request_id) + encode_int(first)
               + encode_int(second) + _tlv(SEQUENCE, binds))
    return _tlv(SEQUENCE, encode_int(VERSION_2C) + _tlv(OCTET_STRING, community) + pdu)


def encode_discovery(message_id: int) -> bytes:
    """An SNMPv3 GetRequest from no user, reportable: a live v3 agent answers with a Report
    (RFC 3414 engine discovery), whatever credentials the poll itself uses."""
    header = _tlv(SEQUENCE, encode_int(message_id) + encode_int(65507)
                  + _tlv(OCTET_STRING, b"\x04") + encode_int(3))
    usm = _tlv(SEQUENCE, _tlv(OCTET_STRING, b"") + encode_int(0) + encode_int(0)
               + _tlv(OCTET_STRING, b"") + _tlv(OCTET_STRING, b"") + _tlv(OCTET_STRING, b""))
    pdu = _tlv(GET, encode_int(message_id) + encode_int(0) + encode_int(0) + _tlv(SEQUENCE, b""))
    scoped = _tlv(SEQUENCE, _tlv(OCTET_STRING, b"") + _tlv(OCTET_STRING, b"") + pdu)
    return _tlv(SEQUENCE, encode_int(VERSION_3) + header + _tlv(OCTET_STRING, usm) + scoped)


# -- decoding ------------------------------------------------------------------------------


def _header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, start of contents, end of contents) of the element at ``pos``."""
    if pos + 2 > end:
        raise BerError("truncated element")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise BerError("high tag numbers are not used by SNMP")
    size = data[pos + 1]
    pos += 2
    if size & 0x80:
        count = size & 0x7F
        if count == 0 or count > 4:
            raise BerError("indefinite or oversized length")
        if pos + count > end:
            raise BerError("truncated length")
        size = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    stop = pos + size
    if stop > end:
        raise BerError("element longer than its container")
    return tag, pos, stop


def _expect(data: bytes, pos: int, end: int, tag: int) -> tuple[int, int]:
    found, start, stop = _header(data, pos, end)
    if found != tag:
        raise BerError(f"expected tag {tag:#x}, found {found:#x}")
    return start, stop


def _int(data: bytes, start: int, stop: int) -> int:
    if not 0 < stop - start <= MAX_INTEGER_OCTETS:
        raise BerError("integer of bad length")
    return int.from_bytes(data[start:stop], "big", signed=True)


def read_int(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """An INTEGER at ``pos``: (value, position after it)."""
    start, stop = _expect(data, pos, end, INTEGER)
    return _int(data, start, stop), stop


def _oid(data: bytes, start: int, stop: int) -> Oid:
    if start == stop:
        raise BerError("empty OID")
    arcs: list[int] = []
    arc = 0
    octets = 0
    for pos in range(start, stop):
        byte = data[pos]
        if octets == 0 and byte == 0x80:
            raise BerError("OID sub-identifier with a leading zero octet")
        arc = (arc << 7) | (byte & 0x7F)
        octets += 1
        if byte & 0x80:
            if octets >= MAX_SUBID_OCTETS:
                raise BerError("OID sub-identifier too large")
            continue
        if arc > 0xFFFFFFFF:
            raise BerError("OID sub-identifier above 32 bits")
        arcs.append(arc)
        arc = octets = 0
    if octets or len(arcs) >= MAX_OID_LENGTH:
        raise BerError("truncated or overlong OID")
    first = arcs[0]
    head = (first // 40, first % 40) if first < 80 else (2, first - 80)
    return (*head, *arcs[1:])


def _value(data: bytes, tag: int, start: int, stop: int) -> Value:
    if tag in _UNSIGNED:
        return _int(data, start, stop) % _UNSIGNED[tag]
    if tag == INTEGER:
        return _int(data, start, stop)
    if tag in _TEXT:
        return data[start:stop].rstrip(b"\0").decode("utf-8", "replace")
    if tag in _EXCEPTIONS:
        return _EXCEPTIONS[tag]
    if tag == OBJECT_ID:
        return ".".join(map(str, _oid(data, start, stop)))
    if tag == IP_ADDRESS:
        if stop - start != 4:
            raise BerError("IpAddress of bad length")
        return ".".join(str(octet) for octet in data[start:stop])
    if tag == NULL:
        return Absent.NO_SUCH_INSTANCE
    raise BerError(f"unknown value type {tag:#x}")


def decode_message_head(data: bytes) -> tuple[int, int, int]:
    """(version, position after it, end of the message) of any SNMP message."""
    start, stop = _expect(data, 0, len(data), SEQUENCE)
    if stop != len(data):
        raise BerError("trailing bytes after the message")
    version, pos = read_int(data, start, stop)
    return version, pos, stop


def decode_v3_message_id(data: bytes, pos: int, end: int) -> int:
    """The msgID of an SNMPv3 message, given the position after its version."""
    start, stop = _expect(data, pos, end, SEQUENCE)
    return read_int(data, start, stop)[0]


def decode_response(data: bytes, pos: int, end: int) -> Response:
    """A v2c Response PDU, given the position after the message's version."""
    start, pos = _expect(data, pos, end, OCTET_STRING)
    community = data[start:pos]
    pdu_start, pdu_stop = _expect(data, pos, end, RESPONSE)
    if pdu_stop != end:
        raise BerError("trailing bytes after the PDU")
    request_id, pos = read_int(data, pdu_start, pdu_stop)
    status, pos = read_int(data, pos, pdu_stop)
    index, pos = read_int(data, pos, pdu_stop)
    pos, list_stop = _expect(data, pos, pdu_stop, SEQUENCE)
    if list_stop != pdu_stop:
        raise BerError("trailing bytes after the variable bindings")
    binds: list[tuple[Oid, Value]] = []
    while pos < list_stop:
        bind_start, bind_stop = _expect(data, pos, list_stop, SEQUENCE)
        oid_start, oid_stop = _expect(data, bind_start, bind_stop, OBJECT_ID)
        tag, value_start, value_stop = _header(data, oid_stop, bind_stop)
        if value_stop != bind_stop:
            raise BerError("trailing bytes in a variable binding")
        binds.append((_oid(data, oid_start, oid_stop), _value(data, tag, value_start,
                                                               value_stop)))
        pos = bind_stop
    return Response(request_id, community, status, index, binds)
