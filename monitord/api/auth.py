"""Bearer-token authentication of API requests.

Tokens are compared in constant time; a wrong or missing token gets 401 and is logged
without its value.
"""

from __future__ import annotations

import hmac

import structlog
from aiohttp import web

log = structlog.get_logger("monitord.api")


class TokenGate:
    """Checks ``Authorization: Bearer …`` against the configured API token."""

    def __init__(self, token: str | None, anonymous_read: bool) -> None:
        self._token = token
        self.anonymous_read = anonymous_read

    def update(self, token: str | None, anonymous_read: bool) -> None:
        """Swap in a reloaded token: the old one is refused from the next request on."""
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
