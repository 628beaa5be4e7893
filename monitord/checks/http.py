"""The ``http`` check: one request (following redirects), status, body and timing verdicts.

A run fails in a named phase: ``resolve``, ``connect``, ``tls`` (handshake or certificate),
``request``, ``response`` (status, redirects, malformed answer, slowness), ``content`` (body
expectations) or ``timeout``. Its metrics always carry the per-phase timings. The body is read
in chunks up to ``max_body`` and never further: a huge body is cut, not buffered.
"""

from __future__ import annotations

import ssl
from dataclasses import replace

import aiohttp
from yarl import URL

from monitord.checks import _expect_json as expect_json
from monitord.checks._facts import probe_facts, redirect_fact
from monitord.checks._http_client import classify, read_capped, shared_session, timing
from monitord.checks._probe import Probe, ProbeFailure, run_probe
from monitord.checks._tls import shared_context
from monitord.checks.base import CheckEnv
from monitord.checks.http_spec import (
    KIND,
    MAX_BODY,
    REDIRECT_STATUS,
    HttpSpec,
    _describe_ranges,
    parse,
    parse_headers,
    to_status_ranges,
)
from monitord.config.durations import format_duration, format_elapsed
from monitord.config.schema import CheckConfig
from monitord.config.secrets import read_secret
from monitord.model import Outcome, Phase, Status

# Headers of ``headers`` that carry credentials (all of ``headers_file`` do).
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


