"""Benchmark: the whole ``monitord run`` process, measured from outside, beside blackbox_exporter.

Starts, all on loopback and each with its own temporary config:

* nginx (Debian's ``nginx``: ``apt-get install -y --no-install-recommends nginx``) answering
  ``200 ok`` on a free port: the target of every check and probe;
* ``monitord run`` on a generated config of ``--checks`` ``http`` checks at ``--rate`` checks
  per second in all (interval = checks / rate), with its API on loopback — the process users
  run: scheduler, checks, qualification, SQLite state, logs (written to a file, as journald
  would take them);
* when Debian's ``prometheus-blackbox-exporter`` is installed (and unless ``--no-blackbox``),
  blackbox_exporter with an ``http_2xx`` module, driven by a small asyncio client in this
  process at the same target and the same rate, in the same run (``/probe?target=…``, as
  Prometheus would scrape it).

After a warm-up of one interval (every check has run once), it measures ``--windows`` windows
over ``--duration`` seconds, from outside: the CPU time (user + system) of each process from
``/proc/PID/stat``, the daemon's completed runs and scheduler lag from its ``/metrics``, and its
RSS from ``/proc/PID/status``. It prints, per process, the median (and range) over the windows
of CPU-ms per check or probe, and the median of the per-window ratio daemon / blackbox.

    .venv/bin/python bench/daemon.py                            # 5,000 checks at 1,000/s, 30 s
    .venv/bin/python bench/daemon.py --rate 3000 --no-blackbox  # is 3,000 checks/s held?
    .venv/bin/python bench/daemon.py --event-loop asyncio       # compare the event loops

Everything listens on 127.0.0.1; it stops everything it started, at the latest after
``--warmup + --duration`` plus start-up deadlines.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from loopback import free_port, nginx_conf
from yarl import URL

TOKEN = "bench-token"
CLK_TCK = os.sysconf("SC_CLK_TCK")
MAX_CHECKS = 20_000
MAX_RATE = 5_000.0
MAX_DURATION = 600.0

BLACKBOX_CONF = """\
modules:
  http_2xx:
    prober: http
    timeout: 10s
    http:
      preferred_ip_protocol: ip4
      valid_status_codes: [200]
"""

MONITORD_HEAD = """\
[monitord]
location = "bench"
state_dir = "{state}"
log_format = "json"
max_concurrent_checks = 1000
max_checks_per_host = 1000   # every check targets 127.0.0.1
{extra}
[api]
listen = "127.0.0.1:{api_port}"
token_file = "{state}/token"

[defaults]
interval = "{interval}ms"
timeout = "10s"
"""

CHECK = """
[[check]]
name = "bench-{index:05d}"
type = "http"
url = "{base}/check/{index}"
expect_status = [200]
"""



def cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process (and of its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def cpu_seconds(pid: int) -> float:
    return sum(cpu_split(pid))


def memory_mib(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) in MiB, from /proc."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found["VmRSS"], found["VmHWM"]


def find_binary(name: str, *fallbacks: str) -> str | None:
    return shutil.which(name) or next((f for f in fallbacks if os.path.exists(f)), None)


def wait_listening(port: int, process: subprocess.Popen[bytes], what: str,
                   within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with status {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise SystemExit(f"{what} did not start listening on 127.0.0.1:{port}")


@contextlib.contextmanager
def running(command: list[str], port: int, what: str, log: Path,
            env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """A child process listening on ``port``, stopped (TERM, then KILL) on the way out."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=out, env=env)
    try:
        wait_listening(port, process, what)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def monitord_config(directory: Path, args: argparse.Namespace, base: str, api_port: int) -> Path:
    state = directory / "state"
    state.mkdir()
    (state / "token").write_text(TOKEN + "\n")
    extra = "".join(f'{key} = "{value}"\n' for key, value in (
        ("event_loop", args.event_loop), ("log_results", args.log_results)) if value)
    interval_ms = round(args.checks / args.rate * 1000)
    parts = [MONITORD_HEAD.format(state=state, api_port=api_port, interval=interval_ms,
                                  extra=extra)]
    parts += [CHECK.format(index=i, base=base) for i in range(args.checks)]
    path = directory / "monitord.toml"
    path.write_text("".join(parts))
    return path


