"""The browser side of the API: status pages, login and logout, and the page actions.

Reading a page needs a session, the bearer token, or ``anonymous_read``; a browser without
any is sent to ``/login``. Writing (acknowledge, add or expire a silence, log out) needs a
session AND the session's CSRF token in the form: a cross-site form post carries the cookie
at most, never the token, and is refused with 403. Every action is logged with who and what.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from urllib.parse import quote, urlsplit

import structlog
from aiohttp import web

from monitord.api import checkpage, overview, public
from monitord.api.auth import TokenGate, log_refusal
from monitord.api.checklist import RowCache
from monitord.api.layout import Viewer, esc, page
from monitord.api.operator import MAX_SILENCE, REQUEST_TIMEOUT
from monitord.api.sessions import COOKIE, LIFETIME, Session, SessionBook
from monitord.api.views import CheckTrend, Views
from monitord.compat import timeout
from monitord.config.durations import parse_duration
from monitord.logs import Throttle
from monitord.qualify.engine import UnknownIncident

log = structlog.get_logger("monitord.api")

MAX_FIELD = 2000
MAX_LOGGED_USER = 40  # of a failed login: the name is the sender's, not a known user
STORIES = 20
HTML = "text/html"


def _local(path: str, default: str = "/") -> str:
    """Only a path on this server, else ``default``: no open redirect. Browsers drop tabs and
    newlines from a URL and read a backslash as a slash (``/<tab>/host`` is ``//host``), so
    any control character or backslash is refused outright."""
    if (not path.startswith("/") or path.startswith("//") or "\\" in path
            or any(ord(c) < 0x20 or ord(c) == 0x7F for c in path)):
        return default
    parts = urlsplit(path)
    return default if parts.scheme or parts.netloc else path


async def _form(request: web.Request) -> dict[str, str]:
    """The form's text fields, read within the request timeout (a slow sender gets 408)."""
    try:
        async with timeout(request.app[REQUEST_TIMEOUT]):
            data = await request.post()
    except (TimeoutError, asyncio.TimeoutError):  # distinct classes on Python 3.10
        raise web.HTTPRequestTimeout(text="408: the form came too slowly\n") from None
    return {k: v for k, v in data.items() if isinstance(v, str)}


def _field(data: object, key: str, limit: int = MAX_FIELD) -> str:
    value = data.get(key, "") if hasattr(data, "get") else ""
    if not isinstance(value, str):
        return ""
    return value.strip()[:limit]


def _login_page(next_path: str, error: str = "") -> str:
    message = f'<p class="error">{esc(error)}</p>' if error else ""
    body = (f'<div class="card login"><h2>Log in</h2>{message}'
            '<form method="post" action="/login">'
            f'<input type="hidden" name="next" value="{esc(next_path)}">'
            '<label for="user">Your name (shown on acknowledgements and silences)</label>'
            '<input id="user" name="user" autocomplete="username" maxlength="100" required>'
            '<label for="token">API token</label>'
            '<input id="token" name="token" type="password" autocomplete="current-password" '
            'required><p><button type="submit">Log in</button></p></form>'
            f'<p class="muted">Sessions last {int(LIFETIME.total_seconds() // 3600)} hours.</p>'
            "</div>")
    return page("Log in — monitord", body, Viewer(can_login=False), refresh=False)


class _Pages:
    """The page handlers, sharing the browser sessions and the check list's row cache."""

    def __init__(self, gate: TokenGate, views: Views) -> None:
        self.gate = gate
        self.views = views
        self.sessions = SessionBook(views.clock)
        self.rows = RowCache()
        self.refusals = Throttle()  # failed logins: a flood must not fill the log

    def session(self, request: web.Request) -> Session | None:
        """The request's session, if it was opened with the API token in force now."""
        return self.sessions.get(request.cookies.get(COOKIE), self.gate.fingerprint)

    def viewer(self, request: web.Request) -> Viewer | None:
        session = self.session(request)
        if session is not None:
            return Viewer(session.user, session.csrf)
        if self.gate.allowed(request, write=False):
            return Viewer()
        return None

    def reader(self, request: web.Request) -> Viewer:
        found = self.viewer(request)
        if found is None:
            raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs)}")
        return found

    def trends(self, names: list[str]) -> dict[str, CheckTrend | None]:
        now = self.views.clock.now()
        history = self.views.history
        return {n: history.trend(n, now) if history is not None else None for n in names}

    async def home(self, request: web.Request) -> web.Response:
        who = self.reader(request)
        now = self.views.clock.now()
        checks = list(self.views.checks.checks())
        self.rows.trim(len(checks))
        journal = self.views.journal
        incidents = [i for i in self.views.incidents.incidents() if i.ended_at is None]
        view = overview.Overview(
            location=self.views.checks.location, now=now, checks=checks,
            results=self.views.checks.results(), states=self.views.states.check_states(),
            incidents=incidents,
            diagnoses={i.id: journal.diagnosis(i.id) for i in incidents} if journal else {},
            findings={i.id: self.views.incidents.diagnosis(i.id) for i in incidents},
            silences=[s for s in self.views.silences.silences(now) if s.ends_at > now],
            maintenance=self.views.details.maintenance(now) if self.views.details else (),
            trends=self.trends([c.name for c in checks]),
            phases=self.views.history.phases if self.views.history else ())
        return web.Response(text=overview.render(view, who, self.rows), content_type=HTML)

    async def check_page(self, request: web.Request) -> web.Response:
        who = self.reader(request)
        name = request.match_info["name"]
        check = next((c for c in self.views.checks.checks() if c.name == name), None)
        if check is None:
            raise web.HTTPNotFound(text=page("Not found", f"<p>No check {esc(name)}.</p>", who),
                                   content_type=HTML)
        now = self.views.clock.now()
        end = int(now.timestamp())
        scales = []
        history = self.views.history
        if history is not None:
            for label, span, width in checkpage.SCALES:
                start = end - span
                start -= start % width
                scales.append((label, await history.spans(name, start + width,
                                                          end - end % width + width, width)))
        stories = await self.views.journal.stories(name, STORIES) if self.views.journal else []
        journal = self.views.journal
        view = checkpage.CheckPage(
            check=check, now=now,
            config=(self.views.details.describe(name) or []) if self.views.details else [],
            results=self.views.checks.results().get(name),
            state=self.views.states.check_states().get(name),
            trend=history.trend(name, now) if history is not None else None,
            scales=scales, stories=stories,
            diagnoses={s.incident.id: journal.diagnosis(s.incident.id) for s in stories
                       if s.incident.ended_at is None} if journal else {},
            findings={s.incident.id: self.views.incidents.diagnosis(s.incident.id)
                      for s in stories},
            phases=history.phases if history is not None else ())
        return web.Response(text=checkpage.render(view, who), content_type=HTML)

    async def public_page(self, request: web.Request) -> web.Response:
        checks = list(self.views.checks.checks())
        text = public.render(checks, self.views.checks.results(),
                             self.trends([c.name for c in checks]),
                             self.views.clock.now())
        return web.Response(text=text, content_type=HTML)

    async def login_form(self, request: web.Request) -> web.Response:
        next_path = _local(request.query.get("next", "/"))
        if self.session(request) is not None:
            raise web.HTTPSeeOther(next_path)
        return web.Response(text=_login_page(next_path), content_type=HTML)

    async def login(self, request: web.Request) -> web.Response:
        data = await _form(request)
        next_path = _local(_field(data, "next"))
        user = _field(data, "user", 100) or "browser"
        if not self.gate.token_matches(_field(data, "token", 4096)):
            log_refusal("page_login_failed", throttle=self.refusals, remote=request.remote,
                        user=user[:MAX_LOGGED_USER])
            return web.Response(text=_login_page(next_path, "Wrong token."), status=401,
                                content_type=HTML)
        session = self.sessions.open(user, self.gate.fingerprint)
        log.info("page_login", user=user, remote=request.remote)
        response = web.HTTPSeeOther(next_path)
        response.set_cookie(COOKIE, session.id, max_age=int(LIFETIME.total_seconds()),
                            expires=session.expires.strftime("%a, %d %b %Y %H:%M:%S GMT"),
                            path="/", httponly=True, samesite="Strict", secure=request.secure)
        raise response

    async def actor(self, request: web.Request) -> tuple[Session, dict[str, str]]:
        """The session behind a page action, its CSRF token checked; 403 otherwise. The
        session is checked first: without one, the body is not even read."""
        session = self.session(request)
        data: dict[str, str] = {}
        reason = ""
        if session is None:
            reason = "no session"
        elif not session.csrf_ok((data := await _form(request)).get("csrf", "")):
            reason = "missing or wrong CSRF token"
        if session is None or reason:
            log.warning("page_action_refused", path=request.path, reason=reason,
                        remote=request.remote)
            raise web.HTTPForbidden(text=f"403: refused ({reason}); reload the page and "
                                         "try again\n")
        return session, data

    async def logout(self, request: web.Request) -> web.Response:
        session, _ = await self.actor(request)
        self.sessions.close(session.id)
        log.info("page_logout", user=session.user)
        response = web.HTTPSeeOther("/login")
        response.del_cookie(COOKIE, path="/")
        raise response

    async def ack(self, request: web.Request) -> web.Response:
        session, data = await self.actor(request)
        incident = request.match_info["id"]
        comment = _field(data, "comment")
        try:
            await self.views.incidents.acknowledge(incident, session.user, comment)
        except UnknownIncident:
            raise web.HTTPNotFound(text=f"no open incident {incident}\n") from None
        log.info("incident_acknowledged", incident=incident, by=session.user, via="page",
                 comment=comment)
        raise web.HTTPSeeOther(_local(_field(data, "back")))

    async def add_silence(self, request: web.Request) -> web.Response:
        session, data = await self.actor(request)
        scope, value = _field(data, "scope"), _field(data, "value", 200)
        if scope not in ("check", "service") or not value:
            raise web.HTTPBadRequest(text="scope must be check or service, with a name\n")
        try:
            seconds = parse_duration(_field(data, "duration", 20))
            if not 0 < seconds <= MAX_SILENCE.total_seconds():
                raise ValueError(f"expected at most {MAX_SILENCE.days} days")
        except (ValueError, OverflowError) as exc:
            raise web.HTTPBadRequest(text=f"duration: {exc}\n") from None
        now = self.views.clock.now()
        matchers = [f"{scope}={value}"]
        comment = _field(data, "comment")
        try:
            silence = await self.views.silences.add_silence(
                matchers, now, now + timedelta(seconds=seconds), session.user, comment)
        except ValueError as exc:
            raise web.HTTPBadRequest(text=f"{exc}\n") from None
        log.info("silence_added", id=silence.id, matchers=matchers, by=session.user,
                 via="page", comment=comment, seconds=seconds)
        raise web.HTTPSeeOther(_local(_field(data, "back")))

    async def expire_silence(self, request: web.Request) -> web.Response:
        session, data = await self.actor(request)
        silence_id = request.match_info["id"]
        try:
            await self.views.silences.expire_silence(silence_id)
        except KeyError:
            raise web.HTTPNotFound(text=f"no silence {silence_id}\n") from None
        log.info("silence_expired", id=silence_id, by=session.user, via="page")
        raise web.HTTPSeeOther(_local(_field(data, "back")))


def page_routes(app: web.Application, gate: TokenGate, views: Views,
                public_status: bool = False) -> None:
    pages = _Pages(gate, views)
    app.router.add_get("/", pages.home)
    app.router.add_get("/check/{name}", pages.check_page)
    app.router.add_get("/login", pages.login_form)
    app.router.add_post("/login", pages.login)
    app.router.add_post("/logout", pages.logout)
    app.router.add_post("/ui/incidents/{id}/ack", pages.ack)
    app.router.add_post("/ui/silences", pages.add_silence)
    app.router.add_post("/ui/silences/{id}/expire", pages.expire_silence)
    if public_status:
        app.router.add_get("/public", pages.public_page)
