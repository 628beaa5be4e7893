"""Heartbeats, both ways.

Incoming: the ``heartbeat`` check kind (:mod:`~monitord.heartbeat.check`) reads what its job
pinged, as recorded on the board (:mod:`~monitord.heartbeat.board`, kept in SQLite) by the ping
endpoints (:mod:`~monitord.heartbeat.api`). Outgoing: the daemon's own ping to an external
dead-man's switch while it is healthy (:mod:`~monitord.heartbeat.self_ping`).
"""
