"""What the engine keeps per configured check."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType

from monitord.config.schema import CheckConfig
from monitord.model import Status
from monitord.qualify.confirm import Confirmation
from monitord.qualify.flapping import FlapState
from monitord.qualify.incidents import Incident


class CheckState:
    """Confirmation per location, the check-level verdict, flap history, open incident.

    ``status`` is the confirmed status of the check as a whole (OK unless quorum says
    otherwise); ``down`` is what dependent checks see: a confirmed problem, or one being
    confirmed at any location.
    """

    __slots__ = ("config", "down", "flap", "incident", "labels", "last_incident_id",
                 "locations", "since", "status")

    def __init__(self, config: CheckConfig) -> None:
        self.config = config
        self.labels: Mapping[str, str] = MappingProxyType(config.alert_labels())
        self.locations: dict[str, Confirmation] = {name: Confirmation()
                                                   for name in config.locations}
        self.status = Status.OK
        self.since: datetime | None = None
        self.flap = FlapState()
        self.incident: Incident | None = None
        self.last_incident_id = ""
        self.down = False

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def steady(self) -> bool:
        """OK, no incident, a full history of OK: an OK result at a quiet location is a no-op."""
        flap = self.flap
        return (self.incident is None and self.status is Status.OK and flap.steady
                and not flap.flapping and flap.history[-1] == Status.OK)

    def reconfigure(self, config: CheckConfig) -> None:
        """Take a new config of the same check; locations no longer listed are forgotten."""
        self.config = config
        self.labels = MappingProxyType(config.alert_labels())
        self.locations = {name: self.locations.get(name) or Confirmation()
                          for name in config.locations}

    def refresh_down(self) -> bool:
        """Recompute ``down``; True when it changed."""
        down = self.status.is_problem or any(c.pending for c in self.locations.values())
        changed = down != self.down
        self.down = down
        return changed
