"""aiohttp application: /healthz, /metrics, the status page and /api/v1/status.

Tokens are compared in constant time; a wrong or missing token gets 401 and is logged
without its value. Request bodies are capped (``client_max_size``) so a hostile client cannot
make the daemon buffer megabytes.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import structlog
from aiohttp import web

from monitord.api import metrics, page

if TYPE_CHECKING:
    from monitord.app import Daemon

log = structlog.get_logger("monitord.api")

MAX_BODY = 1024 * 1024
DAEMON: web.AppKey[Daemon] = web.AppKey("daemon")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class TokenGate:
    """Checks ``Authorization: Bearer …`` against the configured API token."""

    def __init__(self, token: str | None, anonymous_read: bool) -> None:
        self._token = token
        self.anonymous_read = anonymous_read

    def allowed(self, request: web.Request, *, write: bool) -> bool:
        if not write and self.anonymous_read:
            return True
        if self._token is None:
            return False
        header = request.headers.get("Authorization", "")
        given = header[7:] if header.startswith("Bearer ") else ""
        return hmac.compare_digest(given.encode(), self._token.encode())

    def require(self, request: web.Request, *, write: bool) -> None:
        if not self.allowed(request, write=write):
            log.warning("api_unauthorized", path=request.path, remote=request.remote,
                        token_given="Authorization" in request.headers)
            raise web.HTTPUnauthorized(text="401: a valid bearer token is required\n",
                                       headers={"WWW-Authenticate": "Bearer"})


def build_app(daemon: Daemon, gate: TokenGate) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[DAEMON] = daemon

    async def healthz(request: web.Request) -> web.Response:
        problems = daemon.health_problems()
        if problems:
            return web.json_response({"status": "unhealthy", "problems": problems}, status=503)
        return web.json_response({"status": "ok"})

    async def metrics_handler(request: web.Request) -> web.Response:
        gate.require(request, write=False)
        return web.Response(text=metrics.render(daemon),
                            content_type="text/plain", charset="utf-8",
                            headers={"X-Content-Type-Options": "nosniff"})

    async def status(request: web.Request) -> web.Response:
        gate.require(request, write=False)
        return web.json_response(daemon.snapshot())

    async def status_page(request: web.Request) -> web.Response:
        gate.require(request, write=False)
        return web.Response(text=page.render(daemon.snapshot()), content_type="text/html",
                            charset="utf-8")

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_handler)
    app.router.add_get("/api/v1/status", status)
    app.router.add_get("/", status_page)
    for route in daemon.api_routes:
        route(app, gate)
    return app


async def start(daemon: Daemon) -> web.AppRunner | None:
    """Bind and serve the API; raises OSError at once if the address cannot be bound."""
    listen = daemon.config.api.listen
    if listen is None:
        return None
    token = None
    if daemon.config.api.token is not None:
        token = daemon.config.api.token.read()
    app = build_app(daemon, TokenGate(token, daemon.config.api.anonymous_read))
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, listen.host, listen.port, reuse_address=True)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    log.info("api_listening", address=str(listen))
    return runner
