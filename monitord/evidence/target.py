"""What was checked, in one line: the URL (credentials redacted), host:port, zone, device,
domain or plugin command — read from the check's spec by the attributes kinds share, so a kind
added later is named too (its ``target`` at worst)."""

from __future__ import annotations

from collections.abc import Sequence

from monitord.config.schema import CheckConfig
from monitord.evidence.redact import redact_text, redact_url


def describe_target(config: CheckConfig) -> str:
    spec = config.spec
    url = getattr(spec, "url", None)
    if isinstance(url, str) and url:
        return redact_url(url)
    query, record = getattr(spec, "query", None), getattr(spec, "record", None)
    if isinstance(query, str) and isinstance(record, str):
        return f"{record} {query}"
    for name in ("zone", "domain"):
        value = getattr(spec, name, None)
        if isinstance(value, str) and value:
            return value
    command = getattr(spec, "command", None)
    if isinstance(command, (list, tuple)) and command:
        return redact_text(" ".join(str(part) for part in command))
    if isinstance(command, str) and command:
        return redact_text(command)
    host, port = getattr(spec, "host", None), getattr(spec, "port", None)
    if isinstance(host, str) and host and isinstance(port, int):
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        tls = getattr(spec, "tls", None)
        return where + (" over TLS" if tls is True else "")
    return str(spec.target)


def describe_targets(configs: Sequence[CheckConfig]) -> dict[str, str]:
    return {c.name: describe_target(c) for c in configs}
