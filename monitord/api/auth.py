"""Bearer-token authentication of API requests.

Tokens are compared in constant time over their SHA-256 digests (any header bytes, even
not UTF-8, are compared, never decoded into an error); a wrong or missing token gets a 401
with a JSON body and is logged without its value, at a bounded rate.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import structlog
from aiohttp import web

from monitord.logs import Throttle

log = structlog.get_logger("monitord.api")
_REFUSALS = Throttle()


def bearer_digest(request: web.Request) -> tuple[bytes, bool]:
    """The SHA-256 of the bearer token of ``request`` (of "" when there is none), and
    whether one was given. Header bytes that are not UTF-8 are kept as they came."""
    header = request.headers.get("Authorization", "")
    given = header[7:].strip() if header.startswith("Bearer ") else ""
    return hashlib.sha256(given.encode("utf-8", "surrogateescape")).digest(), bool(given)


def denied(text: str) -> web.HTTPUnauthorized:
    return web.HTTPUnauthorized(text=json.dumps({"error": text}),
                                content_type="application/json",
                                headers={"WWW-Authenticate": "Bearer"})


def log_refusal(event: str, throttle: Throttle = _REFUSALS, **fields: object) -> None:
    left_out = throttle.allow()
    if left_out is not None:
        log.warning(event, **fields, **({"left_out": left_out} if left_out else {}))


class TokenGate:
    """Checks ``Authorization: Bearer …`` against the configured API token."""

    def __init__(self, token: str | None, anonymous_read: bool) -> None:
        self.update(token, anonymous_read)

    def update(self, token: str | None, anonymous_read: bool) -> None:
        """Swap in a reloaded token: the old one is refused from the next request on, and so
        are the browser sessions opened with it (they hold the old ``fingerprint``)."""
        self._token = token
        self.anonymous_read = anonymous_read
        self.fingerprint = (b"" if token is None else
                            hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest())

    def allowed(self, request: web.Request, *, write: bool) -> bool:
        if not write and self.anonymous_read:
            return True
        given, present = bearer_digest(request)
        return present and self._digest_matches(given)

    def token_matches(self, given: str) -> bool:
        """Whether ``given`` (a token typed into the login form) is the API token."""
        digest = hashlib.sha256(given.encode("utf-8", "surrogateescape")).digest()
        return bool(given) and self._digest_matches(digest)

    def _digest_matches(self, given: bytes) -> bool:
        """Constant time over SHA-256 digests; never true without a configured token."""
        if self._token is None:
            return False
        expected = hashlib.sha256(self._token.encode("utf-8", "surrogateescape")).digest()
        return hmac.compare_digest(given, expected)

    def require(self, request: web.Request, *, write: bool) -> None:
        if not self.allowed(request, write=write):
            log_refusal("api_unauthorized", path=request.path[:200], remote=request.remote,
                        token_given="Authorization" in request.headers)
            raise denied("a valid bearer token is required")
