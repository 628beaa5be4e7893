"""A ``monitord run`` subprocess whose JSON log lines the test reads as they come."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from monitord.compat import timeout


class Proc:
    """A ``monitord run`` subprocess whose JSON log lines are read as they come."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[dict[str, Any]] = []

    async def wait_for(self, event: str, within: float = 20.0, since: int = 0,
                       **fields: Any) -> dict[str, Any]:
        """The first matching log line at index ``since`` or later, reading more as needed."""
        async with timeout(within):
            for line in self.lines[since:]:
                if line.get("event") == event and all(line.get(k) == v for k, v in fields.items()):
                    return line
            while True:
                assert self.proc.stderr is not None
                raw = await self.proc.stderr.readline()
                if not raw:
                    raise AssertionError(f"daemon exited before {event!r}: {self.lines[-5:]}")
                try:
                    line = json.loads(raw)
                except ValueError:
                    line = {"event": "raw", "text": raw.decode(errors="replace")}
                self.lines.append(line)
                if line.get("event") == event and all(line.get(k) == v for k, v in fields.items()):
                    return line


def on_test_loop(config: Path) -> Path:
    """Set ``[monitord] event_loop`` in the file to the loop this test run uses, so the
    daemons of the suite run on the loop CI chose (see tests/conftest.py)."""
    from tests.conftest import EVENT_LOOP

    line = f'event_loop = "{EVENT_LOOP}"'
    text = config.read_text()
    if line in text:  # a test that starts the daemon again on the same file
        return config
    head, found, tail = text.partition("[monitord]\n")
    config.write_text(f"{head}[monitord]\n{line}\n{tail}" if found
                      else f"[monitord]\n{line}\n{text}")
    return config


async def start_daemon(config: Path) -> Proc:
    on_test_loop(config)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitord", "run", "-c", str(config),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    return Proc(proc)
