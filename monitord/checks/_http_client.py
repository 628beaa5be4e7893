"""The HTTP client every ``http`` check shares: one aiohttp session per daemon.

Choices, for a probe rather than a browser:

* **A fresh connection per request** (``force_close``, which also sends
  ``Connection: close``). Keep-alive would hide exactly what a probe must see: a listener
  that stopped accepting, a broken certificate or TLS setup on new connections. Every run
  pays for its connect and handshake, and its timings say so.
* **No DNS cache in the client**: each run resolves its host (``[monitord] resolvers`` or the
  system resolver), so a name that stops resolving is seen on the next run.
* **No cookies, no proxies from the environment**: checks never leak state into each other.
* **No client-side timeouts**: the check's deadline covers the whole run.

Timings: the probe of the run (:func:`timing`) is moved from stage to stage by the session's
resolver (resolve), its request class (connection made, headers sent) and
:class:`~monitord.checks._tls.TimedSSLContext` (start of the TLS handshake). aiohttp's tracing
signals would say the same, but they build a parameter object and await a signal for every
step of every request — about 0.02 CPU-ms per check, 8 % of aiohttp's own cost.
"""

from __future__ import annotations

import contextlib
import contextvars
import socket
import ssl
from collections.abc import Iterator

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.connector import Connection

from monitord import __version__
from monitord.checks._net import os_reason, shared_resolver
from monitord.checks._probe import Probe, ProbeFailure
from monitord.checks._tls import describe_ssl_error, describe_verify_error
from monitord.checks.base import CheckEnv
from monitord.model import Phase

USER_AGENT = f"monitord/{__version__}"
CHUNK = 64 * 1024


async def shared_session(env: CheckEnv) -> aiohttp.ClientSession:
    """The daemon's HTTP session (created on first use, closed with the env)."""
    resolver = await shared_resolver(env)

    async def make() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=0,  # the scheduler caps concurrency, globally and per host
            force_close=True,
            use_dns_cache=False,
            resolver=_TimedResolver(resolver),
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            timeout=aiohttp.ClientTimeout(total=None),
            headers={"User-Agent": USER_AGENT},
            request_class=_TimedRequest,
        )

    async def close(session: aiohttp.ClientSession) -> None:
        await session.close()

    return await env.resource("http.session", make, close)


_TIMED: contextvars.ContextVar[Probe | None] = contextvars.ContextVar(
    "monitord_http_timed", default=None)


@contextlib.contextmanager
def timing(probe: Probe) -> Iterator[Probe]:
    """Requests made inside move ``probe`` through resolve, connect, request and response
    (other users of the session, such as RDAP look-ups, are not timed)."""
    token = _TIMED.set(probe)
    try:
        yield probe
    finally:
        _TIMED.reset(token)


class _TimedResolver(AbstractResolver):
    """The shared resolver, marking the resolve stage of the timed probe."""

    def __init__(self, inner: AbstractResolver) -> None:
        self.inner = inner

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        probe = _TIMED.get()
        if probe is not None:
            probe.enter(Phase.RESOLVE)
        found = await self.inner.resolve(host, port, family)
        if probe is not None:  # a failure stays in the resolve stage
            probe.enter(Phase.CONNECT)
        return found

    async def close(self) -> None:
        """Nothing: the inner resolver is shared, and closed with the env."""


class _TimedRequest(aiohttp.ClientRequest):
    """``send`` is called once the connection is made (and its TLS handshake done), and
    returns once the request headers are written: the request and response stages."""

    async def send(self, conn: Connection) -> aiohttp.ClientResponse:
        probe = _TIMED.get()
        if probe is not None:
            probe.enter(Phase.REQUEST)
        response = await super().send(conn)
        if probe is not None:
            probe.enter(Phase.RESPONSE)
        return response


async def read_capped(response: aiohttp.ClientResponse, cap: int) -> tuple[bytes, bool]:
    """At most ``cap`` bytes of the body, read in chunks; True when the body was longer."""
    chunks: list[bytes] = []
    size = 0
    while size < cap:
        chunk = await response.content.read(min(CHUNK, cap - size))
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
    # At the cap: the body was cut unless the stream already knows it ended here.
    return b"".join(chunks), not response.content.at_eof()


def classify(error: Exception, probe: Probe) -> ProbeFailure:
    """Name the phase and the reason of a client error."""
    if isinstance(error, aiohttp.ClientConnectorDNSError):
        return ProbeFailure(Phase.RESOLVE, f"cannot resolve {error.host}: {_reason(error)}")
    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        cause = error.certificate_error
        if isinstance(cause, ssl.SSLCertVerificationError):
            return ProbeFailure(Phase.TLS, describe_verify_error(cause))
        return ProbeFailure(Phase.TLS, f"certificate rejected: {cause}")
    if isinstance(error, aiohttp.ClientConnectorSSLError):
        cause = error.os_error
        if isinstance(cause, ssl.SSLError):
            return ProbeFailure(Phase.TLS, describe_ssl_error(cause))
        return ProbeFailure(Phase.TLS, f"TLS handshake failed: {_reason(error)}")
    if isinstance(error, aiohttp.ClientConnectorError):
        if probe.stage is Phase.TLS:  # reset or EOF during the handshake
            return ProbeFailure(Phase.TLS, f"TLS handshake failed: {_reason(error)}")
        return ProbeFailure(
            Phase.CONNECT, f"cannot connect to {error.host}:{error.port}: {_reason(error)}"
        )
    if isinstance(error, aiohttp.ServerDisconnectedError):
        return ProbeFailure(_after_connect(probe), "the server closed the connection without "
                                                   "a complete response")
    if isinstance(error, aiohttp.ClientPayloadError):
        return ProbeFailure(Phase.CONTENT, f"body cut short: {error}")
    if isinstance(error, aiohttp.ClientResponseError):  # unparsable status line or headers
        return ProbeFailure(Phase.RESPONSE, f"invalid HTTP response: {error.message}")
    if isinstance(error, aiohttp.InvalidURL):
        return ProbeFailure(Phase.REQUEST, f"invalid URL: {error.url}")
    return ProbeFailure(_after_connect(probe), f"{type(error).__name__}: {_reason(error)}")


def _after_connect(probe: Probe) -> Phase:
    if probe.stage in (Phase.REQUEST, Phase.RESPONSE, Phase.CONTENT):
        return probe.stage
    return Phase.RESPONSE


def _reason(error: Exception) -> str:
    return os_reason(getattr(error, "os_error", None) or error)