class HttpCheck:
    def __init__(self, config: CheckConfig, env: CheckEnv) -> None:
        assert isinstance(config.spec, HttpSpec)
        self.spec: HttpSpec = config.spec
        self.env = env
        self.timeout = config.timeout
        url = URL(self.spec.url)  # parsed once: 5,000 checks run every few seconds
        # Credentials in the URL travel as an Authorization header, never in what is shown
        # (summaries, redirect chains): the URL kept here has no userinfo.
        self.url_auth = (_basic(url.user, url.password or "")
                         if url.user is not None else None)
        self.url = url.with_user(None) if url.user is not None else url
        self.url_text = str(self.url)  # normalised, as redirect targets are
        # Credentials in ``headers`` are kept apart: like those of ``headers_file`` and basic
        # auth, they go to the check's own origin only, never to a redirect elsewhere.
        self.headers = {k: v for k, v in self.spec.headers.items()
                        if k.lower() not in CREDENTIAL_HEADERS}
        self.secret_headers = {k: v for k, v in self.spec.headers.items()
                               if k.lower() in CREDENTIAL_HEADERS}
        self.body = self.spec.body.encode() if self.spec.body is not None else None

    async def run(self) -> Outcome:
        return await run_probe(self.env.clock.monotonic, self.timeout, self._run)

    async def _credentials(self) -> dict[str, str]:
        """The credential headers of this run (``headers_file``, basic auth, Authorization
        or Cookie in ``headers``); secrets are read each run (rotation)."""
        spec = self.spec
        headers, auth = self.secret_headers, self.url_auth
        try:
            if spec.headers_file is not None:
                headers = {**headers, **parse_headers(await read_secret(spec.headers_file))}
            if spec.password is not None and spec.username is not None:
                auth = _basic(spec.username, await read_secret(spec.password))
        except (OSError, KeyError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ProbeFailure(Phase.AUTH, f"cannot read the credentials: {reason}",
                               status=Status.UNKNOWN) from None
        return {**headers, "Authorization": auth} if auth is not None else headers

    def _trusted(self, url: URL) -> bool:
        """Whether ``url`` may receive the credentials: the check's own host, port and
        scheme, or the same host's upgrade from http to https (default ports)."""
        own = self.url
        if url.host != own.host:
            return False
        return (url.scheme, url.port) == (own.scheme, own.port) or (
            (own.scheme, url.scheme) == ("http", "https") and own.is_default_port()
            and url.is_default_port())

    async def _run(self, probe: Probe) -> Outcome:
        spec = self.spec
        session = await shared_session(self.env)
        context = await shared_context(self.env, spec.tls.verify, spec.tls.ca_file)
        credentials = await self._credentials()
        probe.begin()
        with timing(probe):
            return await self._follow(probe, session, context, credentials)

    async def _follow(self, probe: Probe, session: aiohttp.ClientSession,
                      context: ssl.SSLContext, credentials: dict[str, str]) -> Outcome:
        spec = self.spec
        method, body, url = spec.method, self.body, self.url
        visited = [self.url_text]
        facts: dict[str, str] = {}  # of the last hop, plus the first redirect target
        while True:
            try:
                response = await session.request(
                    method, url,
                    headers={**self.headers, **credentials} if self._trusted(url)
                    else self.headers,
                    data=body, allow_redirects=False, ssl=context,
                )
            except (aiohttp.ClientError, OSError) as exc:
                raise classify(exc, probe) from None
            try:
                probe.enter(Phase.CONTENT)
                facts.update(probe_facts(probe))
                location = None
                if response.status in REDIRECT_STATUS:
                    facts.setdefault("redirect",
                                    redirect_fact(response.headers.get("Location", "")))
                if spec.follow_redirects and response.status in REDIRECT_STATUS:
                    location = response.headers.get("Location")
                if location is None:
                    try:
                        data, cut = await read_capped(response, spec.max_body)
                    except (aiohttp.ClientError, OSError) as exc:
                        raise classify(exc, probe) from None
                    verdict = self._verdict(probe, response, data, cut, len(visited) - 1)
                    return replace(verdict, facts=facts)
            finally:
                response.close()  # with a cut body, this drops the connection: no more is read
            url = _next_hop(url, location, response.status, visited, spec.max_redirects)
            if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                method, body = ("HEAD" if method == "HEAD" else "GET"), None
            probe.enter(Phase.CONNECT)

    def _verdict(self, probe: Probe, response: aiohttp.ClientResponse, data: bytes, cut: bool,
                 redirects: int) -> Outcome:
        spec = self.spec
        metrics = probe.metrics(status_code=response.status, body_bytes=len(data),
                                redirects=redirects)
        after = f" after {redirects} redirect{'s' if redirects > 1 else ''}" if redirects else ""
        status_text = f"HTTP {response.status}{after}"
        if not spec.status_expected(response.status):
            return Outcome(Status.CRITICAL, f"{status_text} (expected "
                           f"{_describe_ranges(spec.expect_status)})", Phase.RESPONSE, metrics)
        problem = self._content_problem(response, data, cut)
        if problem:
            return Outcome(Status.CRITICAL, f"{status_text}: {problem}", Phase.CONTENT, metrics)
        took = metrics["time_total_ms"] / 1000.0
        summary = f"{status_text} in {format_elapsed(took)}"
        if spec.max_response_time is not None and took > spec.max_response_time:
            return Outcome(Status.WARNING, f"{summary}, slower than max_response_time "
                           f"{format_duration(spec.max_response_time)}", Phase.RESPONSE, metrics)
        return Outcome.ok(summary, metrics)

    def _content_problem(self, response: aiohttp.ClientResponse, data: bytes,
                         cut: bool) -> str | None:
        spec = self.spec
        if spec.expect_body is None and spec.reject_body is None and not spec.expect_json:
            return None
        text = _decode(data, response.charset)
        where = f" (in the first {_size(len(data))})" if cut else ""
        if spec.reject_body is not None and (hit := spec.reject_body.search(text)):
            return f'body matches reject_body "{spec.reject_body.pattern}" at "{hit[0][:80]}"'
        if spec.expect_body is not None and not spec.expect_body.search(text):
            return f'body does not match expect_body "{spec.expect_body.pattern}"{where}'
        if spec.expect_json:
            if cut:
                return f"body longer than max_body {_size(spec.max_body)}: cannot check JSON"
            return expect_json.problem(text, spec.expect_json)
        return None


def _next_hop(url: URL, location: str | None, status: int, visited: list[str],
              max_redirects: int) -> URL:
    """The URL a redirect points to; a loop, too many hops or a bad target is a failure."""
    shown = redirect_fact(location or "")  # the server's text: redacted and cut
    try:
        target = url.join(URL(location or ""))
    except ValueError:
        raise ProbeFailure(Phase.RESPONSE, f"HTTP {status}: invalid Location {shown!r}"
                           ) from None
    if target.scheme not in ("http", "https") or not target.host:
        raise ProbeFailure(Phase.RESPONSE, f"HTTP {status}: redirect to {shown!r} is not "
                                           f"an http(s) URL")
    if target.user is not None:  # credentials in a Location are dropped: never sent on, never shown
        target = target.with_user(None)
    if str(target) in visited:
        chain = " -> ".join([*visited[visited.index(str(target)):], str(target)])
        raise ProbeFailure(Phase.RESPONSE, f"redirect loop: {chain}")
    if len(visited) > max_redirects:
        raise ProbeFailure(Phase.RESPONSE, f"more than {max_redirects} redirects "
                                           f"(last to {target})")
    visited.append(str(target))
    return target


def _decode(data: bytes, charset: str | None) -> str:
    try:
        return data.decode(charset or "utf-8", errors="replace")
    except LookupError:  # an unknown charset named by the server
        return data.decode("utf-8", errors="replace")


def _size(count: int) -> str:
    for unit, scale in (("MiB", 1024**2), ("KiB", 1024)):
        if count >= scale:
            return f"{count / scale:g} {unit}"
    return f"{count} bytes"


__all__ = ["KIND", "MAX_BODY", "HttpCheck", "HttpSpec", "parse", "to_status_ranges"]


def _basic(user: str, password: str) -> str:
    """An HTTP basic ``Authorization`` value (RFC 7617, UTF-8)."""
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
