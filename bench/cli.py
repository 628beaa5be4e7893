"""Benchmark: start-up time of each ``monitord`` command, measured as whole processes.

Each command is run ``--runs`` times as ``python -m monitord …`` (a fresh interpreter each
time, as an operator types it); the table shows the median and the fastest wall-clock time.
Client commands (``status``, ``ack``, ``silence``) are pointed at a closed loopback port, so
they measure start-up plus one refused connection. Config commands read
``config.example.toml`` (validated only: no check of it is run).

    .venv/bin/python bench/cli.py              # 9 runs per command
    .venv/bin/python bench/cli.py --runs 21

It only talks to 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = str(ROOT / "config.example.toml")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def commands() -> dict[str, list[str]]:
    api = f"http://127.0.0.1:{closed_port()}"
    return {
        "--version": ["--version"],
        "--help": ["--help"],
        "check-config": ["check-config", "-c", EXAMPLE],
        "routes": ["routes", "-c", EXAMPLE, "--at", "2026-03-30T22:00:00+02:00",
                   "--label", "severity=critical"],
        "status": ["status", "-c", EXAMPLE, "--api", api],
        "ack": ["ack", "-c", EXAMPLE, "--api", api, "abc123"],
        "silence": ["silence", "list", "-c", EXAMPLE, "--api", api],
    }


def time_once(argv: list[str]) -> float:
    env = {**os.environ, "MONITORD_API_TOKEN": "bench"}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "monitord", *argv], env=env, cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    baseline = [time_once_python() for _ in range(args.runs)]
    print(f"{'command':<14} {'median':>8} {'fastest':>8}")
    print(f"{'(python -c pass)':<14} {statistics.median(baseline) * 1000:>6.0f}ms "
          f"{min(baseline) * 1000:>6.0f}ms")
    for name, argv in commands().items():
        times = [time_once(argv) for _ in range(args.runs)]
        print(f"{name:<14} {statistics.median(times) * 1000:>6.0f}ms "
              f"{min(times) * 1000:>6.0f}ms")


def time_once_python() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=False)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
