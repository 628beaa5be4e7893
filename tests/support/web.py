"""An aiohttp web server on loopback for the tests, in the test's own event loop.

    async with serve(app) as base:            # "http://127.0.0.1:PORT"
    async with serve(app, ssl_context=ctx) as base:   # "https://127.0.0.1:PORT"
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web


@asynccontextmanager
async def serve(app: web.Application, ssl_context: ssl.SSLContext | None = None,
                host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve ``app`` on a free port; yields its base URL. Stops within a second."""
    runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, 0, ssl_context=ssl_context)
        await site.start()
        port = runner.addresses[0][1]
        yield f"{'https' if ssl_context else 'http'}://{host}:{port}"
    finally:
        await runner.cleanup()
