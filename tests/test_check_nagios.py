"""The ``nagios`` check: Debian's Monitoring Plugins against loopback servers, and scripts
that exit oddly, hang with a child, or print far too much."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from monitord.checks import nagios
from monitord.checks.base import CheckEnv
from monitord.config.reader import Problems, Table
from monitord.model import Outcome, Phase, Status
from tests.conftest import free_port
from tests.support import probing
from tests.support.dnszones import config_errors, make_check
from tests.support.streams import listening, wait_for_hang_up
from tests.support.web import serve

PLUGINS = Path("/usr/lib/nagios/plugins")
CHECK_TCP = str(PLUGINS / "check_tcp")
CHECK_HTTP = str(PLUGINS / "check_http")

env = probing.env

needs_plugins = pytest.mark.skipif(
    not os.access(CHECK_TCP, os.X_OK) or not os.access(CHECK_HTTP, os.X_OK),
    reason="Debian's monitoring-plugins-basic is not installed (.ci/test-servers installs it)",
)


async def probe(env: CheckEnv, data: dict[str, Any], limit: float = 10.0) -> Outcome:
    return await probing.run_once(nagios.KIND, env, data, limit)


def script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def running(pid: int) -> bool:
    """Whether ``pid`` is alive (a zombie waiting for its reaper is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


# -- real plugins ----------------------------------------------------------------------------


@needs_plugins
async def test_check_tcp_ok_with_perfdata(env: CheckEnv) -> None:
    async with listening(wait_for_hang_up) as port:
        outcome = await probe(env, {"command": [CHECK_TCP, "-H", "127.0.0.1", "-p", str(port)]})
    assert outcome.status is Status.OK, outcome
    assert outcome.phase is None
    assert outcome.summary.startswith("TCP OK - "), outcome.summary
    assert f"port {port}" in outcome.summary
    assert "|" not in outcome.summary
    assert 0.0 <= outcome.metrics["time"] < 5.0  # seconds
    assert outcome.metrics["time.max"] == 10.0  # check_tcp's default timeout


@needs_plugins
async def test_check_tcp_refused_is_critical(env: CheckEnv) -> None:
    port = free_port()
    outcome = await probe(env, {"command": [CHECK_TCP, "-H", "127.0.0.1", "-p", str(port)]})
    assert (outcome.status, outcome.phase) == (Status.CRITICAL, Phase.PLUGIN), outcome
    assert "Connection refused" in outcome.summary


@needs_plugins
async def test_check_http_ok_and_critical(env: CheckEnv) -> None:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="Add to basket")

    app = web.Application()
    app.router.add_get("/", hello)
    async with serve(app) as base:
        port = base.rsplit(":", 1)[1]
        command = [CHECK_HTTP, "-H", "127.0.0.1", "-p", port, "-u", "/", "-s", "basket"]
        found = await probe(env, {"command": command})
        missing = await probe(env, {"command": [*command[:-1], "checkout"]})
    assert found.status is Status.OK, found
    assert found.summary.startswith("HTTP OK: HTTP/1.1 200 OK"), found.summary
    assert found.metrics["size"] > 0  # bytes
    assert found.metrics["time"] >= 0.0
    assert (missing.status, missing.phase) == (Status.CRITICAL, Phase.PLUGIN), missing
    assert "string 'checkout' not found" in missing.summary


# -- scripts -----------------------------------------------------------------------------


async def test_warning_with_perfdata_and_long_output(env: CheckEnv, tmp_path: Path) -> None:
    plugin = script(tmp_path, "check_disk_like", """\
echo "DISK WARNING - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968"
echo "/ 15272 MB (77%);"
echo "/boot 68 MB (69%); | /boot=68MB;88;93;0;98"
echo "/home=69357MB;253404;253409;0;253414"
echo "/var/log=818MB;970;975;0;980"
exit 1
""")
    outcome = await probe(env, {"command": [plugin]})
    assert (outcome.status, outcome.phase) == (Status.WARNING, Phase.PLUGIN)
    assert outcome.summary == ("DISK WARNING - free space: / 3326 MB (56%);\n"
                               "/ 15272 MB (77%);\n/boot 68 MB (69%);")
    mib = 1024.0 * 1024.0
    assert outcome.metrics["/"] == 2643 * mib
    assert outcome.metrics["/.warn"] == 5948 * mib
    assert outcome.metrics["/.crit"] == 5958 * mib
    assert outcome.metrics["/.min"] == 0.0
    assert outcome.metrics["/.max"] == 5968 * mib
    assert outcome.metrics["/boot"] == 68 * mib
    assert outcome.metrics["/home"] == 69357 * mib
    assert outcome.metrics["/var/log.max"] == 980 * mib


