"""Probe-agent endpoints: ``GET /api/v1/agent/assignment`` and ``POST /api/v1/results``.

Each agent authenticates with its own token (``Authorization: Bearer …``); the intake view
says which location a token belongs to, comparing in constant time. A missing or wrong token
gets 401, logged without its value and at a bounded rate. The result body is read from the
stream with its own cap (``MAX_RESULTS_BODY``, 4 MiB; the rest of the API keeps its smaller
one): a larger body gets 413 before it is buffered. Decoding and validation are the
intake's (off the event loop).
"""

from __future__ import annotations

import asyncio

import structlog
from aiohttp import web

from monitord.api.auth import log_refusal
from monitord.api.views import AgentIntake
from monitord.compat import timeout
from monitord.logs import Throttle

log = structlog.get_logger("monitord.api")

MAX_RESULTS_BODY = 4 * 1024 * 1024
BODY_TIMEOUT = 30.0
_DENIED = "401: a valid agent bearer token is required\n"


def _location(request: web.Request, intake: AgentIntake, refusals: Throttle) -> str:
    header = request.headers.get("Authorization", "")
    given = header[7:].strip() if header.startswith("Bearer ") else ""
    location = intake.location_for(given)
    if location is None:
        log_refusal("agent_unauthorized", throttle=refusals, path=request.path[:200],
                    remote=request.remote, token_given=bool(given))
        raise web.HTTPUnauthorized(text=_DENIED, headers={"WWW-Authenticate": "Bearer"})
    return location


async def _read_capped(request: web.Request, location: str) -> bytes:
    if request.content_length is not None and request.content_length > MAX_RESULTS_BODY:
        _too_large(location, request.content_length)
    data = bytearray()
    try:
        async with timeout(BODY_TIMEOUT):
            while True:
                chunk = await request.content.read(65536)
                if not chunk:
                    break
                data += chunk
                if len(data) > MAX_RESULTS_BODY:
                    _too_large(location, len(data))
    except (TimeoutError, asyncio.TimeoutError):  # distinct classes on Python 3.10
        log.warning("agent_results_refused", location=location, reason="body too slow")
        raise web.HTTPRequestTimeout(text="408: the body did not arrive in time\n") from None
    return bytes(data)


def _too_large(location: str, size: int) -> None:
    log.warning("agent_results_refused", location=location, reason="too large", bytes=size,
                limit=MAX_RESULTS_BODY)
    raise web.HTTPRequestEntityTooLarge(max_size=MAX_RESULTS_BODY, actual_size=size)


def agent_routes(app: web.Application, intake: AgentIntake) -> None:
    refusals = Throttle()  # a flood of forged tokens must not fill the log
    async def assignment(request: web.Request) -> web.StreamResponse:
        location = _location(request, intake, refusals)
        etag, body = intake.assignment(location)
        if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, content_type="application/json", headers={"ETag": etag})

    async def results(request: web.Request) -> web.Response:
        location = _location(request, intake, refusals)
        try:
            body = await _read_capped(request, location)
        except web.HTTPException:
            intake.refused(location)
            raise
        status, answer = await intake.post_results(location, body)
        return web.json_response(answer, status=status)

    app.router.add_get("/api/v1/agent/assignment", assignment)
    app.router.add_post("/api/v1/results", results)
