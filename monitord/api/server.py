"""aiohttp application: /healthz, /metrics, the status page and /api/v1/status.

The application reads the daemon only through the views it is given (``api.views``). Tokens
are checked by ``api.auth.TokenGate``. Request bodies are capped (``client_max_size``) so a
hostile client cannot make the daemon buffer megabytes.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from monitord.api import metrics, page
from monitord.api.agents import agent_routes
from monitord.api.auth import TokenGate
from monitord.api.operator import operator_routes
from monitord.api.status import status_json
from monitord.api.views import Views
from monitord.config.schema import ApiSection

__all__ = ["MAX_BODY", "TokenGate", "build_app", "start"]

log = structlog.get_logger("monitord.api")

MAX_BODY = 1024 * 1024
VIEWS: web.AppKey[Views] = web.AppKey("views")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_app(views: Views, gate: TokenGate) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[VIEWS] = views

    async def healthz(request: web.Request) -> web.Response:
        problems = views.health.health_problems()
        if problems:
            return web.json_response({"status": "unhealthy", "problems": problems}, status=503)
        return web.json_response({"status": "ok"})

    async def metrics_handler(request: web.Request) -> web.Response:
        gate.require(request, write=False)
        return web.Response(text=metrics.render(views.checks, views.samples, views.incidents),
                            content_type="text/plain", charset="utf-8",
                            headers={"X-Content-Type-Options": "nosniff"})

    async def status(request: web.Request) -> web.Response:
        gate.require(request, write=False)
        return web.json_response(status_json(views.checks, views.states, views.incidents,
                                             views.clock.now()))

    async def status_page(request: web.Request) -> web.Response:
        gate.require(request, write=False)
        snapshot = status_json(views.checks, views.states, views.incidents, views.clock.now())
        return web.Response(text=page.render(snapshot), content_type="text/html",
                            charset="utf-8")

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_handler)
    app.router.add_get("/api/v1/status", status)
    app.router.add_get("/", status_page)
    operator_routes(app, gate, views)
    for route in views.routes:
        route(app, gate)
    if views.agents is not None:
        agent_routes(app, views.agents)
    return app


def _tls(settings: ApiSection) -> ssl.SSLContext | None:
    """HTTPS when ``tls_cert_file`` and ``tls_key_file`` are set (TLS 1.2 at least)."""
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
    return context


async def start(settings: ApiSection, views: Views) -> web.AppRunner | None:
    """Bind and serve the API; raises OSError at once if the address cannot be bound."""
    listen = settings.listen
    if listen is None:
        return None
    token = None
    if settings.token is not None:
        token = settings.token.read()
    app = build_app(views, TokenGate(token, settings.anonymous_read))
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, listen.host, listen.port, reuse_address=True,
                           ssl_context=_tls(settings))
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    log.info("api_listening", address=str(listen), tls=settings.tls_cert_file is not None)
    return runner