async def test_exit_7_is_unknown(env: CheckEnv, tmp_path: Path) -> None:
    plugin = script(tmp_path, "check_odd", "echo 'ODD - something'\nexit 7\n")
    outcome = await probe(env, {"command": [plugin]})
    assert (outcome.status, outcome.phase) == (Status.UNKNOWN, Phase.PLUGIN)
    assert outcome.summary == "check_odd exited with status 7: ODD - something"


async def test_arguments_and_env_reach_the_plugin_but_not_the_daemon_env(
    env: CheckEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITORD_TEST_SECRET", "s3cret")
    plugin = script(tmp_path, "check_args", 'echo "OK - $1 $2 [$GREETING] [$MONITORD_TEST_SECRET]'
                                            ' $(command -v check_tcp)"\n')
    outcome = await probe(env, {"command": [plugin, "a b", "$HOME;"],
                                "env": {"GREETING": "hello"}})
    expected_tcp = CHECK_TCP if shutil.which("check_tcp", path=nagios.PLUGIN_PATH) else ""
    assert outcome.summary == f"OK - a b $HOME; [hello] [] {expected_tcp}"
    assert outcome.status is Status.OK


async def test_stderr_is_the_summary_when_stdout_is_empty(env: CheckEnv, tmp_path: Path) -> None:
    plugin = script(tmp_path, "check_broken", "echo 'cannot load libfoo.so' >&2\nexit 3\n")
    outcome = await probe(env, {"command": [plugin]})
    assert (outcome.status, outcome.summary) == (Status.UNKNOWN, "cannot load libfoo.so")


async def test_a_missing_program_is_unknown(env: CheckEnv, tmp_path: Path) -> None:
    outcome = await probe(env, {"command": [str(tmp_path / "check_nothing")]})
    assert (outcome.status, outcome.phase) == (Status.UNKNOWN, Phase.INTERNAL)
    assert outcome.summary == f"cannot run {tmp_path / 'check_nothing'}: No such file or directory"


async def test_a_hung_plugin_and_its_child_are_killed_at_the_timeout(
    env: CheckEnv, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    plugin = script(tmp_path, "check_hang", f"""\
sleep 300 &
echo $$ $! > {pids}
echo "partial output"
wait
""")
    started = time.monotonic()
    outcome = await probe(env, {"command": [plugin]}, limit=2.0)
    took = time.monotonic() - started
    assert (outcome.status, outcome.phase) == (Status.CRITICAL, Phase.TIMEOUT), outcome
    assert outcome.summary == "check_hang gave no result within 2s (killed with its process group)"
    assert took < 2.0
    shell, child = (int(pid) for pid in pids.read_text().split())
    for _ in range(50):  # the kernel finishes a SIGKILL asynchronously
        if not running(shell) and not running(child):
            break
        await asyncio.sleep(0.02)
    assert not running(shell)
    assert not running(child)


async def test_a_child_that_keeps_the_output_open_is_killed_too(
    env: CheckEnv, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    plugin = script(tmp_path, "check_daemonizes", f"""\
sleep 300 &
echo $! > {pids}
echo "OK - but a child still holds stdout"
exit 0
""")
    outcome = await probe(env, {"command": [plugin]}, limit=1.0)
    assert (outcome.status, outcome.phase) == (Status.CRITICAL, Phase.TIMEOUT), outcome
    child = int(pids.read_text())
    for _ in range(50):
        if not running(child):
            break
        await asyncio.sleep(0.02)
    assert not running(child)


async def test_ten_megabytes_of_output_are_bounded(env: CheckEnv, tmp_path: Path) -> None:
    plugin = script(tmp_path, "check_chatty", """\
echo "CHATTY OK - lots to say | lines=163840"
head -c 10485760 /dev/zero | tr '\\0' 'x' | fold -w 63
exit 0
""")
    outcome = await probe(env, {"command": [plugin]})
    assert outcome.status is Status.OK
    lines = outcome.summary.splitlines()
    assert lines[0] == "CHATTY OK - lots to say"
    assert len(outcome.summary) < nagios.SUMMARY_CHARS + nagios.LONG_CHARS + 200
    assert len(lines) <= nagios.LONG_LINES + 3
    assert lines[-1] == f"(output truncated: {10485760 + 10485760 // 63 + 39} bytes, " \
                        f"the first {nagios.MAX_OUTPUT} kept)"
    assert lines[-2].endswith(" more lines)")
    assert lines[1] == "x" * 63
    assert outcome.metrics == {"lines": 163840.0}


async def test_ten_megabytes_report_the_truncation(env: CheckEnv, tmp_path: Path) -> None:
    plugin = script(tmp_path, "check_one_line",
                    "printf 'ONE OK - '\nhead -c 10485760 /dev/zero | tr '\\0' 'y'\n")
    outcome = await probe(env, {"command": [plugin]})
    assert outcome.status is Status.OK
    first, *rest = outcome.summary.splitlines()
    assert first == "ONE OK - " + "y" * (nagios.SUMMARY_CHARS - 9) + "…"
    assert rest == [f"(output truncated: {10485760 + 9} bytes, the first "
                    f"{nagios.MAX_OUTPUT} kept)"]


async def test_plugin_processes_are_capped(env: CheckEnv, tmp_path: Path) -> None:
    # The daemon's cap is a shared resource of the env; this env gets a small one.
    async def two() -> asyncio.Semaphore:
        return asyncio.Semaphore(2)

    await env.resource(nagios.SLOTS, two)
    log = tmp_path / "log"
    plugin = script(tmp_path, "check_slow", f"""\
echo start >> {log}
sleep 0.3
echo end >> {log}
echo OK
""")
    outcomes = await asyncio.gather(*(probe(env, {"command": [plugin]}) for _ in range(5)))
    assert all(o.status is Status.OK for o in outcomes), outcomes
    level = peak = 0
    for event in log.read_text().split():
        level += 1 if event == "start" else -1
        peak = max(peak, level)
    assert peak == 2


# -- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "message"), [
    ({}, "command: required"),
    ({"command": "/usr/lib/nagios/plugins/check_tcp -H db1 -p 5432"},
     'command: expected an argv array like ["/usr/lib/nagios/plugins/check_tcp", "-H", "db1"], '
     'got the string "/usr/lib/nagios/plugins/check_tcp -H db1 -p 5432": the command is run '
     "without a shell, so it is not split on spaces"),
    ({"command": []}, "command: expected a non-empty array of strings, got an array"),
    ({"command": ["check_tcp", 5432]},
     "command: expected a non-empty array of strings, got an array"),
    ({"command": ["check_dummy", "0"], "env": {"A B": "x"}},
     'env: "A B" is not an environment variable name'),
    ({"command": ["check_dummy", "0"], "env": {"A": 1}},
     'env: expected a table of strings like { name = "value" }, got a table'),
])
def test_config_errors(data: dict[str, Any], message: str) -> None:
    assert config_errors(nagios.KIND, data) == [message]


@pytest.mark.parametrize(("command", "target"), [
    (["check_tcp", "-H", "db1.example.net", "-p", "5432"], "db1.example.net"),
    (["check_http", "--hostname=www.example.net"], "www.example.net"),
    (["check_http", "-Hwww.example.net"], "www.example.net"),
    (["check_disk", "-w", "10%"], "nagios:t"),
])
def test_target_is_the_plugins_host(command: list[str], target: str) -> None:
    spec = nagios.parse(Table(Problems("test.toml"), "check[0]", {"name": "t",
                                                                 "command": command}))
    assert spec.target == target


async def test_a_cancelled_run_kills_the_plugin(env: CheckEnv, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    plugin = script(tmp_path, "check_hang", f"sleep 300 &\necho $$ $! > {pids}\nwait\n")
    check = nagios.KIND.build(make_check(nagios.KIND, {"command": [plugin]}, timeout=30), env)
    run = asyncio.create_task(check.run())
    for _ in range(100):
        if pids.exists() and pids.read_text().strip():
            break
        await asyncio.sleep(0.02)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    for pid in (int(p) for p in pids.read_text().split()):
        assert not running(pid)
