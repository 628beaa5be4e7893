"""aiohttp application: /healthz, /metrics, the status page and /api/v1/status.

The application reads the daemon only through the views it is given (``api.views``). Tokens
are checked by ``api.auth.TokenGate``. Against hostile clients:

* request bodies are capped (``client_max_size``) and read within ``[api] request_timeout``;
* a connection that has not sent a whole request within ``request_timeout`` is closed, and
  each connection serves one request (``Connection: close``), so none is held open;
* at most ``[api] max_connections`` are open at once, the next ones are closed at once;
* every error answer is JSON with a 4xx status; an unexpected error is one log line and a
  JSON 500, never a traceback spread over the log.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web

from monitord.api import metrics
from monitord.api.agents import agent_routes
from monitord.api.auth import TokenGate
from monitord.api.history import history_routes
from monitord.api.operator import REQUEST_TIMEOUT, operator_routes
from monitord.api.pages import page_routes
from monitord.api.status import status_json
from monitord.api.views import Views
from monitord.config.schema import ApiSection
from monitord.logs import Throttle

__all__ = ["MAX_BODY", "TokenGate", "build_app", "start"]

log = structlog.get_logger("monitord.api")

MAX_BODY = 1024 * 1024
VIEWS: web.AppKey[Views] = web.AppKey("views")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_FLOOD = Throttle()


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error answer has a JSON body; bad input is a 4xx, never a 500."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        # Answered, not raised: the answer goes through on_response_prepare (one request
        # per connection) like any other.
        if exc.content_type == "text/html":
            raise  # a page's own error page, for a person
        headers = {k: v for k, v in exc.headers.items() if k in ("WWW-Authenticate", "Allow")}
        if exc.content_type == "application/json" and exc.text:
            return web.Response(text=exc.text, status=exc.status, headers=headers,
                                content_type="application/json")
        # The handler's own words when it gave some ("403: refused (no session)…"), else
        # the status's reason: never aiohttp's default text for the status.
        said = (exc.text or "").strip()
        default = f"{exc.status}: {exc.reason}"
        return web.json_response({"error": said if said and said != default else exc.reason},
                                 status=exc.status, headers=headers)
    except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # a bug: one line, and the client still gets JSON
        log.error("api_error", path=request.path[:200], error=f"{type(exc).__name__}: {exc}")
        return web.json_response({"error": "internal error"}, status=500)


async def _close_after(request: web.Request, response: web.StreamResponse) -> None:
    # One request per connection: nothing idles between requests. The headers are already
    # prepared when this hook runs, hence the header set by hand.
    response.force_close()
    response.headers["Connection"] = "close"


def build_app(views: Views, gate: TokenGate, request_timeout: float = 10.0,
              public_status: bool = False) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[json_errors])
    app[VIEWS] = views
    app[REQUEST_TIMEOUT] = request_timeout
    app.on_response_prepare.append(_close_after)

    async def healthz(request: web.Request) -> web.Response:
        problems = views.health.health_problems()
        if problems:
            return web.json_response({"status": "unhealthy", "problems": problems}, status=503)
        return web.json_response({"status": "ok"})

    async def metrics_handler(request: web.Request) -> web.Response:
        gate.require(request, write=False)
        return web.Response(text=metrics.render(views.checks, views.samples, views.incidents,
                                                 views.clock.now()),
                            content_type="text/plain", charset="utf-8",
                            headers={"X-Content-Type-Options": "nosniff"})

    async def status(request: web.Request) -> web.Response:
        gate.require(request, write=False)
        return web.json_response(status_json(views.checks, views.states, views.incidents,
                                             views.clock.now()))

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_handler)
    app.router.add_get("/api/v1/status", status)
    page_routes(app, gate, views, public_status)
    operator_routes(app, gate, views)
    history_routes(app, gate, views)
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


async def start(settings: ApiSection, views: Views,
                gate: TokenGate | None = None) -> web.AppRunner | None:
    """Bind and serve the API; raises OSError at once if the address cannot be bound.
    ``gate`` is kept by the caller to swap the token on reload."""
    listen = settings.listen
    if listen is None:
        return None
    if gate is None:
        token = settings.token.read() if settings.token is not None else None
        gate = TokenGate(token, settings.anonymous_read)
    app = build_app(views, gate, settings.request_timeout, settings.public_status)
    # aiohttp closes a connection whose request has not fully arrived after
    # keepalive_timeout, counted from the connection's start.
    runner = web.AppRunner(app, access_log=None, handle_signals=False,
                           keepalive_timeout=settings.request_timeout,
                           lingering_time=settings.request_timeout)
    await runner.setup()
    _cap_connections(runner, settings.max_connections)
    try:
        site = web.TCPSite(runner, listen.host, listen.port, reuse_address=True,
                           ssl_context=_tls(settings))
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    log.info("api_listening", address=str(listen), tls=settings.tls_cert_file is not None)
    return runner


def _cap_connections(runner: web.AppRunner, cap: int) -> None:
    """Close a new connection at once when ``cap`` are already open (file descriptors and
    memory stay bounded under a flood)."""
    server = runner.server
    assert server is not None
    register, unregister = server.connection_made, server.connection_lost
    open_now: set[Any] = set()

    def connection_made(handler: Any, transport: asyncio.Transport) -> None:
        register(handler, transport)
        open_now.add(handler)
        if len(open_now) > cap:
            left_out = _FLOOD.allow()
            if left_out is not None:
                log.warning("api_connection_refused", open=cap, left_out=left_out)
            transport.abort()

    def connection_lost(handler: Any, exc: BaseException | None = None) -> None:
        open_now.discard(handler)
        unregister(handler, exc)

    setattr(server, "connection_made", connection_made)  # noqa: B010 - instance hooks
    setattr(server, "connection_lost", connection_lost)  # noqa: B010
