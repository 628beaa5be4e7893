"""Ping endpoints of ``heartbeat`` checks: ``GET|POST /api/v1/heartbeat/{check}[/start|/fail]``.

Authentication is the check's own token, sent as ``Authorization: Bearer …`` and only there:
a token in the query string would end up in proxy and web server logs, so ``?token=`` is not
accepted. The token is read from its file (or variable) on every request, so rotating it needs
no reload. Tokens are compared in constant time over their SHA-256 digests (no length leak).

An unknown check, a check of another type, a missing token and a wrong token all get the same
401, after the same work, so the endpoint does not tell which checks exist.

Only ``/fail`` reads a body (the job's error output): at most ``MAX_BODY`` bytes within
``BODY_TIMEOUT``; the rest is ignored. A recorded signal pokes the scheduler so the check runs
at once and the news reaches alerting without waiting for the next interval.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable, Mapping

import structlog
from aiohttp import web

from monitord.compat import timeout
from monitord.config.reader import SecretRef
from monitord.config.schema import CheckConfig
from monitord.heartbeat.board import MAX_BODY, HeartbeatBoard, Signal
from monitord.heartbeat.check import HeartbeatSpec
from monitord.logs import Throttle

log = structlog.get_logger("monitord.api")

BODY_TIMEOUT = 10.0
PREFIX = "/api/v1/heartbeat/{check}"
_DENIED = '{"error": "a valid bearer token for this heartbeat check is required"}'
_REFUSALS = Throttle()


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).digest()


# What an unknown check's token is "read" from and compared with: the same steps as for a
# real check (a thread hop, a file opened and read, two digests, one comparison), so the
# answer's timing does not tell whether the check exists.
_NO_TOKEN_SOURCE = SecretRef(file=os.devnull)
_NO_TOKEN = secrets.token_hex(32)


def _read_token_sync(ref: SecretRef | None) -> str | None:
    """The token of ``ref`` (None if unusable), or the fixed dummy for an unknown check."""
    try:
        value = (ref or _NO_TOKEN_SOURCE).read()
    except (OSError, KeyError, UnicodeDecodeError):
        return None
    if ref is None:
        return _NO_TOKEN
    return value if value.strip() else None


async def _authorized(request: web.Request, name: str, config: CheckConfig | None) -> bool:
    header = request.headers.get("Authorization", "")
    given = header[7:].strip() if header.startswith("Bearer ") else ""
    ref = config.spec.token if config is not None and isinstance(config.spec,
                                                                 HeartbeatSpec) else None
    expected = await asyncio.to_thread(_read_token_sync, ref)
    if expected is None and ref is not None:
        log.error("heartbeat_token_unreadable", check=name, source=ref.describe())
    same = hmac.compare_digest(_digest(given), _digest(expected or _NO_TOKEN))
    return same and bool(given) and expected is not None and ref is not None


async def _read_body(request: web.Request) -> str:
    """Up to MAX_BODY bytes of the body, as text; a slow sender gets what arrived in time."""
    data = bytearray()
    if not request.body_exists:
        return ""
    try:
        async with timeout(BODY_TIMEOUT):
            while len(data) < MAX_BODY:
                chunk = await request.content.read(MAX_BODY - len(data))
                if not chunk:
                    break
                data += chunk
    except (TimeoutError, asyncio.TimeoutError):  # distinct classes on Python 3.10
        pass
    return data[:MAX_BODY].decode("utf-8", "replace")


def heartbeat_routes(app: web.Application, board: HeartbeatBoard,
                     checks: Callable[[], Mapping[str, CheckConfig]],
                     poke: Callable[[str], object]) -> None:
    """Add the ping endpoints. ``checks`` returns the current checks by name (it follows
    reloads); ``poke(name)`` asks the scheduler to run that check now."""

    async def handle(request: web.Request) -> web.Response:
        name = request.match_info["check"]
        signal = Signal(request.match_info.get("signal", Signal.PING.value))
        if not await _authorized(request, name, checks().get(name)):
            left_out = _REFUSALS.allow()
            if left_out is not None:
                log.warning("heartbeat_unauthorized", check=name[:100], signal=signal.value,
                            remote=request.remote, left_out=left_out,
                            token_given="Authorization" in request.headers)
            raise web.HTTPUnauthorized(text=_DENIED, content_type="application/json",
                                       headers={"WWW-Authenticate": "Bearer"})
        body = await _read_body(request) if signal is Signal.FAIL else ""
        at = board.clock.now()
        await board.record(name, signal, body, at=at)
        poke(name)
        log.info("heartbeat_received", check=name, signal=signal.value, remote=request.remote,
                 body_chars=len(body))
        return web.json_response({"check": name, "signal": signal.value, "at": at.isoformat()})

    # GET without HEAD: a HEAD request (link checkers, previews) must not count as a ping.
    for method in ("GET", "POST"):
        app.router.add_route(method, PREFIX, handle)
        app.router.add_route(method, PREFIX + "/{signal:start|fail}", handle)