@dataclass
class Metrics:
    """What the bench reads from the daemon's /metrics."""

    runs: float = 0.0
    lag: dict[str, float] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)


_SAMPLE = re.compile(r'^(\w+)(?:\{([^}]*)\})? (\S+)$')


async def scrape(http: aiohttp.ClientSession, api: str) -> Metrics:
    async with http.get(f"{api}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
        resp.raise_for_status()
        text = await resp.text()
    found = Metrics()
    names = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None:
            continue
        name, labels, value = match[1], match[2] or "", float(match[3])
        if name == "monitord_check_runs_total":
            found.runs = value
        elif name == "monitord_scheduler_lag_seconds":
            found.lag[labels.split('"')[1]] = value
        elif name == "monitord_check_status":
            status = names.get(int(value), "UNKNOWN")
            found.statuses[status] = found.statuses.get(status, 0) + 1
    return found


class BlackboxDriver:
    """Asks blackbox_exporter for ``rate`` probes a second, round-robin over the targets,
    over a few kept-alive connections (as a Prometheus server scraping it would)."""

    def __init__(self, http: aiohttp.ClientSession, base: str, targets: list[str],
                 rate: float, concurrency: int = 400) -> None:
        self.http = http
        # Built once: the driver's own CPU competes with the processes measured.
        self.urls = [URL(f"{base}/probe").with_query(target=t, module="http_2xx")
                     for t in targets]
        self.rate = rate
        self.slots = asyncio.Semaphore(concurrency)
        self.done = 0
        self.failed = 0
        self.dropped = 0  # not sent: every slot busy (blackbox slower than the rate)
        self.tasks: set[asyncio.Task[None]] = set()

    async def _probe(self, url: URL) -> None:
        try:
            async with self.http.get(url) as resp:
                body = await resp.read()
            if resp.status == 200 and b"\nprobe_success 1" in body:
                self.done += 1
            else:
                self.failed += 1
        except (aiohttp.ClientError, OSError):
            self.failed += 1
        finally:
            self.slots.release()

    async def run(self) -> None:
        """Until cancelled: start ``rate`` probes a second, paced every 10 ms."""
        start, sent, index = time.monotonic(), 0, 0
        try:
            while True:
                due = int((time.monotonic() - start) * self.rate)
                for _ in range(due - sent):
                    if self.slots.locked():
                        self.dropped += 1
                        continue
                    await self.slots.acquire()
                    task = asyncio.create_task(self._probe(self.urls[index]))
                    self.tasks.add(task)
                    task.add_done_callback(self.tasks.discard)
                    index = (index + 1) % len(self.urls)
                sent = due
                await asyncio.sleep(0.01)
        finally:
            for task in list(self.tasks):
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)


@dataclass
class Window:
    seconds: float
    runs: float
    daemon_cpu: float
    probes: int = 0
    blackbox_cpu: float = 0.0
    others_cpu: float = 0.0  # nginx and this bench (its blackbox driver): the box's load
    daemon_sys: float = 0.0  # the kernel's part of daemon_cpu

    @property
    def daemon_ms(self) -> float:
        return self.daemon_cpu / self.runs * 1000 if self.runs else float("nan")

    @property
    def blackbox_ms(self) -> float:
        return self.blackbox_cpu / self.probes * 1000 if self.probes else float("nan")


@dataclass
class Figures:
    windows: list[Window]
    lag: dict[str, float]
    statuses: dict[str, int]
    rss: tuple[float, float]
    log_bytes: int
    blackbox: BlackboxDriver | None


def others_cpu(nginx: int) -> float:
    """CPU seconds of nginx (master and workers) and of this process."""
    total = cpu_seconds(os.getpid())
    for child in Path(f"/proc/{nginx}/task/{nginx}/children").read_text().split():
        total += cpu_seconds(int(child))
    return total + cpu_seconds(nginx)


