"""Connections: a TCP connect to every address, the TLS handshake per address, one HTTP request.

Every address the name resolves to (IPv4 and IPv6) is tried on its own, so "one of two
addresses refuses" is visible where the check only saw the first that failed. The TLS
handshake is made verified with the check's own trust settings; when verification fails it
is made again unverified, to show which certificate was presented. The HTTP request is the
check's own (method, headers, body), without following redirects, so the status line and the
``Location`` are shown; cookies, credentials and secret-looking values are redacted.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import socket
import ssl
import time

import aiohttp
import dns.name
from yarl import URL

from monitord.checks._facts import certificate_facts, redirect_fact
from monitord.checks._http_client import shared_session
from monitord.checks._net import close_stream, os_reason, shared_resolver
from monitord.checks._options import is_ip
from monitord.checks._tls import cert_info, describe_ssl_error, shared_context, verify_reason
from monitord.checks.base import CheckEnv
from monitord.compat import timeout as compat_timeout
from monitord.evidence.base import FAILED, MAX_ADDRESSES, OK, Emit, Found, Step, found
from monitord.evidence.names import ADDRESS_TYPES, recursive, resolvers_of
from monitord.evidence.redact import redact_text, redact_url

BODY_PREVIEW = 160  # bytes of the body shown
KEY_HEADERS = ("Location", "Content-Type", "Content-Length", "Server", "Retry-After",
               "Cache-Control", "WWW-Authenticate")

Addresses = list[tuple[int, str]]


class AddressBook:
    """The host's addresses, looked up once and shared by the connect and TLS steps."""

    def __init__(self, env: CheckEnv, host: str, port: int, limit: float) -> None:
        self.env, self.host, self.port, self.limit = env, host, port, limit
        self._task: asyncio.Future[Addresses | str] | None = None

    async def get(self) -> Addresses | str:
        if self._task is None:
            self._task = asyncio.ensure_future(self._lookup())
        return await asyncio.shield(self._task)

    async def _lookup(self) -> Addresses | str:
        if is_ip(self.host):
            return [(socket.AF_INET6 if ":" in self.host else socket.AF_INET, self.host)]
        if self.env.resolvers:
            # Asked afresh (no resolver cache): evidence must show where the name points now.
            server = resolvers_of(self.env.resolvers)[0]
            answer = await recursive(server, dns.name.from_text(self.host), ADDRESS_TYPES,
                                     self.limit)
            if isinstance(answer, str):
                return f"cannot resolve {self.host} via {server}: {answer}"
            found_: Addresses = [(int(socket.AF_INET6 if ":" in v else socket.AF_INET), v)
                      for t in ("A", "AAAA") for v, _ in answer.get(t, [])]
        else:
            resolver = await shared_resolver(self.env)
            try:
                hosts = await resolver.resolve(self.host, self.port, family=socket.AF_UNSPEC)
            except OSError as exc:
                return f"cannot resolve {self.host}: {os_reason(exc)}"
            found_ = [(int(r["family"]), str(r["host"])) for r in hosts]
        unique = list(dict.fromkeys(found_))
        return unique[:MAX_ADDRESSES] or f"cannot resolve {self.host}: no address"

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()


def _where(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


async def _connect(family: int, address: str, port: int) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, (address, port))
    except BaseException:
        sock.close()
        raise
    return sock


def connect_step(book: AddressBook, limit: float) -> Step:
    async def run(emit: Emit) -> None:
        addresses = await book.get()
        if isinstance(addresses, str):
            emit(found("connect", f"{book.host}:{book.port}", FAILED, addresses))
            return
        emit(found("connect", book.host, OK, "addresses: " + ", ".join(a for _, a in addresses),
                   {"address": ", ".join(sorted(a for _, a in addresses))}))

        async def one(family: int, address: str) -> None:
            target = _where(address, book.port)
            start = time.perf_counter()
            try:
                async with compat_timeout(limit):
                    sock = await _connect(family, address, book.port)
            except TimeoutError:
                emit(found("connect", target, FAILED, f"no answer within {limit:.1f}s"))
                return
            except OSError as exc:
                emit(found("connect", target, FAILED, os_reason(exc)))
                return
            sock.close()
            took = (time.perf_counter() - start) * 1000
            emit(found("connect", target, OK, f"connected in {took:.1f} ms"))

        await asyncio.gather(*(one(f, a) for f, a in addresses))

    return Step("connect", f"{book.host}:{book.port}", run)


def tls_step(book: AddressBook, server_name: str, verify: bool, ca_file: str | None,
             limit: float) -> Step:
    async def run(emit: Emit) -> None:
        addresses = await book.get()
        if isinstance(addresses, str):
            emit(found("tls", f"{book.host}:{book.port}", FAILED, addresses))
            return
        verified = await shared_context(book.env, verify, ca_file)
        unverified = await shared_context(book.env, False, None)

        async def one(family: int, address: str) -> None:
            target = _where(address, book.port)
            try:
                async with compat_timeout(limit):
                    emit(await _handshake(family, address, book.port, server_name, verified,
                                          unverified, target))
            except TimeoutError:
                emit(found("tls", target, FAILED, f"no handshake within {limit:.1f}s"))

        await asyncio.gather(*(one(f, a) for f, a in addresses))

    return Step("tls", f"{server_name} on {book.host}:{book.port}", run)


