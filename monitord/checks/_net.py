"""Name resolution and connections for the network checks, each step timed and classified.

Host names resolve through ``[monitord] resolvers`` when it is set (c-ares via aiodns, one
channel for the whole daemon), else through the system resolver (``getaddrinfo`` in a
thread, so ``/etc/hosts`` and nsswitch apply). The HTTP session uses the same resolver.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import AsyncResolver, ThreadedResolver

from monitord.checks._options import is_ip
from monitord.checks._probe import CURRENT, CertificateRejected, Probe, ProbeFailure
from monitord.checks._tls import describe_ssl_error, describe_verify_error, verify_reason
from monitord.checks.base import CheckEnv
from monitord.compat import timeout
from monitord.model import Phase

# Closing a stream waits for the peer (TLS close_notify); a silent peer must not hold us.
CLOSE_GRACE = 1.0


async def shared_resolver(env: CheckEnv) -> AbstractResolver:
    """The daemon's resolver for check targets (created once, closed with the env)."""

    async def make() -> AbstractResolver:
        if env.resolvers:
            return _Noting(AsyncResolver(nameservers=list(env.resolvers)))
        return _Noting(ThreadedResolver())

    async def close(resolver: AbstractResolver) -> None:
        await resolver.close()

    return await env.resource("net.resolver", make, close)


class _Noting(AbstractResolver):
    """Notes the addresses found on the running probe (a fact for "what changed")."""

    def __init__(self, inner: AbstractResolver) -> None:
        self.inner = inner

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        try:
            found = await self.inner.resolve(host, port, family)
        except ValueError:  # UnicodeError too: the name codec refuses a host (a hostile
            # redirect to "a..b"); a name that cannot be asked for is one that does not resolve
            raise socket.gaierror(socket.EAI_NONAME, "invalid host name") from None
        probe = CURRENT.get()
        if probe is not None:
            probe.addresses = tuple(dict.fromkeys(str(r["host"]) for r in found))
        return found

    async def close(self) -> None:
        await self.inner.close()


def os_reason(error: BaseException) -> str:
    """The operating system's words for a socket error ("Connection refused", …)."""
    errno = getattr(error, "errno", None)
    if isinstance(errno, int) and errno > 0:
        return os.strerror(errno)
    return str(getattr(error, "strerror", None) or error or type(error).__name__)


async def resolve(env: CheckEnv, probe: Probe, host: str, port: int) -> list[tuple[int, str]]:
    """(family, address) pairs for ``host``; a failure is a RESOLVE ProbeFailure."""
    if is_ip(host):
        return [(socket.AF_INET6 if ":" in host else socket.AF_INET, host)]
    probe.enter(Phase.RESOLVE)
    resolver = await shared_resolver(env)
    try:
        found = await resolver.resolve(host, port, family=socket.AF_UNSPEC)
    except OSError as exc:
        raise ProbeFailure(Phase.RESOLVE, f"cannot resolve {host}: {os_reason(exc)}") from None
    if not found:
        raise ProbeFailure(Phase.RESOLVE, f"cannot resolve {host}: no address")
    return [(int(r["family"]), str(r["host"])) for r in found]


async def connect(env: CheckEnv, probe: Probe, host: str, port: int) -> socket.socket:
    """A connected non-blocking socket to ``host:port``, trying each address in turn."""
    addresses = await resolve(env, probe, host, port)
    probe.enter(Phase.CONNECT)
    loop = asyncio.get_running_loop()
    errors: list[str] = []
    for family, address in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, (address, port))
        except OSError as exc:
            sock.close()
            errors.append(os_reason(exc) if len(addresses) == 1 else
                          f"{address}: {os_reason(exc)}")
        except BaseException:
            sock.close()
            raise
        else:
            return sock
    raise ProbeFailure(Phase.CONNECT, f"cannot connect to {host}:{port}: {'; '.join(errors)}")


async def open_stream(
    sock: socket.socket, probe: Probe, context: ssl.SSLContext | None, server_name: str,
    limit: int = 2**16,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Streams over a connected socket, after a TLS handshake when ``context`` is given.

    ``server_name`` is sent as SNI (unless it is an IP address) and checked against the
    certificate when the context verifies host names.
    """
    if context is None:
        return await asyncio.open_connection(sock=sock, limit=limit)
    probe.enter(Phase.TLS)
    try:
        return await asyncio.open_connection(
            sock=sock, ssl=context, server_hostname=server_name or None, limit=limit
        )
    except ssl.SSLCertVerificationError as exc:
        sock.close()
        raise CertificateRejected(verify_reason(exc), describe_verify_error(exc)) from None
    except ssl.SSLError as exc:
        sock.close()
        raise ProbeFailure(Phase.TLS, describe_ssl_error(exc)) from None
    except OSError as exc:  # reset or EOF in the middle of the handshake
        sock.close()
        raise ProbeFailure(Phase.TLS, f"TLS handshake failed: {os_reason(exc)}") from None
    except BaseException:
        sock.close()
        raise


async def close_stream(writer: asyncio.StreamWriter) -> None:
    """Close politely, but never wait on the peer longer than :data:`CLOSE_GRACE`."""
    writer.close()
    try:
        async with timeout(CLOSE_GRACE):
            await writer.wait_closed()
    except (OSError, TimeoutError):  # ssl.SSLError is an OSError
        writer.transport.abort()
    except BaseException:
        writer.transport.abort()
        raise