async def measure(args: argparse.Namespace, daemon: int, api: str, blackbox: int | None,
                  blackbox_url: str, targets: list[str], log: Path, nginx: int) -> Figures:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        driver = driver_task = None
        if blackbox is not None:
            driver = BlackboxDriver(http, blackbox_url, targets, args.rate)
            driver_task = asyncio.create_task(driver.run())
        try:
            await asyncio.sleep(args.warmup)
            windows: list[Window] = []
            before = await scrape(http, api)
            cpu0, sys0 = cpu_seconds(daemon), cpu_split(daemon)[1]
            bb0 = cpu_seconds(blackbox) if blackbox is not None else 0.0
            probes0 = driver.done if driver else 0
            other0 = others_cpu(nginx)
            log0, wall0 = os.stat(log).st_size, time.monotonic()
            for _ in range(args.windows):
                await asyncio.sleep(args.duration / args.windows)
                after = await scrape(http, api)
                cpu1, sys1, wall1 = cpu_seconds(daemon), cpu_split(daemon)[1], time.monotonic()
                other1 = others_cpu(nginx)
                window = Window(wall1 - wall0, after.runs - before.runs, cpu1 - cpu0,
                                others_cpu=other1 - other0, daemon_sys=sys1 - sys0)
                sys0 = sys1
                other0 = other1
                if blackbox is not None and driver is not None:
                    bb1, probes1 = cpu_seconds(blackbox), driver.done
                    window.probes, window.blackbox_cpu = probes1 - probes0, bb1 - bb0
                    bb0, probes0 = bb1, probes1
                windows.append(window)
                before, cpu0, wall0 = after, cpu1, wall1
            log_bytes = os.stat(log).st_size - log0
        finally:
            if driver_task is not None:
                driver_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await driver_task
    return Figures(windows, before.lag, before.statuses, memory_mib(daemon), log_bytes, driver)


def spread(values: list[float], fmt: str = "{:.3f}") -> str:
    """Median (min–max) of a list of figures."""
    good = [v for v in values if v == v]  # drop NaN
    if not good:
        return "n/a"
    text = fmt.format(statistics.median(good))
    if len(good) > 1:
        text += f" ({fmt.format(min(good))}–{fmt.format(max(good))})"
    return text


def report(args: argparse.Namespace, figures: Figures, loop: str) -> None:
    windows = figures.windows
    seconds = sum(w.seconds for w in windows)
    runs = sum(w.runs for w in windows)
    interval = args.checks / args.rate
    rows = [
        ("daemon", f"{args.checks} http checks every {interval:g}s "
                   f"(planned {args.rate:g}/s), event loop {loop}, {args.windows} windows "
                   f"over {seconds:.0f}s"),
        ("sustained", f"{runs / seconds:.0f} checks/s ({runs:.0f} runs); last results: "
                      + ", ".join(f"{n} {s}" for s, n in sorted(figures.statuses.items()))),
        ("daemon CPU", f"{spread([w.daemon_ms for w in windows])} ms per check (kernel "
                       f"{spread([w.daemon_sys / w.daemon_cpu * 100 for w in windows], '{:.0f}')}"
                       f" %); {spread([w.daemon_cpu / w.seconds * 100 for w in windows], '{:.0f}')}"
                       f" % of one core"),
        ("scheduler lag", ", ".join(f"p{float(q) * 100:g} {v * 1000:.1f} ms"
                                    for q, v in figures.lag.items()) + " (recent runs)"),
        ("daemon RSS", f"{figures.rss[0]:.0f} MiB now, {figures.rss[1]:.0f} MiB peak"),
        ("daemon logs", f"{figures.log_bytes / runs:.0f} bytes per check" if runs else "n/a"),
    ]
    driver = figures.blackbox
    if driver is not None:
        probes = sum(w.probes for w in windows)
        ratios = [w.daemon_ms / w.blackbox_ms for w in windows if w.probes and w.runs]
        rows += [
            ("blackbox", f"{probes / seconds:.0f} probes/s ({probes} ok, {driver.failed} "
                         f"failed, {driver.dropped} not sent)"),
            ("blackbox CPU", f"{spread([w.blackbox_ms for w in windows])} ms per probe"),
            ("ratio", f"{spread(ratios, '{:.2f}')} × blackbox's CPU per check"
                      f"  [target ≤ 0.6]"),
        ]
    elif args.no_blackbox:
        rows.append(("blackbox", "not run (--no-blackbox)"))
    else:
        rows.append(("blackbox", "not run (apt-get install prometheus-blackbox-exporter)"))
    busy = [(w.daemon_cpu + w.blackbox_cpu + w.others_cpu) / w.seconds for w in windows]
    rows.append(("whole box", f"{spread(busy, '{:.2f}')} cores busy with the processes above "
                              f"(nginx, this bench's driver: "
                              f"{spread([w.others_cpu / w.seconds for w in windows], '{:.2f}')}"
                              f"); of {os.cpu_count()}"))
    width = max(len(name) for name, _ in rows)
    for name, text in rows:
        print(f"{name:<{width}}  {text}")


