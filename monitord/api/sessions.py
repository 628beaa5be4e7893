"""Browser sessions: server-side, in memory, each with its own CSRF token.

A login with the API token opens a session; the browser holds only a random id in an
``HttpOnly``, ``SameSite=Strict`` cookie (``Secure`` over HTTPS) that expires after
``LIFETIME``. Server-side sessions can be ended for real (logout) and hold no secret in the
cookie; the price is that a restart logs everyone out, which is acceptable for an operator
page. Every write from a page must carry the session's CSRF token. A session holds the
digest of the API token it was opened with: once the token changes (a reload), the
session is over, as the token it proved is no longer the key.
"""

from __future__ import annotations

import hmac
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitord.clock import Clock

COOKIE = "monitord_session"
LIFETIME = timedelta(hours=12)
MAX_SESSIONS = 1000  # the oldest session goes when a new one would exceed this


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    user: str
    csrf: str
    expires: datetime
    key: bytes  # the digest of the API token at login

    def csrf_ok(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self.csrf.encode())


class SessionBook:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def open(self, user: str, key: bytes) -> Session:
        session = Session(secrets.token_urlsafe(32), user, secrets.token_urlsafe(32),
                          self.clock.now() + LIFETIME, key)
        self._sessions[session.id] = session
        while len(self._sessions) > MAX_SESSIONS:
            self._sessions.popitem(last=False)
        return session

    def get(self, session_id: str | None, key: bytes) -> Session | None:
        """The live session ``session_id``, if it was opened under the token of ``key``."""
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is not None and (session.expires <= self.clock.now()
                                    or not hmac.compare_digest(session.key, key)):
            del self._sessions[session_id]
            return None
        return session

    def close(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)
