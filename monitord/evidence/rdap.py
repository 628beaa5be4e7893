"""Evidence for ``domain_expiry`` checks: the registry's RDAP status and dates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitord.checks.base import CheckEnv
from monitord.checks.domain_expiry import DomainExpiryCheck, Unusable
from monitord.config.schema import CheckConfig
from monitord.evidence.base import FAILED, OK, Emit, Step, found

EVENTS = ("registration", "expiration", "last changed", "transfer")


@dataclass(frozen=True, slots=True)
class RdapEvidence:
    def steps(self, config: CheckConfig, env: CheckEnv, budget: float) -> list[Step]:
        check = DomainExpiryCheck(config, env)
        domain = check.spec.domain

        async def run(emit: Emit) -> None:
            base = check.spec.rdap_url
            if base is None:
                emit(found("rdap", domain, FAILED, "no RDAP server known for this TLD"))
                return
            try:
                document = await check._fetch(base)  # the check's own bounded fetch
            except Unusable as failure:
                emit(found("rdap", domain, FAILED, failure.summary))
                return
            emit(found("rdap", domain, OK, describe(document)))

        return [Step("rdap", domain, run)]


def describe(document: dict[str, Any]) -> str:
    statuses = document.get("status")
    parts = ["status " + (", ".join(str(s) for s in statuses[:10])
                          if isinstance(statuses, list) and statuses else "none")]
    events = document.get("events")
    for event in events[:50] if isinstance(events, list) else []:
        if isinstance(event, dict) and str(event.get("eventAction", "")).lower() in EVENTS:
            parts.append(f"{event.get('eventAction')} {str(event.get('eventDate', '?'))[:25]}")
    return "; ".join(parts)
