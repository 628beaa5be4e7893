"""The SNMPv2c BER codec, checked against pysnmp's own encoder and decoder, and fed garbage."""

from __future__ import annotations

import contextlib
import random

import pytest
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api, rfc1902, rfc1905

from monitord.snmp import ber
from monitord.snmp.values import Absent

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
BASE = (1, 3, 6, 1, 4, 1, 99999)


def pysnmp_response(request_id: int, binds: list[tuple[tuple[int, ...], object]],
                    community: bytes = b"public", status: int = 0, index: int = 0) -> bytes:
    pdu = V2C.ResponsePDU()
    V2C.apiPDU.set_defaults(pdu)
    V2C.apiPDU.set_request_id(pdu, request_id)
    V2C.apiPDU.set_error_status(pdu, status)
    V2C.apiPDU.set_error_index(pdu, index)
    V2C.apiPDU.set_varbinds(pdu, binds)
    message = V2C.Message()
    V2C.apiMessage.set_defaults(message)
    V2C.apiMessage.set_community(message, community)
    V2C.apiMessage.set_pdu(message, pdu)
    data: bytes = encoder.encode(message)
    return data


def decode(data: bytes) -> ber.Response:
    version, pos, end = ber.decode_message_head(data)
    if version != ber.VERSION_2C:
        raise ber.BerError("not v2c")
    return ber.decode_response(data, pos, end)


VALUES: list[tuple[object, object]] = [
    (rfc1902.Counter32(0), 0),
    (rfc1902.Counter32(2**32 - 1), 2**32 - 1),  # the last value before a wrap
    (rfc1902.Counter64(2**64 - 1), 2**64 - 1),
    (rfc1902.Counter64(10**15), 10**15),
    (rfc1902.Gauge32(4_000_000_000), 4_000_000_000),
    (rfc1902.TimeTicks(2**32 - 1), 2**32 - 1),
    (rfc1902.Integer32(-2**31), -2**31),
    (rfc1902.Integer32(127), 127),
    (rfc1902.Integer32(128), 128),
    (rfc1902.OctetString(b"ge-0/0/1"), "ge-0/0/1"),
    (rfc1902.OctetString(b"padded\0\0"), "padded"),
    (rfc1902.OctetString(b"caf\xc3\xa9 \xff"), "café \ufffd"),
    (rfc1902.OctetString(b""), ""),
    (rfc1902.OctetString(b"x" * 300), "x" * 300),  # a long length form
    (rfc1902.IpAddress("192.0.2.7"), "192.0.2.7"),
    (rfc1902.ObjectIdentifier((1, 3, 6, 1, 2, 1, 2**32 - 1, 128)), "1.3.6.1.2.1.4294967295.128"),
    (rfc1902.ObjectIdentifier((2, 999, 3)), "2.999.3"),
    (rfc1905.NoSuchObject(), Absent.NO_SUCH_OBJECT),
    (rfc1905.NoSuchInstance(), Absent.NO_SUCH_INSTANCE),
    (rfc1905.EndOfMibView(), Absent.END_OF_MIB_VIEW),
    (rfc1902.Null(), Absent.NO_SUCH_INSTANCE),
]


@pytest.mark.parametrize(("value", "expected"), VALUES, ids=lambda v: repr(v)[:40])
def test_values_decode_as_pysnmp_encodes_them(value: object, expected: object) -> None:
    response = decode(pysnmp_response(77, [((*BASE, 1, 0), value)]))
    assert response.request_id == 77
    assert response.community == b"public"
    assert response.binds == [((*BASE, 1, 0), expected)]


def test_a_whole_response_with_an_error_status() -> None:
    binds = [((*BASE, n, 2**31 + n), rfc1902.Counter32(n)) for n in range(200)]
    response = decode(pysnmp_response(2**31 - 1, binds, b"s3cret", status=6, index=3))
    assert (response.request_id, response.community) == (2**31 - 1, b"s3cret")
    assert (response.error_status, response.error_index, response.error_name) == (6, 3, "noAccess")
    assert response.binds == [((*BASE, n, 2**31 + n), n) for n in range(200)]
    assert ber.Response(1, b"", 99, 0, []).error_name == "error 99"


def message(*binds: bytes) -> bytes:
    """A v2c Response (request id 1, community "c") around hand-made variable bindings."""
    pdu = ber._tlv(ber.RESPONSE, ber.encode_int(1) + ber.encode_int(0) + ber.encode_int(0)
                   + ber._tlv(ber.SEQUENCE, b"".join(binds)))
    return ber._tlv(ber.SEQUENCE, ber.encode_int(1) + ber._tlv(ber.OCTET_STRING, b"c") + pdu)


def bind(value: bytes, oid: bytes = ber.encode_oid(BASE)) -> bytes:
    return ber._tlv(ber.SEQUENCE, oid + value)


def test_a_counter_without_its_leading_zero_reads_as_unsigned() -> None:
    # Some agents encode 2^32 - 1 as FF FF FF FF, which BER reads as -1.
    data = message(bind(b"\x41\x04\xff\xff\xff\xff"), bind(b"\x46\x01\xfe"))
    assert decode(data).binds == [(BASE, 2**32 - 1), (BASE, 2**64 - 2)]


