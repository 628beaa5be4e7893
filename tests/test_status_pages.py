"""The status pages, login, page actions, the public page, the history API and the
per-check metrics, against a real daemon with checks on loopback."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from monitord.api.auth import TokenGate
from monitord.api.server import build_app
from tests.support.statuspage import TOKEN, status_daemon
from tests.support.web import serve

BEARER = {"Authorization": f"Bearer {TOKEN}"}


async def login(http: aiohttp.ClientSession, base: str, user: str = "alice") -> str:
    """Logs in; returns the session cookie's Set-Cookie header."""
    async with http.post(f"{base}/login", data={"user": user, "token": TOKEN, "next": "/"},
                         allow_redirects=False) as resp:
        assert resp.status == 303
        assert resp.headers["Location"] == "/"
        return resp.headers["Set-Cookie"]


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def test_pages_login_and_actions(tmp_path: Path) -> None:
    async with status_daemon(tmp_path, "public_status = true") as run, \
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        base = run.base
        # Without a token or session, a browser is sent to the login form.
        async with http.get(f"{base}/check/shop-api", allow_redirects=False) as resp:
            assert resp.status == 303
            assert resp.headers["Location"] == "/login?next=/check/shop-api"
        async with http.get(f"{base}/login") as resp:
            assert 'type="password"' in await resp.text()
        async with http.post(f"{base}/login", data={"user": "eve", "token": "nope"}) as resp:
            assert resp.status == 401
            assert "Wrong token" in await resp.text()
            assert "monitord_session" not in resp.cookies

        cookie = await login(http, base)
        assert "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        assert "Max-Age=43200" in cookie
        assert "Path=/" in cookie
        assert "Secure" not in cookie  # plain HTTP here; over HTTPS the flag is set

        async with http.get(f"{base}/") as resp:
            html = await resp.text()
        incident = html.index('class="card incident')
        assert incident < html.index("<h2>shop ")
        assert html.index("<h2>shop ") < html.index("<h2>accounts ")
        assert "<h2>example.org " in html  # a [[domain]]-style check groups by its domain
        assert "shop-api" in html[incident:html.index("</div>", incident) + 2000]
        assert "alice" in html  # who is logged in
        assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d", html)  # no microseconds anywhere
        assert '<svg class="bar"' in html
        assert '<svg class="spark"' in html

        async with http.get(f"{base}/check/login-page") as resp:
            page = await resp.text()
        assert "bob:***@" in page
        assert "hunter2" not in page
        assert "Latest results" in page
        assert "firstbyte" in page  # phase timings of the http check

        async with http.get(f"{base}/check/shop-api") as resp:
            page = await resp.text()
        assert '<ul class="timeline">' in page
        assert "CRITICAL: " in page
        token = csrf(page)
        incident_id = re.search(r'data-incident="([^"]+)"', page).group(1)  # type: ignore[union-attr]

        # A forged cross-site post carries the cookie but not the CSRF token: refused.
        async with http.post(f"{base}/ui/incidents/{incident_id}/ack",
                             data={"comment": "forged"}, allow_redirects=False) as resp:
            assert resp.status == 403
        async with http.post(f"{base}/ui/incidents/{incident_id}/ack",
                             data={"comment": "forged", "csrf": "guess"},
                             allow_redirects=False) as resp:
            assert resp.status == 403
        assert run.daemon.alerting is not None
        assert run.daemon.alerting.incidents()[0].acknowledged_by is None

        async with http.post(f"{base}/ui/incidents/{incident_id}/ack",
                             data={"comment": "on it", "csrf": token,
                                   "back": "/check/shop-api"},
                             allow_redirects=False) as resp:
            assert resp.status == 303
            assert resp.headers["Location"] == "/check/shop-api"
        acked = run.daemon.alerting.incidents()[0]
        assert (acked.acknowledged_by, acked.ack_comment) == ("alice", "on it")
        async with http.get(f"{base}/check/shop-api") as resp:
            page = await resp.text()
        assert "acknowledged by alice — on it" in page  # in the timeline

        async with http.post(f"{base}/ui/silences", data={
                "csrf": token, "scope": "service", "value": "shop", "duration": "2h",
                "comment": "deploy", "back": "https://evil.example/"},
                allow_redirects=False) as resp:
            assert resp.status == 303
            assert resp.headers["Location"] == "/"  # never an open redirect
        (silence,) = run.daemon.alerting.silences(run.daemon.clock.now())
        assert [str(m) for m in silence.matchers] == ["service=shop"]
        assert silence.created_by == "alice"
        async with http.get(f"{base}/") as resp:
            html = await resp.text()
        assert "service=shop" in html
        async with http.post(f"{base}/ui/silences/{silence.id}/expire",
                             data={"csrf": token}, allow_redirects=False) as resp:
            assert resp.status == 303
        now = run.daemon.clock.now()
        assert not any(s.active(now) for s in run.daemon.alerting.silences(now))

        async with http.post(f"{base}/logout", data={"csrf": token},
                             allow_redirects=False) as resp:
            assert resp.status == 303
        async with http.get(f"{base}/", allow_redirects=False) as resp:
            assert resp.status == 303  # the session is gone for real

        # The public page: services and availability, nothing else.
        async with http.get(f"{base}/public") as resp:
            public = await resp.text()
        assert resp.status == 200
        for secret in ("shop-api", "shop-web", "login-page", "127.0.0.1", "example.org",
                       "hunter2", "csrf", "<form", "Connection refused", "connect"):
            assert secret not in public
        assert "shop" in public
        assert "accounts" in public
        assert "OUTAGE" in public


