"""Evidence for ``dns_authority`` checks: the per-server table the check computes.

The check already asks every address of every nameserver; its evidence is one run's table,
one row per server: SOA serial, NS set, the AA flag over UDP and TCP, whether the SOA came
signed — next to each other, so "ns2 still has serial 41" is read at a glance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dns.rdatatype

from monitord.checks._dns_audit import ServerView, targets
from monitord.checks.base import CheckEnv
from monitord.checks.dns_authority import AuthorityCheck
from monitord.config.schema import CheckConfig
from monitord.evidence.base import FAILED, MAX_SERVERS, OK, Emit, Step, found


@dataclass(frozen=True, slots=True)
class AuthorityEvidence:
    def steps(self, config: CheckConfig, env: CheckEnv, budget: float) -> list[Step]:
        check = AuthorityCheck(config, env)

        async def run(emit: Emit) -> None:
            outcome = await check.run()
            if not check.views:
                emit(found("authority", check.spec.zone, FAILED, outcome.summary))
                return
            for view in check.views[: MAX_SERVERS * 2]:
                emit(_row(check, view))

        return [Step("authority", config.spec.target, run)]


def _row(check: AuthorityCheck, view: ServerView) -> Any:
    soa = view.soa.rrset(check.zone, dns.rdatatype.SOA)
    ns = view.ns.rrset(check.zone, dns.rdatatype.NS)
    parts = [f"serial {soa[0].value.serial}" if soa is not None else "no SOA",
             "NS " + (", ".join(sorted(targets(ns))) if ns is not None else "none"),
             f"AA {'yes' if view.soa.authoritative else 'no'} over UDP, "
             f"{'yes' if view.ns.authoritative else 'no'} over TCP",
             "SOA signed" if view.soa.signatures(check.zone, dns.rdatatype.SOA)
             else "SOA unsigned"]
    problem = view.soa.problem() or view.ns.problem()
    if problem:
        parts.append(problem)
    facts = {"serial": str(soa[0].value.serial)} if soa is not None else {}
    return found("authority", str(view.server), OK if view.healthy else FAILED,
                 "; ".join(parts), facts)
