"""The ``nagios`` check: run a Nagios / Monitoring Plugins executable and read its verdict.

- ``command`` is an argv list, executed directly — never through a shell, so nothing in it is
  expanded or interpreted. A single string is a config error (it would need a shell to split).
- The plugin gets a small fixed environment (``PATH`` with the usual plugin directories,
  ``LANG=C.UTF-8``) plus the check's ``env``; the daemon's own environment, which may hold
  secrets given as ``*_env``, is never passed on.
- Exit status 0/1/2/3 is OK/WARNING/CRITICAL/UNKNOWN, anything else (or death by a signal)
  UNKNOWN. A problem the plugin reports is in phase ``plugin``.
- The summary is the first output line before ``|``; the long output follows it on the next
  lines, at most :data:`LONG_LINES` lines and :data:`LONG_CHARS` characters. Perfdata become
  metrics (see :mod:`monitord.checks._perfdata`).
- At most :data:`MAX_OUTPUT` bytes of standard output are kept (and :data:`MAX_STDERR` of
  standard error, shown only when standard output is empty); the rest is read and dropped so
  the plugin never blocks on a full pipe.
- Each run is the leader of its own process group. At the timeout, or when the run is
  cancelled, the whole group is killed (SIGKILL) and the plugin reaped: a hung plugin leaves
  nothing behind unless it moved a child to a session of its own.
- At most :data:`MAX_PROCESSES` plugins run at once in a daemon; a run waits for a slot
  (inside its timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from dataclasses import dataclass, field

from monitord.checks._perfdata import as_metrics, split_output
from monitord.checks.base import CheckEnv
from monitord.checks.nagios_spec import KIND, NagiosSpec, parse
from monitord.compat import timeout
from monitord.config.durations import format_duration
from monitord.config.schema import CheckConfig
from monitord.model import Outcome, Phase, Status

__all__ = ["KIND", "NagiosCheck", "NagiosSpec", "parse"]

MAX_PROCESSES = 32
MAX_OUTPUT = 64 * 1024
MAX_STDERR = 4 * 1024
LONG_LINES = 20
LONG_CHARS = 4000
SUMMARY_CHARS = 500
CHUNK = 64 * 1024
KILL_WAIT = 5.0  # seconds for a killed plugin to be reaped
PLUGIN_PATH = ("/usr/lib/nagios/plugins:/usr/lib/monitoring-plugins:/usr/local/sbin:"
               "/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
SLOTS = "nagios.slots"


async def _slots(env: CheckEnv) -> asyncio.Semaphore:
    async def make() -> asyncio.Semaphore:
        return asyncio.Semaphore(MAX_PROCESSES)

    return await env.resource(SLOTS, make)


@dataclass
class _Captured:
    data: bytearray = field(default_factory=bytearray)
    total: int = 0


async def _read_bounded(stream: asyncio.StreamReader | None, keep: int) -> _Captured:
    captured = _Captured()
    if stream is None:
        return captured
    while chunk := await stream.read(CHUNK):
        captured.total += len(chunk)
        room = keep - len(captured.data)
        if room > 0:
            captured.data += chunk[:room]
    return captured


class NagiosCheck:
    def __init__(self, config: CheckConfig, env: CheckEnv) -> None:
        assert isinstance(config.spec, NagiosSpec)
        self.spec: NagiosSpec = config.spec
        self.env = env
        self.timeout = config.timeout
        self.environment = {"PATH": PLUGIN_PATH, "LANG": "C.UTF-8", **self.spec.env}

    async def run(self) -> Outcome:
        # Stop a little before the runner would, to kill the plugin and say so ourselves.
        limit = max(self.timeout * 0.95, self.timeout - 0.5)
        slots = await _slots(self.env)
        process: asyncio.subprocess.Process | None = None
        done = False
        try:
            async with timeout(limit), slots:
                try:
                    process = await asyncio.create_subprocess_exec(
                        *self.spec.command, stdin=asyncio.subprocess.DEVNULL,
                        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                        env=self.environment, start_new_session=True,
                    )
                except OSError as exc:
                    return Outcome(Status.UNKNOWN, f"cannot run {self.spec.command[0]}: "
                                   f"{exc.strerror or exc}", Phase.INTERNAL)
                out, err = await asyncio.gather(_read_bounded(process.stdout, MAX_OUTPUT),
                                                _read_bounded(process.stderr, MAX_STDERR))
                code = await process.wait()
                done = True
        except TimeoutError:
            took = format_duration(self.timeout)
            if process is None:
                return Outcome(Status.CRITICAL, f"no free plugin slot within {took} "
                                                f"({MAX_PROCESSES} plugins already running)",
                               Phase.TIMEOUT)
            return Outcome(Status.CRITICAL, f"{self._program()} gave no result within {took} "
                                            "(killed with its process group)", Phase.TIMEOUT)
        finally:
            if process is not None and not done:  # timed out or cancelled
                await _kill_group(process)
        return self._verdict(code, out, err)

    def _program(self) -> str:
        return os.path.basename(self.spec.command[0])

    def _verdict(self, code: int, out: _Captured, err: _Captured) -> Outcome:
        text = out.data.decode("utf-8", errors="replace")
        output = split_output(text)
        summary = output.summary
        extra = list(output.long_output)
        if not summary and not text.strip():
            stderr = err.data.decode("utf-8", errors="replace").strip().splitlines()
            summary = stderr[0] if stderr else f"{self._program()}: no output"
            extra = stderr[1:]
        if code < 0:
            status = Status.UNKNOWN
            summary = f"{self._program()} killed by signal {-code}: {summary}"
        elif code > 3:
            status = Status.UNKNOWN
            summary = f"{self._program()} exited with status {code}: {summary}"
        else:
            status = Status(code)
        full = _bounded(summary, extra)
        if out.total > MAX_OUTPUT:
            full += f"\n(output truncated: {out.total} bytes, the first {MAX_OUTPUT} kept)"
        metrics = as_metrics(output.perfdata)
        return Outcome(status, full, None if status is Status.OK else Phase.PLUGIN, metrics)


def _bounded(summary: str, long_output: list[str]) -> str:
    """The summary line, then at most LONG_LINES lines / LONG_CHARS characters more."""
    if len(summary) > SUMMARY_CHARS:
        summary = summary[:SUMMARY_CHARS] + "…"
    kept: list[str] = []
    size = 0
    for line in long_output[:LONG_LINES]:
        if size + len(line) > LONG_CHARS:
            kept.append(line[: max(0, LONG_CHARS - size)] + "…")
            break
        kept.append(line)
        size += len(line) + 1
    if len(long_output) > len(kept):
        dropped = len(long_output) - len(kept)
        kept.append(f"({dropped} more line{'s' if dropped != 1 else ''})")
    return "\n".join([summary, *kept])


async def _kill_group(process: asyncio.subprocess.Process) -> None:
    """SIGKILL the plugin's whole process group, then reap it and close its pipes.

    The group's id is the plugin's pid. It cannot have been reused while the plugin is not
    reaped, nor while a child of it (a member of the group) still runs; once the group is
    empty, ``killpg`` finds nothing.
    """
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    # Draining the pipes to their end lets asyncio close them once the plugin is reaped. Only
    # a child that escaped into a session of its own can hold them open: stop waiting then.
    try:
        async with timeout(KILL_WAIT):
            await asyncio.shield(asyncio.gather(_read_bounded(process.stdout, 0),
                                                _read_bounded(process.stderr, 0),
                                                process.wait()))
    except TimeoutError:
        transport = getattr(process, "_transport", None)  # asyncio keeps it private
        if transport is not None:
            transport.close()

