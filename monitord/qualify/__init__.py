"""Qualification: check results -> confirmed, deduplicated, explained alert events -> groups.

The pure core (no clock, no I/O) is :class:`Qualifier` and :class:`Grouper`; their state is
saved and restored by :mod:`monitord.qualify_store`.
"""

from monitord.qualify.codec import QualifyChanges
from monitord.qualify.engine import Qualifier, UnknownIncident
from monitord.qualify.grouping import GroupChanges, Grouper
from monitord.qualify.settings import QualifySettings
from monitord.qualify.silences import MaintenanceWindow, Silence, UnknownSilence
from monitord.qualify.snapshot import CheckView, IncidentView, LocationView

__all__ = [
    "CheckView",
    "GroupChanges",
    "Grouper",
    "IncidentView",
    "LocationView",
    "MaintenanceWindow",
    "Qualifier",
    "QualifyChanges",
    "QualifySettings",
    "Silence",
    "UnknownIncident",
    "UnknownSilence",
]
