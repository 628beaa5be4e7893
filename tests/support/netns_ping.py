"""Run one ``icmp`` check inside a network namespace of its own, and print its outcome.

    python -m tests.support.netns_ping '{"check": {...}, "ping_groups": "0 2147483647",
                                         "echo_delay": 0.05}'

Started by :func:`tests.support.netns.run_icmp_in_netns` under ``unshare -n``: the namespace
has only its own loopback, so its sysctls (``net.ipv4.ping_group_range``, whether the kernel
answers pings) can be set freely without touching the machine's. ``echo_delay`` turns the
kernel's echo replies off and answers from a raw socket after that many seconds (a slow host);
a negative delay answers nothing (a host that drops pings).
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from monitord.checks import icmp
from monitord.checks._icmp_socket import checksum
from monitord.checks.base import check_env
from monitord.clock import SystemClock
from tests.support.dnszones import make_check

SYSCTL = Path("/proc/sys/net")


def answer_slowly(delay: float) -> None:
    """Answer IPv4 echo requests on loopback after ``delay`` seconds (never if negative)."""
    (SYSCTL / "ipv4/icmp_echo_ignore_all").write_text("1")
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)

    def serve() -> None:
        while True:
            packet, (source, _) = sock.recvfrom(65535)
            icmp_part = packet[(packet[0] & 0x0F) * 4:]
            if icmp_part[:1] != b"\x08" or delay < 0:
                continue
            body = b"\x00\x00\x00\x00" + icmp_part[4:]
            reply = body[:2] + checksum(body).to_bytes(2, "big") + body[4:]
            threading.Timer(delay, sock.sendto, (reply, (source, 0))).start()

    threading.Thread(target=serve, daemon=True).start()


async def probe(data: dict[str, Any], limit: float) -> dict[str, Any]:
    async with check_env(SystemClock(), "here") as env:
        outcome = await icmp.KIND.build(make_check(icmp.KIND, data, timeout=limit), env).run()
    return {"status": outcome.status.name, "phase": outcome.phase and outcome.phase.value,
            "summary": outcome.summary, "metrics": dict(outcome.metrics)}


def main() -> None:
    args = json.loads(sys.argv[1])
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    if args.get("ping_groups") is not None:
        (SYSCTL / "ipv4/ping_group_range").write_text(args["ping_groups"])
    if args.get("echo_delay") is not None:
        answer_slowly(float(args["echo_delay"]))
    print(json.dumps(asyncio.run(probe(args["check"], float(args.get("timeout", 5.0))))))


if __name__ == "__main__":
    main()
