"""Alerting wired into the daemon: results -> qualification -> routing -> grouping -> outbox.

This is the edge around the pure core: it owns the SQLite store, feeds each result to the
pipeline, and commits the pipeline's state changes *and* the outbox rows they produce in one
transaction, so a crash (kill -9 included) neither loses a notification nor repeats one. It
wakes up for the pipeline's own deadlines (group_wait, repeats, silence ends) and for the
instants a route's time intervals change (the morning hand-over).

- ``edge.py``: the :class:`Alerting` class (set-up, the flow, the commit, the loops, reload);
- ``operations.py``: operator actions and read views, mixed into it;
- ``records.py``: the one transaction's writes, and the alert events' log lines;
- ``settings.py``: what is derived from a config (the core's settings, the senders' inputs).
"""

from monitord.alerting.edge import (
    MAX_SLEEP,
    RETENTION_EVERY,
    STATE_FLUSH_EVERY,
    STATE_RETRY,
    STATS_EVERY,
    Alerting,
)
from monitord.alerting.settings import qualify_settings

__all__ = ["MAX_SLEEP", "RETENTION_EVERY", "STATE_FLUSH_EVERY", "STATE_RETRY", "STATS_EVERY",
           "Alerting", "qualify_settings"]
