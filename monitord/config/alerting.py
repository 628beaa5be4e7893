"""``[alerting]``: the defaults every part of alerting shares (grouping, flapping, delivery)."""

from __future__ import annotations

from dataclasses import dataclass

from monitord.config.reader import Table, to_str_list
from monitord.config.schema import LABEL_NAME


@dataclass(frozen=True, slots=True)
class AlertingConfig:
    """Defaults for routes (grouping), qualification (flapping) and delivery (outbox)."""

    default_receivers: tuple[str, ...] = ()  # alerts that match no route go there
    group_wait: float = 30.0
    group_interval: float = 300.0
    repeat_interval: float = 4 * 3600.0
    group_by: tuple[str, ...] = ()  # () = one group per receiver
    send_resolved: bool = True
    flap_low: float = 20.0
    flap_high: float = 30.0
    max_delivery_age: float = 24 * 3600.0
    receiver_alert_after: float = 600.0
    evidence_timeout: float = 10.0  # how long a notification may wait for its evidence
    retention: float = 90 * 86400.0  # closed incidents and the notification log


def parse_alerting(table: Table | None) -> AlertingConfig:
    if table is None:
        return AlertingConfig()
    base = AlertingConfig()
    flap_low = table.float("flap_low", base.flap_low, minimum=0.0, maximum=100.0)
    flap_high = table.float("flap_high", base.flap_high, minimum=0.0, maximum=100.0)
    if flap_high <= flap_low:
        table.error("flap_high", f"must be above flap_low ({flap_low:g}), got {flap_high:g}")
    config = AlertingConfig(
        default_receivers=table.str_list("default_receivers"),
        # A zero group_wait is allowed: it sends the first notification of a group at once.
        group_wait=table.duration("group_wait", base.group_wait, positive=False),
        group_interval=table.duration("group_interval", base.group_interval),
        repeat_interval=table.duration("repeat_interval", base.repeat_interval),
        group_by=label_names(table, "group_by", base.group_by),
        send_resolved=table.bool("send_resolved", base.send_resolved),
        flap_low=flap_low,
        flap_high=flap_high,
        max_delivery_age=table.duration("max_delivery_age", base.max_delivery_age),
        receiver_alert_after=table.duration("receiver_alert_after", base.receiver_alert_after),
        evidence_timeout=table.duration("evidence_timeout", base.evidence_timeout),
        retention=table.duration("retention", base.retention),
    )
    table.finish()
    return config


def label_names(table: Table, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """A list of label names (``group_by``), each checked for Prometheus label syntax."""
    names = table.get(key, to_str_list, default)
    for name in names:
        if not LABEL_NAME.fullmatch(name):
            table.error(key, f'"{name}" is not a label name (letters, digits and _, not '
                             f"starting with a digit)")
    if len(set(names)) != len(names):
        table.error(key, "a label is listed twice")
    return names
