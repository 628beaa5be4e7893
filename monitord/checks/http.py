"""The ``http`` check: one request (following redirects), status, body and timing verdicts.

A run fails in a named phase: ``resolve``, ``connect``, ``tls`` (handshake or certificate),
``request``, ``response`` (status, redirects, malformed answer, slowness), ``content`` (body
expectations) or ``timeout``. Its metrics always carry the per-phase timings. The body is read
in chunks up to ``max_body`` and never further: a huge body is cut, not buffered.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field

import aiohttp
from yarl import URL

from monitord.checks import _expect_json as expect_json
from monitord.checks._http_client import classify, read_capped, shared_session, timing
from monitord.checks._options import DEFAULT_TLS, TlsOptions, size, tls_options
from monitord.checks._probe import Probe, ProbeFailure, run_probe
from monitord.checks._tls import shared_context
from monitord.checks.base import CheckEnv, Kind
from monitord.config.durations import format_duration
from monitord.config.reader import Table, describe_value, to_duration, to_str
from monitord.config.schema import CheckConfig
from monitord.model import Outcome, Phase, Status

StatusRanges = tuple[tuple[int, int], ...]
DEFAULT_STATUS: StatusRanges = ((200, 399),)
REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
MAX_BODY = 1024 * 1024
_METHOD = re.compile(r"[A-Z]{1,20}")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_STATUS_RANGE = re.compile(r"([1-5]\d\d)-([1-5]\d\d)")
_STATUS_CLASS = re.compile(r"([1-5])xx")


@dataclass(frozen=True, slots=True)
class HttpSpec:
    url: str
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None
    expect_status: StatusRanges = DEFAULT_STATUS
    expect_body: re.Pattern[str] | None = None
    reject_body: re.Pattern[str] | None = None
    expect_json: expect_json.Expectations = ()
    max_response_time: float | None = None
    follow_redirects: bool = True
    max_redirects: int = 5
    max_body: int = MAX_BODY
    tls: TlsOptions = DEFAULT_TLS
    # The scheduler asks for the host before every run (its per-host cap): parsed once.
    _host: str = field(init=False, repr=False, compare=False, default="")

    def __post_init__(self) -> None:
        object.__setattr__(self, "_host", URL(self.url).host or "")

    @property
    def target(self) -> str:
        return self._host

    def status_expected(self, status: int) -> bool:
        return any(low <= status <= high for low, high in self.expect_status)


def to_status_ranges(value: object) -> StatusRanges:
    """``[200, 204]``, ``["200-299", 301]`` or ``["2xx", "3xx"]``."""
    if not isinstance(value, list) or not value:
        raise ValueError(f'expected a non-empty array of status codes like [200, "3xx", '
                         f'"500-504"], got {describe_value(value)}')
    ranges: list[tuple[int, int]] = []
    for item in value:
        if isinstance(item, int) and not isinstance(item, bool) and 100 <= item <= 599:
            ranges.append((item, item))
        elif isinstance(item, str) and (match := _STATUS_RANGE.fullmatch(item)):
            low, high = int(match[1]), int(match[2])
            if low > high:
                raise ValueError(f'status range "{item}" ends before it starts')
            ranges.append((low, high))
        elif isinstance(item, str) and (match := _STATUS_CLASS.fullmatch(item)):
            ranges.append((int(match[1]) * 100, int(match[1]) * 100 + 99))
        else:
            raise ValueError(f'expected status codes from 100 to 599, "NNN-NNN" ranges or '
                             f'classes like "2xx", got {describe_value(item)}')
    return tuple(ranges)


def _describe_ranges(ranges: StatusRanges) -> str:
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in ranges)


def parse(table: Table) -> HttpSpec:
    url = table.str("url")
    parsed = URL(url) if url else None
    if url and (parsed is None or parsed.scheme not in ("http", "https") or not parsed.host):
        table.error("url", f'expected an http:// or https:// URL with a host, got "{url}"')
    method = table.str("method", "GET")
    if not _METHOD.fullmatch(method):
        table.error("method", f'expected an HTTP method in capitals like "GET", got "{method}"')
    headers = table.str_map("headers")
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name) or "\r" in value or "\n" in value:
            table.error("headers", f'invalid header "{name}" (a token name and a value '
                                   f"on one line)")
    max_response_time = table.optional("max_response_time", _duration)
    return HttpSpec(
        url=url,
        method=method,
        headers=headers,
        body=table.optional("body", to_str),
        expect_status=table.get("expect_status", to_status_ranges, DEFAULT_STATUS),
        expect_body=table.regex("expect_body"),
        reject_body=table.regex("reject_body"),
        expect_json=table.get("expect_json", expect_json.parse, ()),
        max_response_time=max_response_time,
        follow_redirects=table.bool("follow_redirects", True),
        max_redirects=table.int("max_redirects", 5, minimum=0, maximum=30),
        max_body=size(table, "max_body", MAX_BODY, minimum=1, maximum=64 * 1024 * 1024),
        tls=tls_options(table),
    )


def _duration(value: object) -> float:
    seconds = to_duration(value)
    if seconds <= 0:
        raise ValueError(f"expected a duration above zero, got {describe_value(value)}")
    return seconds


class HttpCheck:
    def __init__(self, config: CheckConfig, env: CheckEnv) -> None:
        assert isinstance(config.spec, HttpSpec)
        self.spec: HttpSpec = config.spec
        self.env = env
        self.timeout = config.timeout
        self.url = URL(self.spec.url)  # parsed once: 5,000 checks run every few seconds
        self.url_text = str(self.url)  # normalised, as redirect targets are
        self.headers = dict(self.spec.headers)
        self.body = self.spec.body.encode() if self.spec.body is not None else None

    async def run(self) -> Outcome:
        return await run_probe(self.env.clock.monotonic, self.timeout, self._run)

    async def _run(self, probe: Probe) -> Outcome:
        spec = self.spec
        session = await shared_session(self.env)
        context = await shared_context(self.env, spec.tls.verify, spec.tls.ca_file)
        probe.begin()
        with timing(probe):
            return await self._follow(probe, session, context)

    async def _follow(self, probe: Probe, session: aiohttp.ClientSession,
                      context: ssl.SSLContext) -> Outcome:
        spec = self.spec
        method, body, url = spec.method, self.body, self.url
        visited = [self.url_text]
        while True:
            try:
                response = await session.request(
                    method, url, headers=self.headers, data=body, allow_redirects=False,
                    ssl=context,
                )
            except (aiohttp.ClientError, OSError) as exc:
                raise classify(exc, probe) from None
            try:
                probe.enter(Phase.CONTENT)
                location = None
                if spec.follow_redirects and response.status in REDIRECT_STATUS:
                    location = response.headers.get("Location")
                if location is None:
                    try:
                        data, cut = await read_capped(response, spec.max_body)
                    except (aiohttp.ClientError, OSError) as exc:
                        raise classify(exc, probe) from None
                    return self._verdict(probe, response, data, cut, len(visited) - 1)
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
        summary = f"{status_text} in {format_duration(took)}"
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
    try:
        target = url.join(URL(location or ""))
    except ValueError:
        raise ProbeFailure(Phase.RESPONSE, f"HTTP {status}: invalid Location {location!r}"
                           ) from None
    if target.scheme not in ("http", "https") or not target.host:
        raise ProbeFailure(Phase.RESPONSE, f"HTTP {status}: redirect to {location!r} is not "
                                           f"an http(s) URL")
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


KIND = Kind("http", parse, HttpCheck)
