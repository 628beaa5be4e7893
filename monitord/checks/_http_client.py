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

Timings come from aiohttp's public tracing signals (resolve, connection, headers sent) plus
:class:`~monitord.checks._tls.TimedSSLContext`, which marks the start of the TLS handshake
inside the connection step.
"""

from __future__ import annotations

import ssl
from types import SimpleNamespace

import aiohttp

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
            resolver=resolver,
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            timeout=aiohttp.ClientTimeout(total=None),
            headers={"User-Agent": USER_AGENT},
            trace_configs=[_trace_config()],
        )

    async def close(session: aiohttp.ClientSession) -> None:
        await session.close()

    return await env.resource("http.session", make, close)


def _trace_config() -> aiohttp.TraceConfig:
    """Moves the probe passed as ``trace_request_ctx`` from stage to stage."""
    config = aiohttp.TraceConfig()

    def to(stage: Phase) -> object:
        async def signal(_session: object, context: SimpleNamespace, _params: object) -> None:
            probe = context.trace_request_ctx
            if isinstance(probe, Probe):
                probe.enter(stage)

        return signal

    config.on_dns_resolvehost_start.append(to(Phase.RESOLVE))  # type: ignore[arg-type]
    config.on_dns_resolvehost_end.append(to(Phase.CONNECT))  # type: ignore[arg-type]
    config.on_connection_create_end.append(to(Phase.REQUEST))  # type: ignore[arg-type]
    config.on_request_headers_sent.append(to(Phase.RESPONSE))  # type: ignore[arg-type]
    return config


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
