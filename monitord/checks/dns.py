"""The ``dns`` check: resolve one name through each resolver and judge the answers.

Each resolver is asked on its own c-ares channel, so a failure names the resolver that failed
(one channel with several servers would silently fail over). Channels live for ONE run:
c-ares keeps a query cache for the life of a channel (honouring the answer's TTL), and a
cached answer would hide a change made on the server until the TTL ran out. A fresh channel
costs about 0.05 ms of CPU when the asyncio loop watches its sockets (see
:class:`_LoopResolver`) — small next to the query itself, and the price of never reporting a
stale answer.

Failure names: ``NXDOMAIN``, ``SERVFAIL``, ``REFUSED`` (and any other rcode), ``timeout``,
``connection refused``, ``no <TYPE> record`` (NODATA), ``wrong answer`` (expected vs got),
``slow`` (over ``max_response_time``, a WARNING).
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from typing import Any

import aiodns
import pycares

from monitord.checks.base import CheckEnv
from monitord.checks.dns_records import (
    RECORD_TYPES,
    canonical,
    show,
)
from monitord.checks.dns_spec import (
    KIND,
    RCODES,
    Spec,
    parse,
)
from monitord.compat import timeout
from monitord.config.durations import format_duration
from monitord.config.schema import CheckConfig
from monitord.model import Outcome, Phase, Status

# c-ares status -> (rcode, or None when no response was usable; failure text)
_ARES = {
    aiodns.error.ARES_ENOTFOUND: ("NXDOMAIN", "NXDOMAIN"),
    aiodns.error.ARES_ENODATA: ("NOERROR", "no data"),
    aiodns.error.ARES_ESERVFAIL: ("SERVFAIL", "SERVFAIL"),
    aiodns.error.ARES_EREFUSED: ("REFUSED", "REFUSED"),
    aiodns.error.ARES_ENOTIMP: ("NOTIMP", "NOTIMP"),
    aiodns.error.ARES_EFORMERR: ("FORMERR", "FORMERR"),
    aiodns.error.ARES_ETIMEOUT: (None, "timeout"),
    aiodns.error.ARES_ECONNREFUSED: (None, "connection refused"),
    aiodns.error.ARES_EBADRESP: (None, "malformed response"),
}
_QTYPE = {name: getattr(pycares, f"QUERY_TYPE_{name}") for name in RECORD_TYPES}
_BUDGET_SHARE = 0.9  # of the check's timeout, so a slow resolver is named before the runner
# stops the whole run



class _LoopResolver(aiodns.DNSResolver):
    """aiodns with its sockets watched by the asyncio loop instead of a c-ares event thread.

    This is aiodns's own fallback path (``sock_state_cb``). With a fresh channel per run, the
    default (one event thread per channel) starts and joins a thread per resolver per run and
    hands every answer across threads: about 0.2 CPU-seconds per round of 500 checks. Should a
    future aiodns drop this hook, the default path is used and only the cost changes.
    """

    def _make_channel(self, **kwargs: Any) -> tuple[bool, pycares.Channel]:
        this = weakref.ref(self)  # no cycle resolver -> channel -> callback -> resolver

        def state(fd: int, readable: bool, writable: bool) -> None:
            resolver = this()
            if resolver is not None:
                resolver._sock_state_cb(fd, readable, writable)

        return False, pycares.Channel(sock_state_cb=state, timeout=self._timeout, **kwargs)


@dataclass(frozen=True, slots=True)
class Answer:
    """What one resolver said."""

    resolver: str
    rcode: str | None  # None: no usable response (timeout, refused connection, …)
    failure: str  # "" when the resolver answered with a rcode
    values: frozenset[str]
    elapsed: float


class DnsCheck:
    def __init__(self, config: CheckConfig, env: CheckEnv) -> None:
        assert isinstance(config.spec, Spec)
        self.spec: Spec = config.spec
        self.config = config
        self.env = env

    def _resolvers(self) -> list[str | None]:
        """One entry per channel to open; None = the system's resolver configuration."""
        if self.spec.resolvers:
            return [str(r) for r in self.spec.resolvers]
        if self.env.resolvers:
            return list(self.env.resolvers)
        return [None]

    async def run(self) -> Outcome:
        budget = self.config.timeout * _BUDGET_SHARE
        answers = await asyncio.gather(*(self._ask(r, budget) for r in self._resolvers()))
        return self._judge(list(answers))

    async def _ask(self, server: str | None, budget: float) -> Answer:
        clock = self.env.clock
        # A fresh channel per run: see the module docstring (no stale cached answer).
        resolver = _LoopResolver(
            nameservers=[server] if server else None,
            timeout=max(0.05, budget / 2),
            tries=2,
            flags=pycares.ARES_FLAG_NOSEARCH,
        )
        label = server or "system resolver (" + ", ".join(resolver.nameservers) + ")"
        start = clock.monotonic()
        try:
            async with timeout(budget):
                result = await resolver.query_dns(self.spec.query, self.spec.record)
        except TimeoutError:
            return Answer(label, None, "timeout", frozenset(), clock.monotonic() - start)
        except aiodns.error.DNSError as exc:
            code = exc.args[0] if exc.args else None
            rcode, text = _ARES.get(code, (None, str(exc.args[-1]) if exc.args else "error"))
            return Answer(label, rcode, "" if rcode else text, frozenset(),
                          clock.monotonic() - start)
        finally:
            await resolver.close()
        elapsed = clock.monotonic() - start
        wanted = _QTYPE[self.spec.record]
        values = frozenset(_ares_text(self.spec.record, r.data)
                           for r in result.answer if r.type == wanted)
        return Answer(label, "NOERROR", "", values, elapsed)

    def _judge(self, answers: list[Answer]) -> Outcome:
        spec = self.spec
        problems: list[tuple[Status, Phase, str]] = []
        for a in answers:
            problem = self._problem(a)
            if problem is not None:
                problems.append((problem[0], problem[1], f"{a.resolver}: {problem[2]}"))
        slowest = max((a.elapsed for a in answers), default=0.0)
        metrics = {
            "time_resolve_ms": round(slowest * 1000, 3),
            "answers": float(max((len(a.values) for a in answers), default=0)),
            "resolvers_failed": float(sum(1 for p in problems if p[0] is Status.CRITICAL)),
        }
        what = f"{spec.record} {spec.query}"
        facts = {"answer": show(frozenset().union(*(a.values for a in answers)))}
        if not problems:
            return Outcome.ok(f"{what}: {self._describe(answers)}", metrics, facts)
        status = Status.worst([p[0] for p in problems])
        phase = next(p[1] for p in problems if p[0] is status)
        return Outcome(status, f"{what}: " + "; ".join(p[2] for p in problems), phase, metrics,
                       facts)

    def _problem(self, a: Answer) -> tuple[Status, Phase, str] | None:
        spec = self.spec
        if a.rcode is None:
            phase = Phase.TIMEOUT if a.failure == "timeout" else Phase.DNS
            suffix = f" after {format_duration(a.elapsed)}" if a.failure == "timeout" else ""
            return Status.CRITICAL, phase, a.failure + suffix
        if a.rcode != spec.expect_rcode:
            return Status.CRITICAL, Phase.DNS, f"{a.rcode} (expected {spec.expect_rcode})"
        if spec.expect_rcode == "NOERROR":
            if spec.expect is not None and a.values != spec.expect:
                return (Status.CRITICAL, Phase.CONTENT,
                        f"wrong answer: expected {show(spec.expect)}, got {show(a.values)}")
            if spec.expect_contains is not None and not spec.expect_contains <= a.values:
                missing = spec.expect_contains - a.values
                return (Status.CRITICAL, Phase.CONTENT,
                        f"wrong answer: missing {show(missing)}, got {show(a.values)}")
            if spec.expect is None and not a.values:
                return Status.CRITICAL, Phase.DNS, f"no {spec.record} record (NODATA)"
        if spec.max_response_time is not None and a.elapsed > spec.max_response_time:
            return (Status.WARNING, Phase.RESPONSE, f"slow: {format_duration(a.elapsed)} "
                    f"(max_response_time {format_duration(spec.max_response_time)})")
        return None

    def _describe(self, answers: list[Answer]) -> str:
        """The OK summary: the answer once if every resolver agrees, else per resolver."""
        if self.spec.expect_rcode != "NOERROR":
            got = self.spec.expect_rcode
            return f"{got} as expected from {', '.join(a.resolver for a in answers)}"
        distinct = {a.values for a in answers}
        if len(distinct) == 1:
            return f"{show(answers[0].values)} from {', '.join(a.resolver for a in answers)}"
        return "; ".join(f"{a.resolver}: {show(a.values)}" for a in answers)


