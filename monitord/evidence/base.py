"""What an evidence probe is, and the small vocabulary the kinds share.

A kind turns one configured check into :class:`Step` values. A step is one follow-up probe
(resolve the name through one resolver, connect to every address…); it reports its findings
through ``emit`` as they come, so a step cut at the deadline keeps what it already found and
is marked ``unfinished`` for the rest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from monitord.checks.base import CheckEnv
from monitord.config.schema import CheckConfig
from monitord.config.secrets import redact_url
from monitord.model import Evidence

OK = "ok"
FAILED = "failed"
UNFINISHED = "unfinished"

MAX_ADDRESSES = 8  # addresses connected to / shaken hands with per step
MAX_SERVERS = 8  # resolvers and authoritative servers asked per step
DETAIL_LIMIT = 400  # characters of one item's detail


@dataclass(frozen=True, slots=True)
class Found:
    """One finding, with the facts it observed (for "what changed", never shown as is)."""

    item: Evidence
    facts: Mapping[str, str] = field(default_factory=dict)


Emit = Callable[[Found], None]


@dataclass(frozen=True, slots=True)
class Step:
    """One follow-up probe: ``run`` emits findings; ``probe``/``target`` name it if cut."""

    probe: str
    target: str
    run: Callable[[Emit], Awaitable[None]]


class EvidenceKind(Protocol):
    """The follow-up probes of one check kind."""

    def steps(self, config: CheckConfig, env: CheckEnv, budget: float) -> list[Step]:
        """The steps for ``config``; ``budget`` is the time they have (each query's deadline
        is a share of it)."""
        ...


def found(probe: str, target: str, status: str, detail: str,
          facts: Mapping[str, str] | None = None) -> Found:
    # A Location header or an error may quote a URL with its password: never shown.
    detail, target = redact_url(detail), redact_url(target)
    if len(detail) > DETAIL_LIMIT:
        detail = detail[: DETAIL_LIMIT - 1] + "…"
    return Found(Evidence(probe, target, status, detail), facts or {})