async def _handshake(family: int, address: str, port: int, server_name: str,
                     verified: ssl.SSLContext, unverified: ssl.SSLContext, target: str
                     ) -> Found:
    verdict = "verified"
    try:
        der, protocol = await _peer_certificate(family, address, port, server_name, verified)
    except ssl.SSLCertVerificationError as exc:
        verdict = f"rejected: {verify_reason(exc)}"
        try:
            der, protocol = await _peer_certificate(family, address, port, server_name,
                                                    unverified)
        except (OSError, ValueError) as again:
            return found("tls", target, FAILED, f"chain {verdict}; {_why(again)}")
    except ssl.SSLError as exc:
        return found("tls", target, FAILED, describe_ssl_error(exc))
    except OSError as exc:
        return found("tls", target, FAILED, f"cannot connect: {os_reason(exc)}")
    if der is None:
        return found("tls", target, FAILED, f"{protocol}: the server sent no certificate")
    try:
        info = cert_info(der)
    except ValueError:
        return found("tls", target, FAILED, f"{protocol}: unreadable certificate",
                     certificate_facts(der))
    detail = (f"{protocol}; subject {info.subject}; issuer {info.issuer}; "
              f"SANs {', '.join(info.names) or 'none'}; "
              f"expires {info.not_after:%Y-%m-%dT%H:%M:%SZ}; chain {verdict}; "
              f"sha256 {hashlib.sha256(der).hexdigest()[:16]}…")
    return found("tls", target, OK if verdict == "verified" else FAILED, detail,
                 certificate_facts(der))


async def _peer_certificate(family: int, address: str, port: int, server_name: str,
                            context: ssl.SSLContext) -> tuple[bytes | None, str]:
    sock = await _connect(family, address, port)
    try:
        _, writer = await asyncio.open_connection(
            sock=sock, ssl=context, server_hostname=server_name)
    except BaseException:
        sock.close()
        raise
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        protocol = ssl_object.version() if ssl_object else "TLS"
    finally:
        await close_stream(writer)
    return (bytes(der) if der else None), str(protocol)


def _why(error: BaseException) -> str:
    if isinstance(error, ssl.SSLError):
        return describe_ssl_error(error)
    return os_reason(error)


def http_step(env: CheckEnv, url: str, method: str, headers: dict[str, str],
              body: bytes | None, verify: bool, ca_file: str | None) -> Step:
    shown = redact_url(url)

    async def run(emit: Emit) -> None:
        session = await shared_session(env)
        context = await shared_context(env, verify, ca_file)
        try:
            response = await session.request(method, URL(url), headers=headers, data=body,
                                             allow_redirects=False, ssl=context)
        except (aiohttp.ClientError, OSError) as exc:
            emit(found("http", f"{method} {shown}", FAILED, f"{type(exc).__name__}: {exc}"))
            return
        try:
            head = await response.content.read(BODY_PREVIEW)
        except (aiohttp.ClientError, OSError) as exc:
            head = f"(body unreadable: {type(exc).__name__})".encode()
        finally:
            response.close()
        emit(found("http", f"{method} {shown}", OK if response.status < 400 else FAILED,
                   _describe(response, head), _http_facts(response)))

    return Step("http", f"{method} {shown}", run)


def _describe(response: aiohttp.ClientResponse, head: bytes) -> str:
    version = response.version
    http = f"HTTP/{version.major}.{version.minor}" if version is not None else "HTTP"
    parts = [f"{http} {response.status} {response.reason or ''}".rstrip()]
    for name in KEY_HEADERS:
        value = response.headers.get(name)
        if value is not None:
            parts.append(f"{name}: {redact_text(value)[:120]}")
    cookies = response.headers.getall("Set-Cookie", [])
    if cookies:
        parts.append(f"Set-Cookie: ({len(cookies)} cookie{'s' if len(cookies) > 1 else ''}, "
                     f"redacted)")
    text = head.decode(response.get_encoding() if _known(response) else "utf-8", "replace")
    preview = re.sub(r"\s+", " ", redact_text(text)).strip()
    parts.append(f'body starts "{preview}"' if preview else "empty body")
    return "; ".join(parts)


def _known(response: aiohttp.ClientResponse) -> bool:
    try:
        response.get_encoding()
    except (RuntimeError, LookupError):
        return False
    return True


def _http_facts(response: aiohttp.ClientResponse) -> dict[str, str]:
    facts = {"status_code": str(response.status)}
    if "Location" in response.headers:
        facts["redirect"] = redirect_fact(response.headers["Location"])
    return facts

