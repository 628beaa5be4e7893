"""The ``tcp`` check against real asyncio servers on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from monitord.checks import tcp
from monitord.checks.base import CheckEnv, check_env
from monitord.clock import SystemClock
from monitord.model import Outcome, Phase, Status
from tests.conftest import free_port
from tests.support import knot, probing
from tests.support.certs import Authority, self_signed_context
from tests.support.dnszones import config_errors, zone_text
from tests.support.knot import KnotServer
from tests.support.streams import listening

knot_factory = knot.knot_factory

BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"


async def banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(BANNER)
    await writer.drain()
    await reader.read(100)  # wait for the client to hang up


async def smtp_like(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"220 mx.example.test ESMTP\r\n")
    line = await reader.readline()
    if line == b"QUIT\r\n":
        writer.write(b"221 2.0.0 Bye\r\n")
    await writer.drain()


async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        writer.write(b"z" * 4096)
        await writer.drain()


async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"busy")
    await writer.drain()


env = probing.env


async def probe(env: CheckEnv, data: dict[str, Any], limit: float = 5.0) -> Outcome:
    return await probing.run_once(tcp.KIND, env, data, limit)


async def test_connect_only(env: CheckEnv) -> None:
    async with listening(banner) as port:
        outcome = await probe(env, {"host": "127.0.0.1", "port": port})
    assert outcome.status is Status.OK, outcome
    assert outcome.summary.startswith(f"connected to 127.0.0.1:{port} in ")


async def test_banner_matches(env: CheckEnv) -> None:
    async with listening(banner) as port:
        outcome = await probe(env, {"host": "127.0.0.1", "port": port, "expect": r"^SSH-2\.0-"})
    assert outcome.status is Status.OK, outcome
    assert outcome.summary.endswith('"SSH-2.0-" matches expect')
    assert outcome.metrics["bytes_read"] == len(BANNER)


async def test_banner_mismatch_is_a_content_failure(env: CheckEnv) -> None:
    async with listening(banner) as port:
        outcome = await probe(env, {"host": "127.0.0.1", "port": port, "expect": "^220 "},
                              limit=1.0)
    assert (outcome.status, outcome.phase) == (Status.CRITICAL, Phase.CONTENT)
    assert outcome.summary == ('no match for expect "^220 " before the deadline; '
                               'got "SSH-2.0-OpenSSH_9.2p1 Debian-2\\r\\n"')


async def test_banner_mismatch_when_the_server_hangs_up(env: CheckEnv) -> None:
    async with listening(hang_up) as port:
        outcome = await probe(env, {"host": "127.0.0.1", "port": port, "expect": "^220 "})
    assert (outcome.status, outcome.phase) == (Status.CRITICAL, Phase.CONTENT)
    assert outcome.summary == ('no match for expect "^220 " (the server closed the connection)'
                               '; got "busy"')


async def test_send_then_expect(env: CheckEnv) -> None:
    async with listening(smtp_like) as port:
        outcome = await probe(env, {"host": "127.0.0.1", "port": port, "send": "QUIT\r\n",
                                    "expect": r"(?m)^221 .*Bye"})
    assert outcome.status is Status.OK, outcome


async def test_reading_stops_at_max_read(env: CheckEnv) -> None:
    async with listening(flood) as port:
        outcome = await probe(env, {"host": "127.0.0.1", "port": port, "expect": "y",
                                    "max_read": "16KiB"})
    assert (outcome.status, outcome.phase) == (Status.CRITICAL, Phase.CONTENT)
    assert outcome.metrics["bytes_read"] == 16 * 1024
    assert "(read limit 16384 bytes)" in outcome.summary


async def test_closed_port(env: CheckEnv) -> None:
    port = free_port()
    outcome = await probe(env, {"host": "127.0.0.1", "port": port})
    assert (outcome.status, outcome.phase) == (Status.CRITICAL, Phase.CONNECT)
    assert outcome.summary == f"cannot connect to 127.0.0.1:{port}: Connection refused"


async def test_tls_banner_with_verification(env: CheckEnv, tmp_path: Path) -> None:
    authority = Authority.create(tmp_path)
    async with listening(banner, authority.server_context("mail.example.test")) as port:
        base = {"host": "127.0.0.1", "port": port, "tls": True, "expect": "^SSH-"}
        good = await probe(env, {**base, "server_name": "mail.example.test",
                                 "ca_file": str(authority.ca_file)})
        wrong = await probe(env, {**base, "server_name": "imap.example.test",
                                  "ca_file": str(authority.ca_file)})
    assert good.status is Status.OK, good
    assert good.summary.startswith(f"connected to 127.0.0.1:{port} over TLS in ")
    assert (wrong.status, wrong.phase) == (Status.CRITICAL, Phase.TLS)
    assert wrong.summary.startswith("certificate rejected: wrong host")


async def test_tls_self_signed(env: CheckEnv) -> None:
    async with listening(banner, self_signed_context("127.0.0.1")) as port:
        base = {"host": "127.0.0.1", "port": port, "tls": True, "expect": "^SSH-"}
        verified = await probe(env, base)
        unverified = await probe(env, {**base, "tls_verify": False})
    assert verified.phase is Phase.TLS
    assert verified.summary.startswith("certificate rejected: self-signed")
    assert unverified.status is Status.OK, unverified


async def test_tls_to_a_plain_server_fails_in_tls(env: CheckEnv) -> None:
    async with listening(banner) as port:
        outcome = await probe(env, {"host": "127.0.0.1", "port": port, "tls": True})
    assert (outcome.status, outcome.phase) == (Status.CRITICAL, Phase.TLS)
    assert outcome.summary.startswith("TLS handshake failed: ")


async def test_names_resolve_through_the_configured_resolvers(
    knot_factory: Callable[..., KnotServer],
) -> None:
    zone = zone_text("monitord.test", records=["ns1 IN A 127.0.0.1", "ns2 IN A 127.0.0.1",
                                               "mail IN A 127.0.0.1"])
    nameserver = knot_factory({"monitord.test": zone})
    async with listening(banner) as port, \
            check_env(SystemClock(), "here", (nameserver.endpoint,)) as env:
        found = await probe(env, {"host": "mail.monitord.test", "port": port, "expect": "^SSH"})
        missing = await probe(env, {"host": "mx.monitord.test", "port": port})
    assert found.status is Status.OK, found
    assert (missing.status, missing.phase) == (Status.CRITICAL, Phase.RESOLVE)
    assert missing.summary == "cannot resolve mx.monitord.test: Domain name not found"


@pytest.mark.parametrize(("data", "message"), [
    ({"port": 22}, "host: required"),
    ({"host": "a b", "port": 22}, 'host: expected a host name or an IP address, got "a b"'),
    ({"host": "x.test"}, "port: required"),
    ({"host": "x.test", "port": 70000}, "port: expected an integer from 1 to 65535, got 70000"),
    ({"host": "x.test", "port": 25, "expect": "(220"},
     'expect: invalid regular expression "(220": missing ), unterminated subpattern at '
     "position 0"),
    ({"host": "x.test", "port": 25, "tls": "yes"}, 'tls: expected true or false, got "yes"'),
])
def test_config_errors(data: dict[str, Any], message: str) -> None:
    assert config_errors(tcp.KIND, data) == [message]
