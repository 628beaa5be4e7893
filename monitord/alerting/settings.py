"""What the alerting edge derives from a config: the core's settings, and the settings the
senders are built from (a reload rebuilds the outbox only when those changed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitord.qualify import QualifySettings

if TYPE_CHECKING:
    from monitord.configfile import Config


def qualify_settings(config: Config) -> QualifySettings:
    a = config.alerting
    # The engine repeats at the shortest interval any route asks for; the grouper then holds
    # back repeats that come sooner than a route's own repeat_interval.
    repeat = min([a.repeat_interval, *(r.repeat_interval for r in config.routes)])
    return QualifySettings(repeat_interval=repeat, flap_low=a.flap_low, flap_high=a.flap_high)


def delivery_settings(config: Config) -> tuple[object, ...]:
    """The settings the senders are built from (external_url goes into every message)."""
    return (config.receivers, config.smtp, config.api.external_url,
            config.alerting.max_delivery_age, config.alerting.receiver_alert_after)