def _ares_text(record: str, d: Any) -> str:
    """Canonical text (see :mod:`dns_records`) of one c-ares record's data."""
    if record == "TXT":  # c-ares gives the strings already joined
        raw = d.data
        return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
    if record in ("A", "AAAA"):
        text = str(d.addr)
    elif record == "CNAME":
        text = _abs(d.cname)
    elif record == "NS":
        text = _abs(d.nsdname)
    elif record == "MX":
        text = f"{d.priority} {_abs(d.exchange)}"
    elif record == "SRV":
        text = f"{d.priority} {d.weight} {d.port} {_abs(d.target)}"
    elif record == "SOA":
        text = (f"{_abs(d.mname)} {_abs(d.rname)} {d.serial} {d.refresh} {d.retry} "
                f"{d.expire} {d.minimum}")
    else:  # CAA
        value = str(d.value).replace("\\", "\\\\").replace('"', '\\"')
        text = f'{d.critical} {d.tag} "{value}"'
    try:
        return canonical(record, text)
    except ValueError:
        return text  # shown as received; it will not match an expectation


def _abs(name: str) -> str:
    """c-ares names have no final dot; the root (a null MX, say) is the empty string."""
    return f"{name}." if name else "."


__all__ = ["KIND", "RCODES", "DnsCheck", "Spec", "parse"]
