"""The ``http`` kind's keys and their parsing, importable without aiohttp.

The check itself (:mod:`monitord.checks.http`) is imported when a check is built.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from monitord.checks import _expect_json as expect_json
from monitord.checks._options import DEFAULT_TLS, TlsOptions, size, tls_options, to_host
from monitord.checks.kind import CheckKind, Kind, deferred
from monitord.config.reader import SecretRef, Table, describe_value, to_duration, to_str
from monitord.config.secrets import redact_url

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
    username: str | None = None
    password: SecretRef | None = None  # with username: HTTP basic authentication
    headers_file: SecretRef | None = None  # "Name: value" lines (e.g. Authorization)
    # The scheduler asks for the host before every run (its per-host cap): parsed once.
    _host: str = field(init=False, repr=False, compare=False, default="")

    def __post_init__(self) -> None:
        try:
            host = urlsplit(self.url).hostname or ""
        except ValueError:  # a malformed URL is a config error, reported by parse
            host = ""
        object.__setattr__(self, "_host", host)

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
    if url:
        problem = url_problem(url)
        if problem:
            table.error("url", f'{problem}, got "{redact_url(url)}"')
    method = table.str("method", "GET")
    if not _METHOD.fullmatch(method):
        table.error("method", f'expected an HTTP method in capitals like "GET", got "{method}"')
    headers = table.str_map("headers")
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name) or "\r" in value or "\n" in value:
            table.error("headers", f'invalid header "{name}" (a token name and a value '
                                   f"on one line)")
    max_response_time = table.optional("max_response_time", _duration)
    username = table.optional("username", to_str)
    password = table.secret("password", required=username is not None)
    if password is not None and username is None:
        table.error("username", "required with password_file or password_env")
    headers_file = table.file_path("headers_file")
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
        username=username,
        password=password,
        headers_file=SecretRef(file=headers_file) if headers_file else None,
    )


def parse_headers(text: str) -> dict[str, str]:
    """``Name: value`` lines (blank lines and ``#`` comments skipped) of a headers_file."""
    headers: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition(":")
        if not sep or not _HEADER_NAME.fullmatch(name.strip()):
            raise ValueError(f"headers_file line {number}: expected \"Name: value\"")
        headers[name.strip()] = value.strip()
    return headers


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be requested (malformed, a port out of range, not http(s))."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a port out of range
    except ValueError as exc:
        return f"malformed URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "expected an http:// or https:// URL with a host"
    if not _valid_host(parts.hostname):
        return "invalid host name in the URL (empty or over-long label?)"
    if port is not None and not 0 < port < 65536:
        return "expected a port from 1 to 65535"
    return None


def _valid_host(name: str) -> bool:
    """An IP address or a host name DNS can carry (IDN names by their ASCII form)."""
    try:
        to_host(name if name.isascii() else name.encode("idna").decode("ascii"))
    except (UnicodeError, ValueError):
        return False
    return True


def _duration(value: object) -> float:
    seconds = to_duration(value)
    if seconds <= 0:
        raise ValueError(f"expected a duration above zero, got {describe_value(value)}")
    return seconds


KIND: CheckKind = Kind("http", parse, deferred("monitord.checks.http", "HttpCheck"))

