"""Credentials of an http check (basic auth, ``headers_file``, Authorization/Cookie in
``headers``) go to the check's own host only: a redirect to another host never sees them."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from monitord.checks import http
from monitord.checks.base import CheckEnv
from monitord.model import Status
from tests.support import probing
from tests.support.web import serve

env = probing.env
SECRET_NAMES = {"authorization", "cookie", "x-api-key", "proxy-authorization"}


def recorder(seen: list[dict[str, str]], redirect_to: str | None = None) -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        seen.append({k.lower(): v for k, v in request.headers.items()})
        if redirect_to is not None and request.path == "/start":
            raise web.HTTPFound(redirect_to)
        if redirect_to is not None and request.path == "/again":
            raise web.HTTPFound("/landed")
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    return app


async def test_no_credential_crosses_to_another_host(tmp_path: Path, env: CheckEnv) -> None:
    headers_file = tmp_path / "headers"
    headers_file.write_text("X-Api-Key: k3y\nAuthorization: Bearer from-file\n")
    other: list[dict[str, str]] = []
    own: list[dict[str, str]] = []
    async with serve(recorder(other), host="127.0.0.2") as elsewhere, \
            serve(recorder(own, f"{elsewhere}/landed"), host="127.0.0.1") as base:
        for data in (
            {"url": f"{base}/start", "headers_file": str(headers_file)},
            {"url": f"{base}/start",
             "headers": {"Cookie": "session=abc", "Authorization": "Bearer inline",
                         "X-Trace": "t1"}},
            {"url": f"{base.replace('http://', 'http://user:pw@')}/start"},
        ):
            outcome = await probing.run_once(http.KIND, env, data)
            assert outcome.status is Status.OK, outcome
            assert outcome.metrics["redirects"] == 1
    assert len(own) == len(other) == 3
    # The check's own host got them all…
    assert own[0]["x-api-key"] == "k3y"
    assert own[0]["authorization"] == "Bearer from-file"
    assert own[1]["cookie"] == "session=abc"
    assert own[2]["authorization"].startswith("Basic ")
    # …the other host none, while ordinary headers still travel.
    for seen in other:
        assert not SECRET_NAMES & set(seen), seen
    assert other[1]["x-trace"] == "t1"


async def test_credentials_follow_a_redirect_on_the_same_host(tmp_path: Path,
                                                              env: CheckEnv) -> None:
    headers_file = tmp_path / "headers"
    headers_file.write_text("X-Api-Key: k3y\n")
    own: list[dict[str, str]] = []
    async with serve(recorder(own, "unused"), host="127.0.0.1") as base:
        outcome = await probing.run_once(http.KIND, env, {
            "url": f"{base}/again", "headers_file": str(headers_file)})
    assert outcome.status is Status.OK, outcome
    assert [seen.get("x-api-key") for seen in own] == ["k3y", "k3y"]
