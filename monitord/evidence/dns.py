"""Evidence for ``dns`` checks: the check's question to every resolver and every
authoritative server of the zone, side by side."""

from __future__ import annotations

from dataclasses import dataclass

import dns.rdatatype

from monitord.checks.base import CheckEnv
from monitord.checks.dns import Spec
from monitord.config.schema import CheckConfig
from monitord.evidence.base import Step
from monitord.evidence.names import name_steps, resolvers_of


@dataclass(frozen=True, slots=True)
class DnsEvidence:
    def steps(self, config: CheckConfig, env: CheckEnv, budget: float) -> list[Step]:
        spec = config.spec
        assert isinstance(spec, Spec)
        resolvers = resolvers_of(spec.resolvers or env.resolvers)
        return name_steps(spec.query, resolvers, budget,
                          types=(dns.rdatatype.from_text(spec.record),))
