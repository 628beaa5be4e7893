"""The ``tls`` check against real TLS servers on loopback with certificates made for the test."""

from __future__ import annotations

import datetime as dt
import ssl
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from monitord.checks import tls
from monitord.checks.base import check_env
from monitord.clock import Clock, SystemClock
from monitord.model import Outcome, Phase, Status
from monitord.testing import FakeClock
from tests.conftest import free_port
from tests.support import probing
from tests.support.certs import Authority, self_signed_context, utcnow
from tests.support.dnszones import config_errors
from tests.support.streams import listening, wait_for_hang_up

NAME = "www.example.test"


def remembering(context: ssl.SSLContext, seen: list[str | None]) -> ssl.SSLContext:
    """``context``, noting the server name (SNI) each client sends into ``seen``."""

    def remember(_sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        seen.append(name)

    context.sni_callback = remember
    return context


def tls_server(context: ssl.SSLContext) -> AbstractAsyncContextManager[int]:
    """A loopback TLS listener that completes handshakes and waits for the client to leave."""
    return listening(wait_for_hang_up, context)


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return Authority.create(tmp_path)


async def probe(data: dict[str, Any], clock: Clock | None = None) -> Outcome:
    async with check_env(clock or SystemClock(), "here") as env:
        return await probing.run_once(tls.KIND, env, data)


def keys(port: int, authority: Authority | None = None, **more: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"host": "127.0.0.1", "port": port, "server_name": NAME, **more}
    if authority is not None:
        data["ca_file"] = str(authority.ca_file)
    return data


# The certificate is valid (for OpenSSL, in real time) until NOT_AFTER; the check counts
# days left from its clock, which the table sets.
@pytest.mark.parametrize(("days_before_expiry", "thresholds", "status"), [
    (40, {}, Status.OK),
    (21.5, {}, Status.OK),
    (20.5, {}, Status.WARNING),
    (7.5, {}, Status.WARNING),
    (6.5, {}, Status.CRITICAL),
    (3, {}, Status.CRITICAL),
    (40, {"warn_before": "60d", "crit_before": "30d"}, Status.WARNING),
    (20, {"warn_before": "60d", "crit_before": "30d"}, Status.CRITICAL),
    (3, {"warn_before": "2d", "crit_before": "1d"}, Status.OK),
    (400, {}, Status.CRITICAL),  # before not_before
])
async def test_expiry_thresholds(authority: Authority, days_before_expiry: float,
                                 thresholds: dict[str, str], status: Status) -> None:
    not_after = (utcnow() + dt.timedelta(days=30)).replace(microsecond=0)
    clock = FakeClock(start=not_after - dt.timedelta(days=days_before_expiry))
    context = authority.server_context(NAME, not_before=not_after - dt.timedelta(days=365),
                                       not_after=not_after)
    async with tls_server(context) as port:
        outcome = await probe(keys(port, authority, **thresholds), clock)
    assert outcome.status is status, outcome
    assert outcome.metrics["cert_days_left"] == pytest.approx(days_before_expiry)
    assert outcome.phase is (None if status is Status.OK else Phase.EXPIRY)
    assert f"not_after {not_after:%Y-%m-%dT%H:%M:%SZ}" in outcome.summary


async def test_a_certificate_expiring_in_3_days_is_critical(authority: Authority) -> None:
    context = authority.server_context(NAME, not_after=utcnow() + dt.timedelta(days=3))
    async with tls_server(context) as port:
        outcome = await probe(keys(port, authority))
    assert (outcome.status, outcome.phase) == (Status.CRITICAL, Phase.EXPIRY)
    assert outcome.summary.startswith("certificate expires in 3.0 days (crit_before 7d); "
                                      f"subject CN={NAME}, issuer OU=Testing CA")
    assert 2.9 < outcome.metrics["cert_days_left"] <= 3
    assert outcome.metrics["time_tls_ms"] > 0


async def test_an_expired_certificate_is_rejected_and_still_described(
    authority: Authority,
) -> None:
    context = authority.server_context(NAME, not_before=utcnow() - dt.timedelta(days=30),
                                       not_after=utcnow() - dt.timedelta(days=2))
    async with tls_server(context) as port:
        verified = await probe(keys(port, authority))
        unverified = await probe(keys(port, tls_verify=False))
    assert (verified.status, verified.phase) == (Status.CRITICAL, Phase.CERTIFICATE)
    assert verified.summary.startswith("certificate rejected: expired (certificate has "
                                       f"expired); subject CN={NAME}, ")
    assert -2.1 < verified.metrics["cert_days_left"] < -1.9
    assert (unverified.status, unverified.phase) == (Status.CRITICAL, Phase.EXPIRY)
    assert unverified.summary.startswith("certificate expired 2.0 days ago; subject ")


@pytest.mark.parametrize(("server_name", "with_ca", "reason"), [
    ("other.example.test", True, "wrong host"),
    (NAME, False, "untrusted chain"),
])
async def test_verification_failures_are_named(authority: Authority, server_name: str,
                                               with_ca: bool, reason: str) -> None:
    async with tls_server(authority.server_context(NAME)) as port:
        outcome = await probe(keys(port, authority if with_ca else None,
                                   server_name=server_name))
    assert (outcome.status, outcome.phase) == (Status.CRITICAL, Phase.CERTIFICATE)
    assert outcome.summary.startswith(f"certificate rejected: {reason}")
    assert "not_after " in outcome.summary  # fetched again without verification


async def test_a_self_signed_certificate_is_named(authority: Authority) -> None:
    async with tls_server(self_signed_context(NAME)) as port:
        outcome = await probe(keys(port, authority))
    assert outcome.phase is Phase.CERTIFICATE
    assert outcome.summary.startswith("certificate rejected: self-signed")


async def test_sni_carries_the_server_name(authority: Authority) -> None:
    seen: list[str | None] = []
    async with tls_server(remembering(authority.server_context(NAME), seen)) as port:
        outcome = await probe(keys(port, authority))
    assert outcome.status is Status.OK, outcome
    assert NAME in seen


async def test_closed_port() -> None:
    port = free_port()
    outcome = await probe({"host": "127.0.0.1", "port": port})
    assert (outcome.status, outcome.phase) == (Status.CRITICAL, Phase.CONNECT)


@pytest.mark.parametrize(("data", "message"), [
    ({"host": "x.test", "warn_before": "7d", "crit_before": "14d"},
     "crit_before: expected at most warn_before (7d), got 14d"),
    ({"host": "x.test", "warn_before": 21}, 'warn_before: expected a duration like "10s", got 21'),
    ({"host": "x.test", "server_name": "bad name"},
     'server_name: expected a host name or an IP address, got "bad name"'),
    ({"host": "x.test", "tls_verify": 1}, "tls_verify: expected true or false, got 1"),
])
def test_config_errors(data: dict[str, Any], message: str) -> None:
    assert config_errors(tls.KIND, data) == [message]
