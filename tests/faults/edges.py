"""What the edge fault tests share: a minimal config and a one-shot ``monitord`` run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

TOKEN = "api-t0ken-for-faults"


def config_text(state: Path, api_port: int, extra_monitord: str = "", extra: str = "") -> str:
    """A daemon with one TCP check to a closed loopback port and the API on ``api_port``."""
    return textwrap.dedent(f"""
        [monitord]
        location = "test"
        state_dir = "{state}"
        log_format = "json"
        log_results = "all"
        {extra_monitord}
        [api]
        listen = "127.0.0.1:{api_port}"
        token_file = "{state / 'token'}"
        [[check]]
        name = "tcp-closed"
        type = "tcp"
        host = "127.0.0.1"
        port = 9
        interval = "1s"
    """) + textwrap.dedent(extra)


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str


def monitord(*args: str, cwd: Path | None = None, wait: float = 20.0) -> Outcome:
    """Run ``monitord ARGS`` to its end (a daemon that starts is stopped by the timeout)."""
    proc = subprocess.run(
        [sys.executable, "-m", "monitord", *args], capture_output=True, text=True, cwd=cwd,
        timeout=wait, env={**os.environ, "PYTHONUNBUFFERED": "1"}, check=False,
    )
    return Outcome(proc.returncode, proc.stdout, proc.stderr)
