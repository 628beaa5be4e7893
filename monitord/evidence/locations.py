"""Evidence from the other locations: how every other place sees the check right now.

A site that fails from London only is a broken path, not a dead site: the latest result of
each other location ("OK from frankfurt 95 ms") says so at a glance. Taken from the results
the daemon already has (the per-location table of the confirmed problem), never a new probe.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from monitord.evidence.base import FAILED, OK, found
from monitord.model import Evidence, LocationState, Status, ordered_locations

PROBE = "location"


def location_evidence(locations: Sequence[LocationState], here: str,
                      now: datetime) -> tuple[Evidence, ...]:
    """One item per location other than ``here`` (whose evidence is the probes' own),
    failing ones first, stale ones marked as such."""
    return tuple(
        found(PROBE, s.location, OK if s.status is Status.OK else FAILED,
              s.describe(now, named=False)).item
        for s in ordered_locations(locations) if s.location != here)