async def test_bearer_token_reads_pages_and_history(tmp_path: Path) -> None:
    async with status_daemon(tmp_path) as run, aiohttp.ClientSession() as http:
        base = run.base
        async with http.get(f"{base}/", headers=BEARER) as resp:
            html = await resp.text()
        assert resp.status == 200
        assert "<form" not in html.replace('action="/logout"', "")  # read-only: no actions
        async with http.get(f"{base}/public") as resp:
            assert resp.status == 404  # public_status is off
        assert run.daemon.history is not None
        await run.daemon.history.flush()
        url = f"{base}/api/v1/checks/shop-api/history"
        async with http.get(url, headers=BEARER) as resp:
            body = await resp.json()
        assert body["check"] == "shop-api"
        assert body["raw"]
        assert body["raw"][0]["status"] == "CRITICAL"
        assert body["raw"][0]["phase"] == "connect"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["raw"][0]["at"])
        async with http.get(url, params={"since": "2026-01-01T00:00:00+01:00",
                                         "until": "2026-01-02T00:00:00Z"},
                            headers=BEARER) as resp:
            body = await resp.json()
        assert (body["since"], body["raw"], body["rollups"]) == (
            "2025-12-31T23:00:00Z", [], [])
        for params, message in (({"since": "yesterday"}, "since: expected an ISO 8601"),
                                ({"until": "2026-01-01T00:00:00"}, "needs an offset"),
                                ({"since": "2026-01-02T00:00:00Z",
                                  "until": "2026-01-01T00:00:00Z"}, "before until")):
            async with http.get(url, params=params, headers=BEARER) as resp:
                assert resp.status == 400
                assert message in (await resp.json())["error"]
        async with http.get(f"{base}/api/v1/checks/nope/history", headers=BEARER) as resp:
            assert resp.status == 404
            assert (await resp.json())["error"] == "no check nope"
        async with http.get(url) as resp:
            assert resp.status == 401

        # Metrics, parsed back with Prometheus' own parser.
        async with http.get(f"{base}/metrics", headers=BEARER) as resp:
            text = await resp.text()
        families = {f.name: f for f in text_string_to_metric_families(text)}
        up = {(s.labels["check"], s.labels["location"]): s.value
              for s in families["monitord_check_up"].samples}
        assert up[("shop-api", "paris")] == 0
        assert up[("shop-web", "paris")] == 1
        phases = {s.labels["phase"] for s in families["monitord_check_phase_seconds"].samples
                  if s.labels["check"] == "login-page"}
        assert {"resolve", "connect", "firstbyte"} <= phases
        assert families["monitord_check_value"].type == "gauge"

        # anonymous_read: the same pages without any credential, read-only.
        assert run.daemon.alerting is not None
        views = run.daemon._api_views(run.daemon.alerting)
        async with serve(build_app(views, TokenGate(None, anonymous_read=True))) as anon:
            async with http.get(f"{anon}/") as resp:
                html = await resp.text()
            assert resp.status == 200
            assert "shop-api" in html
            assert "<form" not in html
            assert "Log in" in html
            async with http.get(f"{anon}/check/shop-api") as resp:
                assert resp.status == 200
            async with http.post(f"{anon}/ui/silences", data={"scope": "check"},
                                 allow_redirects=False) as resp:
                assert resp.status == 403
            async with http.get(f"{anon}/check/nope") as resp:
                assert resp.status == 404




def test_check_values_bounded_one_location_per_check() -> None:
    from datetime import datetime, timezone

    from monitord.api import metrics
    from monitord.model import Result, Status
    from tests.test_api_views import Seen, Views

    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    numbers = {f"v{i:02d}": float(i) for i in range(metrics.MAX_VALUES + 5)}
    here = Result("web", "tls", "paris", Status.WARNING, None, "s",
                  {**numbers, "cert_days_left": 12.5, "time_tls_ms": 30.0}, at, 0.1)
    there = Result("web", "tls", "london", Status.CRITICAL, None, "s",
                   {"cert_days_left": 99.0}, at, 0.1)
    views = Views(seen={"web": Seen(Status.WARNING, at, {"paris": here, "london": there})})
    families = {f.name: f for f in text_string_to_metric_families(
        metrics.render(views, views, views))}
    values = {s.labels["name"]: s.value for s in families["monitord_check_value"].samples}
    assert values["cert_days_left"] == 12.5  # this daemon's own location (paris)
    assert len(values) == metrics.MAX_VALUES
    up = {s.labels["location"]: s.value for s in families["monitord_check_up"].samples}
    assert up == {"paris": 1.0, "london": 0.0}  # WARNING still serves
    (phase,) = families["monitord_check_phase_seconds"].samples
    assert (phase.labels["phase"], phase.value) == ("tls", 0.03)
