"""Per-run bookkeeping shared by the network checks: which stage a run is in, and how long
each stage took.

A run moves through stages (resolve, connect, tls, request, response, content); every
transition charges the time since the previous one to the stage being left. A failure is
named after the stage the run was in, so a timeout can say *where* the time went. Durations
are read from the injected clock's monotonic time, like the runner's own duration.

The :data:`CURRENT` context variable carries the run's :class:`Probe` into code that the check
does not call directly (the TLS context's ``wrap_bio``, called deep inside asyncio).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from monitord.compat import timeout
from monitord.config.durations import format_duration
from monitord.model import Outcome, Phase, Status

CURRENT: contextvars.ContextVar[Probe | None] = contextvars.ContextVar(
    "monitord_probe", default=None
)

# What a run was doing in each stage, for a timeout summary.
_WAITING_FOR = {
    Phase.RESOLVE: "resolving the host name",
    Phase.CONNECT: "connecting",
    Phase.TLS: "in the TLS handshake",
    Phase.REQUEST: "sending the request",
    Phase.RESPONSE: "waiting for the response",
    Phase.CONTENT: "reading the response body",
}


class ProbeFailure(Exception):
    """A classified failure: the check turns it into an Outcome with the run's timings."""

    def __init__(self, phase: Phase, summary: str, status: Status = Status.CRITICAL) -> None:
        super().__init__(summary)
        self.phase = phase
        self.summary = summary
        self.status = status


class CertificateRejected(ProbeFailure):
    """Certificate verification failed; ``reason`` is "expired", "wrong host", …"""

    def __init__(self, reason: str, summary: str) -> None:
        super().__init__(Phase.TLS, summary)
        self.reason = reason


class Probe:
    """Stage and per-stage durations of one run (all redirect hops of an HTTP run add up)."""

    __slots__ = ("_mark", "_now", "addresses", "durations", "if_timeout", "stage", "start",
                 "tls")

    def __init__(self, monotonic: Callable[[], float], stage: Phase = Phase.CONNECT) -> None:
        self._now = monotonic
        self.start = self._mark = monotonic()
        self.stage = stage
        self.durations: dict[Phase, float] = {}
        # What to report if time runs out now (e.g. "no match in what arrived so far").
        self.if_timeout: ProbeFailure | None = None
        # What the run talked to, noted on the way for "what changed" (see checks/_facts.py).
        self.addresses: tuple[str, ...] = ()  # the host name's addresses, as resolved
        self.tls: Any = None  # the ssl.SSLObject of the last handshake

    def begin(self) -> None:
        """Start the clock now: what came before (shared set-up on first use) is not timed."""
        self.start = self._mark = self._now()
        self.durations.clear()

    def enter(self, stage: Phase) -> None:
        now = self._now()
        self.durations[self.stage] = self.durations.get(self.stage, 0.0) + now - self._mark
        self._mark = now
        self.stage = stage

    def elapsed(self) -> float:
        return self._now() - self.start

    def metrics(self, **extra: float) -> dict[str, float]:
        """``time_*_ms`` per stage (request + response = first byte) and the total."""
        self.enter(self.stage)  # charge the running stage up to now
        d = self.durations
        metrics = {
            "time_resolve_ms": _ms(d.get(Phase.RESOLVE, 0.0)),
            "time_connect_ms": _ms(d.get(Phase.CONNECT, 0.0)),
            "time_tls_ms": _ms(d.get(Phase.TLS, 0.0)),
            "time_firstbyte_ms": _ms(d.get(Phase.REQUEST, 0.0) + d.get(Phase.RESPONSE, 0.0)),
            "time_total_ms": _ms(self.elapsed()),
        }
        metrics.update(extra)
        return metrics

    def failed(self, failure: ProbeFailure, **extra: float) -> Outcome:
        return Outcome(failure.status, failure.summary, failure.phase, self.metrics(**extra))

    def timed_out(self, limit: float, **extra: float) -> Outcome:
        """The outcome of a run that used up its time, naming the stage it was stuck in."""
        doing = _WAITING_FOR.get(self.stage, self.stage.value)
        return Outcome(
            Status.CRITICAL,
            f"no result within {format_duration(limit)} (stuck {doing})",
            Phase.TIMEOUT,
            self.metrics(**extra),
        )


@contextlib.contextmanager
def probing(probe: Probe) -> Iterator[Probe]:
    """Make ``probe`` the :data:`CURRENT` one for the code run inside."""
    token = CURRENT.set(probe)
    try:
        yield probe
    finally:
        CURRENT.reset(token)


async def run_probe(monotonic: Callable[[], float], limit: float,
                    work: Callable[[Probe], Awaitable[Outcome]]) -> Outcome:
    """Run ``work`` with a fresh current probe under the check's own deadline.

    ``limit`` is the configured timeout. The runner cancels a run at ``limit`` and can only
    say "timeout"; stopping a little earlier lets the check name the stage it was stuck in
    and keep the timings so far. A :class:`ProbeFailure` becomes its outcome.
    """
    with probing(Probe(monotonic)) as probe:
        try:
            async with timeout(max(limit * 0.95, limit - 0.5)):
                return await work(probe)
        except TimeoutError:
            if probe.if_timeout is not None:
                return probe.failed(probe.if_timeout)
            return probe.timed_out(limit)
        except ProbeFailure as failure:
            return probe.failed(failure)


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)
