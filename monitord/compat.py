"""asyncio.TaskGroup and asyncio.timeout on every supported Python (3.10 uses a backport)."""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    from asyncio import TaskGroup, timeout
else:  # pragma: no cover - exercised on Python 3.10 only
    from taskgroup import TaskGroup, timeout

__all__ = ["TaskGroup", "timeout"]
