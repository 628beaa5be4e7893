"""Run an ``icmp`` check in a network namespace of its own (see :mod:`tests.support.netns_ping`).

The namespace needs ``unshare -n`` (root, or CAP_SYS_ADMIN); :data:`WHY_NOT` says why it
cannot be had on this machine, or is empty when it can.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _why_not() -> str:
    for tool in ("unshare", "setpriv", "ip"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    probe = subprocess.run(["unshare", "-n", "ip", "link", "set", "lo", "up"],
                           capture_output=True, text=True, check=False)
    if probe.returncode:
        return ("cannot create a network namespace here (unshare -n: "
                f"{probe.stderr.strip() or probe.returncode})")
    return ""


WHY_NOT = _why_not()


def run_icmp_in_netns(check: dict[str, Any], *, ping_groups: str | None = None,
                      echo_delay: float | None = None, without_net_raw: bool = False,
                      timeout: float = 5.0) -> dict[str, Any]:
    """The outcome (status, phase, summary, metrics) of one run of ``check`` in a fresh
    network namespace; ``without_net_raw`` drops CAP_NET_RAW from the process first."""
    args = json.dumps({"check": check, "ping_groups": ping_groups, "echo_delay": echo_delay,
                       "timeout": timeout})
    command = ["unshare", "-n"]
    if without_net_raw:
        command += ["setpriv", "--inh-caps=-net_raw", "--ambient-caps=-net_raw",
                    "--bounding-set=-net_raw"]
    command += [sys.executable, "-m", "tests.support.netns_ping", args]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False,
                          timeout=timeout + 20)
    if done.returncode:
        raise RuntimeError(f"{command} failed ({done.returncode}): {done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result
