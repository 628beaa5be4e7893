"""Evidence and changes as plain text, one finding a line (email, Alertmanager, the CLI).

Imports only the model: the notifiers render evidence without pulling in the probes.
"""

from __future__ import annotations

from collections.abc import Sequence

from monitord.model import Evidence

_MARK = {"ok": "ok", "failed": "FAILED", "unfinished": "UNFINISHED"}


def evidence_line(item: Evidence) -> str:
    """``FAILED connect 192.0.2.99:443: Connection refused``."""
    return f"{_MARK.get(item.status, item.status)} {item.probe} {item.target}: {item.detail}"


def evidence_text(evidence: Sequence[Evidence]) -> str:
    return "\n".join(evidence_line(e) for e in evidence)


def changes_text(changes: Sequence[str]) -> str:
    return "\n".join(changes)