@pytest.mark.parametrize("bulk", [False, True])
def test_requests_decode_in_pysnmp(bulk: bool) -> None:
    oids = [(1, 3, 6, 1, 2, 1, 2, 2, 1, 7), (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1, 2**32 - 1)]
    data = ber.encode_request(b"public", 123456, oids, bulk=bulk, max_repetitions=25)
    message, rest = decoder.decode(data, asn1Spec=V2C.Message())
    assert rest == b""
    pdu = V2C.apiMessage.get_pdu(message)
    assert bytes(V2C.apiMessage.get_community(message)) == b"public"
    assert int(V2C.apiPDU.get_request_id(pdu)) == 123456
    assert [tuple(name) for name, _ in V2C.apiPDU.get_varbinds(pdu)] == oids
    if bulk:
        assert pdu.isSameTypeWith(V2C.GetBulkRequestPDU())
        assert int(V2C.apiBulkPDU.get_max_repetitions(pdu)) == 25
        assert int(V2C.apiBulkPDU.get_non_repeaters(pdu)) == 0
    else:
        assert pdu.isSameTypeWith(V2C.GetRequestPDU())


def test_discovery_probe_is_a_v3_message() -> None:
    data = ber.encode_discovery(4242)
    version, pos, end = ber.decode_message_head(data)
    assert (version, ber.decode_v3_message_id(data, pos, end)) == (3, 4242)


def test_unencodable_oid() -> None:
    with pytest.raises(ValueError, match="not an encodable OID"):
        ber.encode_oid((1, 40, 1))


# -- hostile bytes ------------------------------------------------------------------------

GOOD = pysnmp_response(9, [((*BASE, 1, 0), rfc1902.Counter64(10**12)),
                           ((*BASE, 2, 0), rfc1902.OctetString(b"name")),
                           ((*BASE, 3, 0), rfc1902.IpAddress("10.0.0.1"))])


def test_every_truncation_is_rejected() -> None:
    for size in range(len(GOOD)):
        with pytest.raises(ber.BerError):
            decode(GOOD[:size])


def test_trailing_bytes_are_rejected() -> None:
    with pytest.raises(ber.BerError):
        decode(GOOD + b"\x00")


@pytest.mark.parametrize("data", [
    b"\x30\x80\x02\x01\x01\x00\x00",  # indefinite length
    b"\x30\x85\x00\x00\x00\x00\x03\x02\x01\x01",  # a five-octet length
    b"\x30\x84\xff\xff\xff\xff\x02\x01\x01",  # longer than the datagram
    b"\x3f\x01\x00",  # high tag number
    b"\x30\x03\x02\x00\x00",  # empty integer
    b"\x30\x0d\x02\x0a" + b"\x01" * 10,  # a 10-octet integer
    b"\x04\x00",  # not a sequence
], ids=["indefinite", "long-length", "overlong", "high-tag", "empty-int", "big-int", "octets"])
def test_malformed_heads_are_rejected(data: bytes) -> None:
    with pytest.raises(ber.BerError):
        decode(data)


@pytest.mark.parametrize("value", [
    b"\x47\x01\x00",  # no such application type (Counter64 is 0x46)
    b"\x40\x03\x0a\x00\x00",  # a 3-octet IpAddress
    b"\x41\x00",  # an empty counter
    b"\x05\x00\x05\x00",  # two values in one binding
    b"",  # no value at all
], ids=["unknown-type", "short-ip", "empty-counter", "two-values", "no-value"])
def test_malformed_values_are_rejected(value: bytes) -> None:
    with pytest.raises(ber.BerError):
        decode(message(bind(b"\x02\x01\x01"), bind(value)))


@pytest.mark.parametrize("oid", [
    b"\x06\x00",  # empty
    b"\x06\x02\x2b\x80",  # ends inside a sub-identifier
    b"\x06\x03\x2b\x80\x01",  # a leading zero octet
    b"\x06\x06\x2b\x90\x80\x80\x80\x00",  # above 32 bits
    b"\x04\x01\x2b",  # not an OID
    ber.encode_oid((1, 3, *([1] * 200))),  # too many arcs
])
def test_malformed_oids_are_rejected(oid: bytes) -> None:
    with pytest.raises(ber.BerError):
        decode(message(bind(b"\x05\x00", oid)))


def test_random_corruption_raises_only_ber_errors() -> None:
    generator = random.Random(14)
    for _ in range(3000):
        data = bytearray(GOOD)
        for _ in range(generator.randint(1, 4)):
            data[generator.randrange(len(data))] = generator.randrange(256)
        with contextlib.suppress(ber.BerError):  # anything else fails the test
            decode(bytes(data))
    for _ in range(2000):
        noise = bytes(generator.randrange(256) for _ in range(generator.randint(0, 64)))
        with contextlib.suppress(ber.BerError):
            decode(noise)
