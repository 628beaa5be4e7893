"""Benchmark: 500 SNMP ``interfaces`` checks of a 48-port device, round after round.

Starts net-snmp ``snmpd`` on a loopback port (its own config and persistent directory) with
48 interfaces answered by snmpd itself (``override`` lines, no helper process), so the agent
is as fast as it gets and its CPU is not counted as ours. Each round runs every check once
through the real check code (shared SnmpEngine, GETBULK walk of five IF-MIB columns side by
side, evaluation), at most ``--concurrency`` at a time. Printed, after a warm-up round:

* rounds per second and polls per second,
* CPU seconds (user + system, this process only) per 1,000 polls,
* snmpd's CPU seconds per 1,000 polls, for scale,
* SNMP requests per poll.

Run: .venv/bin/python bench/snmp.py [--checks 500] [--ports 48] [--rounds 5] [--version 3]
Loopback only; it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support

from monitord.checks.base import check_env
from monitord.checks.kind import Check
from monitord.clock import SystemClock
from monitord.config.reader import Problems, Table
from monitord.config.schema import CheckConfig
from monitord.model import Status
from monitord.snmp.kind import KIND
from monitord.snmp.spec import parse
from tests.support.snmpd import SnmpAgent, V3User, switch_ports

USER = V3User("bench", "benchauth123", "benchpriv123")


def agent_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def configs(count: int, port: int, version: str, secrets: Path) -> list[CheckConfig]:
    keys: dict[str, object] = {"host": "127.0.0.1", "port": port, "version": version}
    if version == "3":
        keys.update(user=USER.name, auth_key_file=str(secrets / "auth"),
                    priv_key_file=str(secrets / "priv"))
    else:
        keys["community_file"] = str(secrets / "community")
    found = []
    for number in range(count):
        problems = Problems("bench")
        spec = parse(Table(problems, "check", keys))
        assert not problems, problems.errors
        found.append(CheckConfig(name=f"switch-{number}", type="snmp", spec=spec, timeout=10.0))
    return found


async def bench(args: argparse.Namespace, agent: SnmpAgent, secrets: Path) -> None:
    assert agent.process is not None
    async with check_env(SystemClock(), "bench") as env:
        checks: list[Check] = [KIND.build(c, env) for c in
                               configs(args.checks, agent.port, args.version, secrets)]
        gate = asyncio.Semaphore(args.concurrency)
        requests = 0

        async def one(check: Check) -> None:
            nonlocal requests
            async with gate:
                outcome = await check.run()
            if outcome.status is not Status.OK or outcome.summary != f"{args.ports} interfaces up":
                raise SystemExit(f"unexpected outcome: {outcome}")
            requests += int(outcome.metrics["requests"])

        async def round_() -> None:
            await asyncio.gather(*(one(check) for check in checks))

        await round_()  # warm-up: engine, MIB view, target caches
        requests = 0
        cpu, agent_start, start = time.process_time(), agent_cpu(agent.process.pid), \
            time.perf_counter()
        for _ in range(args.rounds):
            await round_()
        wall = time.perf_counter() - start
        cpu = time.process_time() - cpu
        agent_used = agent_cpu(agent.process.pid) - agent_start
    polls = args.checks * args.rounds
    print(f"SNMPv{args.version} interfaces checks: {args.checks} checks x {args.rounds} rounds, "
          f"{args.ports} ports each, concurrency {args.concurrency}")
    print(f"  rounds/s:                 {args.rounds / wall:.3f}  "
          f"({wall / args.rounds:.2f} s per round of {args.checks})")
    print(f"  polls/s:                  {polls / wall:.1f}")
    print(f"  CPU s per 1,000 polls:    {cpu / polls * 1000:.2f}  (monitord process)")
    print(f"  snmpd CPU s per 1,000:    {agent_used / polls * 1000:.2f}  (the agent, for scale)")
    print(f"  SNMP requests per poll:   {requests / polls:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checks", type=int, default=500)
    parser.add_argument("--ports", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--version", choices=("2c", "3"), default="2c")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="monitord-bench-snmp-") as tmp:
        workdir = Path(tmp)
        (workdir / "community").write_text("public\n")
        (workdir / "auth").write_text(USER.auth_key + "\n")
        (workdir / "priv").write_text(f"{USER.priv_key}\n")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        agent = SnmpAgent(workdir / "agent", port, users=(USER,), backend="override")
        agent.set_interfaces(switch_ports(args.ports))
        agent.start()
        try:
            asyncio.run(bench(args, agent, workdir))
        finally:
            agent.stop()


if __name__ == "__main__":
    main()
