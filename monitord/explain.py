"""``monitord probe --explain``: run checks once, then their evidence, and say what changed.

"What changed" compares with the last OK fingerprint the daemon saved in ``state_dir`` (read
only; nothing is written), so an operator sees the same comparison the notification made.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitord.checks.base import check_env
from monitord.checks.registry import KINDS
from monitord.clock import SystemClock
from monitord.config.schema import CheckConfig
from monitord.configfile import Config
from monitord.evidence.facts import changes, fingerprint, merge
from monitord.evidence.persist import Key
from monitord.evidence.runner import collect
from monitord.evidence.target import describe_target
from monitord.model import Evidence, Result
from monitord.notify.evidence_text import evidence_line
from monitord.runner import CheckRunner


@dataclass(frozen=True, slots=True)
class Explained:
    result: Result
    target: str
    description: str
    evidence: tuple[Evidence, ...]
    changes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {**self.result.to_json(), "target": self.target,
                "description": self.description,
                "evidence": [e.to_json() for e in self.evidence],
                "changes": list(self.changes)}

    def text(self) -> str:
        r = self.result
        phase = f" [{r.phase.value}]" if r.phase else ""
        lines = [f"{r.status.name:<8} {r.check} ({r.type}, {r.location}){phase}: {r.summary} "
                 f"({r.duration * 1000:.0f} ms)",
                 f"  checked: {self.target}" + (f" — {self.description}"
                                                if self.description else "")]
        lines += [f"  changed: {change}" for change in self.changes]
        if self.evidence:
            lines.append("  evidence:")
            lines += [f"    {evidence_line(e)}" for e in self.evidence]
        return "\n".join(lines)


def saved_baselines(state_dir: Path) -> dict[Key, dict[str, str]]:
    """The daemon's last OK fingerprints, or nothing when there is no state yet."""
    path = state_dir / "monitord.db"
    if not path.exists():
        return {}
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            from monitord.evidence.persist import load_baselines

            return load_baselines(conn)
    except sqlite3.Error:  # no evidence table yet, or a locked / unreadable file
        return {}


async def explain(config: Config, checks: Sequence[CheckConfig]) -> list[Explained]:
    """Results with evidence, in the order of ``checks``."""
    clock = SystemClock()
    location = config.monitord.location
    resolvers = tuple(str(r) for r in config.monitord.resolvers)
    baselines = saved_baselines(config.monitord.state_dir)
    limit = asyncio.Semaphore(config.monitord.max_concurrent_checks)
    async with check_env(clock, location, resolvers) as env:
        runner = CheckRunner(clock, location)

        async def one(check: CheckConfig) -> Explained:
            async with limit:
                result = await runner(check, KINDS[check.type].build(check, env))
                collected = await collect(check, env, config.alerting.evidence_timeout)
            baseline = baselines.get((check.name, location))
            found = changes(baseline, merge(fingerprint(result), collected.facts)) \
                if baseline else []
            return Explained(result, describe_target(check), check.description,
                             collected.evidence, tuple(found))

        return list(await asyncio.gather(*(one(c) for c in checks)))
