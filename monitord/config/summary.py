"""A check's configuration as short text lines, safe to show on a page.

Secret references show where the secret lives, never its value; URL credentials become
``user:***@``; header values and keys whose names suggest a secret are hidden.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from monitord.config.durations import format_duration
from monitord.config.reader import SecretRef
from monitord.config.schema import CheckConfig

SECRETISH = re.compile(r"pass|secret|token|key|auth|cookie|community", re.IGNORECASE)
URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^/@:\s]*)(:[^/@\s]*)?@",
                             re.IGNORECASE)
MAX_VALUE = 300


def redact_url(text: str) -> str:
    """``https://bob:hunter2@host/`` → ``https://bob:***@host/`` (also inside longer text)."""
    return URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)


def _text(name: str, value: Any) -> str:
    if isinstance(value, SecretRef):
        return f"(secret: {value.describe()})"
    if isinstance(value, re.Pattern):
        value = value.pattern
    elif isinstance(value, Mapping):
        value = ", ".join(f"{k}: {'***' if SECRETISH.search(str(k)) else _text(str(k), v)}"
                          for k, v in value.items())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = ", ".join(f"{f.name}={_text(f.name, getattr(value, f.name))}"
                          for f in dataclasses.fields(value))
    elif isinstance(value, (list, tuple)):
        value = ", ".join(_text(name, v) for v in value)
    elif isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, float) and name in ("max_response_time", "warn_before",
                                               "crit_before", "period", "grace"):
        value = format_duration(value)
    text = redact_url(str(value))
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE] + "…"


def describe(check: CheckConfig) -> list[tuple[str, str]]:
    """(key, value) lines: the common keys first, then the kind's own."""
    lines = [("type", check.type), ("interval", format_duration(check.interval)),
             ("retry_interval", format_duration(check.retry_interval)),
             ("timeout", format_duration(check.timeout)), ("confirm", str(check.confirm)),
             ("locations", ", ".join(check.locations)), ("quorum", str(check.quorum))]
    if check.labels:
        lines.append(("labels", ", ".join(f"{k}={v}" for k, v in check.labels.items())))
    if check.depends_on:
        lines.append(("depends_on", ", ".join(check.depends_on)))
    if check.description:
        lines.append(("description", check.description))
    spec: Any = check.spec  # a kind's frozen dataclass
    if dataclasses.is_dataclass(spec) and not isinstance(spec, type):
        for f in dataclasses.fields(spec):
            value = getattr(spec, f.name)
            if value in (None, "", (), {}):
                continue
            if SECRETISH.search(f.name) and not isinstance(value, SecretRef):
                lines.append((f.name, "***"))
            else:
                lines.append((f.name, _text(f.name, value)))
    return lines