def run_loop(main: Coroutine[None, None, Figures]) -> Figures:
    """The driver on uvloop when installed: its CPU competes with what is measured."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--checks", type=int, default=5000, help="number of checks (5000)")
    parser.add_argument("--rate", type=float, default=1000.0,
                        help="checks per second in all, and blackbox probes per second (1000)")
    parser.add_argument("--duration", type=float, default=30.0,
                        help="seconds measured after the warm-up (30)")
    parser.add_argument("--windows", type=int, default=5,
                        help="measurement windows, for medians (5)")
    parser.add_argument("--warmup", type=float,
                        help="seconds before measuring (default: one interval + 2 s)")
    parser.add_argument("--event-loop", choices=("auto", "asyncio", "uvloop"),
                        help="[monitord] event_loop of the daemon (default: its default)")
    parser.add_argument("--log-results", choices=("changes", "all"),
                        help="[monitord] log_results of the daemon (default: its default)")
    parser.add_argument("--no-blackbox", action="store_true", help="do not run blackbox")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory (configs, logs) and print it")
    args = parser.parse_args()
    if not 1 <= args.checks <= MAX_CHECKS or not 0 < args.rate <= MAX_RATE:
        parser.error(f"--checks must be 1..{MAX_CHECKS} and --rate 0..{MAX_RATE:g}")
    if not 0 < args.duration <= MAX_DURATION or args.windows < 1:
        parser.error(f"--duration must be 0..{MAX_DURATION:g} s and --windows ≥ 1")
    if args.warmup is None:
        args.warmup = args.checks / args.rate + 2.0
    args.warmup = min(args.warmup, MAX_DURATION)

    nginx = find_binary("nginx", "/usr/sbin/nginx")
    if nginx is None:
        raise SystemExit("nginx is needed: apt-get install -y --no-install-recommends nginx")
    blackbox_bin = None if args.no_blackbox else find_binary(
        "prometheus-blackbox-exporter", "/usr/bin/prometheus-blackbox-exporter")

    with contextlib.ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(
            prefix="monitord-bench-daemon-")) if not args.keep
            else tempfile.mkdtemp(prefix="monitord-bench-daemon-"))
        if args.keep:
            print(f"files in {directory}")
        web_port, api_port, bb_port = free_port(), free_port(), free_port()
        (directory / "nginx.conf").write_text(nginx_conf(directory, web_port, connections=8192,
                                                         error_log="nginx-error.log"))
        nginx_process = stack.enter_context(running(
            [nginx, "-c", str(directory / "nginx.conf"), "-p", str(directory),
             "-e", str(directory / "nginx-error.log")], web_port, "nginx",
            directory / "nginx.out"))
        base = f"http://127.0.0.1:{web_port}"

        config = monitord_config(directory, args, base, api_port)
        log = directory / "monitord.log"
        daemon = stack.enter_context(running(
            [sys.executable, "-m", "monitord", "run", "-c", str(config)], api_port,
            "monitord run", log))
        blackbox_pid = None
        if blackbox_bin is not None:
            (directory / "blackbox.yml").write_text(BLACKBOX_CONF)
            blackbox = stack.enter_context(running(
                [blackbox_bin, f"--config.file={directory / 'blackbox.yml'}",
                 f"--web.listen-address=127.0.0.1:{bb_port}", "--log.level=warn"],
                bb_port, "blackbox_exporter", directory / "blackbox.log"))
            blackbox_pid = blackbox.pid
        targets = [f"{base}/check/{i}" for i in range(args.checks)]
        figures = run_loop(measure(
            args, daemon.pid, f"http://127.0.0.1:{api_port}", blackbox_pid,
            f"http://127.0.0.1:{bb_port}", targets, log, nginx_process.pid))
        loop = "?"
        for line in log.read_text(errors="replace").splitlines():
            if '"event": "started"' in line:
                found = re.search(r'"event_loop": "(\w+)"', line)
                loop = found[1] if found else "asyncio"
                break
    report(args, figures, loop)


if __name__ == "__main__":
    main()
