"""``[[agent]]`` tables of the central daemon: the remote locations that post results.

Each agent has its own bearer token (a reference: ``token_file`` or ``token_env``), a
``silent_after`` (how long without a post before its silence is an incident of its own) and a
``buffer_horizon`` (results older than this are refused: they would decide nothing now).
Silence is watched through a synthetic check, ``agent:LOCATION`` of type ``agent``, that the
central daemon qualifies like any other: one incident per silent agent, never one per check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from monitord.config.reader import SecretRef, Table, to_duration
from monitord.config.schema import LOCATION_NAME, CheckConfig

AGENT_TYPE = "agent"
MIN_SILENT_AFTER = 30.0
DEFAULT_HORIZON = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class AgentConfig:
    location: str
    token: SecretRef
    silent_after: float = 0.0  # 0 until resolved: 3 × the shortest interval, at least 30s
    buffer_horizon: float = DEFAULT_HORIZON


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """The spec of the synthetic ``agent:LOCATION`` check (nothing to run: results come
    from the central daemon's own watch of the agent's posts)."""

    location: str

    @property
    def target(self) -> str:
        return f"agent:{self.location}"


def parse_agents(root: Table, central_location: str) -> tuple[AgentConfig, ...]:
    agents: list[AgentConfig] = []
    seen: set[str] = set()
    for _, table in root.tables("agent", name_key="location"):
        location = table.str("location")
        if location and not LOCATION_NAME.fullmatch(location):
            table.error("location", f'expected a name made of a-z 0-9 . _ -, got "{location}"')
        elif location == central_location:
            table.error("location", f'"{location}" is this daemon\'s own location')
        elif location in seen:
            table.error("location", f'duplicate agent location "{location}"')
        seen.add(location)
        token = table.secret("token")
        silent_after = table.optional("silent_after", _duration)
        horizon = table.duration("buffer_horizon", DEFAULT_HORIZON)
        table.finish()
        if token is not None and location:
            agents.append(AgentConfig(location, token, silent_after or 0.0, horizon))
    return tuple(agents)


def _duration(value: object) -> float:
    seconds = to_duration(value)
    if seconds < MIN_SILENT_AFTER:
        raise ValueError(f"expected at least 30s, got {value!r}")
    return seconds


def resolve_silent_after(agents: Sequence[AgentConfig],
                         checks: Sequence[CheckConfig]) -> tuple[AgentConfig, ...]:
    """Fill in the default ``silent_after``: 3 × the shortest interval of the agent's checks
    (at least 30s; 3m when it has no check)."""
    out = []
    for agent in agents:
        if agent.silent_after:
            out.append(agent)
            continue
        intervals = [c.interval for c in checks if c.enabled and agent.location in c.locations]
        shortest = min(intervals, default=60.0)
        out.append(replace(agent, silent_after=max(MIN_SILENT_AFTER, 3 * shortest)))
    return tuple(out)


def agent_check(agent: AgentConfig, central_location: str) -> CheckConfig:
    """The synthetic check whose results say whether the agent posts (confirmed at once)."""
    return CheckConfig(
        name=f"agent:{agent.location}", type=AGENT_TYPE, spec=AgentSpec(agent.location),
        interval=agent.silent_after, retry_interval=agent.silent_after, confirm=1,
        labels={"location": agent.location}, locations=(central_location,),
        description=f"results from the probe agent at {agent.location}",
    )
