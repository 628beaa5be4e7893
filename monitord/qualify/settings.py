"""The settings qualification needs, independent of how the config file spells them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class QualifySettings:
    """Global qualification settings (per-check overrides live on ``CheckConfig``).

    ``stale_factor``: a location whose newest result is older than this many check intervals
    no longer counts for quorum (the contract fixes 3). ``maintenance_poll``: how often held
    problems are re-examined when a maintenance window cannot say when it ends.
    ``silence_retention``: how long an ended silence stays listed before it is forgotten.
    """

    repeat_interval: float = 4 * 3600.0
    flap_low: float = 20.0
    flap_high: float = 30.0
    stale_factor: float = 3.0
    maintenance_poll: float = 60.0
    silence_retention: float = 5 * 86400.0

    def __post_init__(self) -> None:
        if self.repeat_interval <= 0:
            raise ValueError(f"repeat_interval must be positive, got {self.repeat_interval}")
        if not 0 <= self.flap_low <= self.flap_high <= 100:
            raise ValueError(f"expected 0 <= flap_low <= flap_high <= 100, got "
                             f"{self.flap_low} and {self.flap_high}")
        if self.stale_factor <= 0 or self.maintenance_poll <= 0:
            raise ValueError("stale_factor and maintenance_poll must be positive")
