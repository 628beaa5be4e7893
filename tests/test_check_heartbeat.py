"""The ``heartbeat`` check: the verdict (a decision table in virtual time), the board that
survives restarts, and the ping API through a real daemon on loopback."""

from __future__ import annotations

import asyncio
import io
import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest
from structlog.testing import capture_logs

from monitord.app import Daemon
from monitord.checks.base import CheckEnv
from monitord.config.reader import ConfigInvalid, SecretRef
from monitord.config.schema import CheckConfig
from monitord.configfile import load_config
from monitord.heartbeat.board import MAX_BODY, RESOURCE, Beat, HeartbeatBoard, Signal
from monitord.heartbeat.check import HeartbeatCheck, HeartbeatSpec, evaluate, excerpt
from monitord.model import Phase, Result, Status
from monitord.store import Store
from monitord.testing import FakeClock
from tests.conftest import free_port

T0 = datetime(2026, 3, 29, 3, 0, tzinfo=timezone.utc)
HOURLY = HeartbeatSpec(check="job", period=3600, token=SecretRef(env="UNUSED"), grace=300)
NIGHTLY = HeartbeatSpec(check="backup", period=86400, token=SecretRef(env="UNUSED"),
                        grace=3600, max_duration=7200)
NO_LIMIT = HeartbeatSpec(check="backup", period=86400, token=SecretRef(env="UNUSED"),
                         grace=3600)


def ago(**delta: float) -> datetime:
    return T0 - timedelta(**delta)


@dataclass(frozen=True)
class Row:
    spec: HeartbeatSpec
    beat: Beat
    status: Status
    summary: str


FIRST = ago(days=30)
ROWS = {
    "on time": Row(HOURLY, Beat(FIRST, last_ping=ago(minutes=50)), Status.OK,
                   "last ping 50m ago"),
    "late, within grace": Row(HOURLY, Beat(FIRST, last_ping=ago(minutes=63)), Status.OK,
                              "last ping 1h3m ago (late by 3m, within grace 5m)"),
    "late at exactly grace": Row(HOURLY, Beat(FIRST, last_ping=ago(minutes=65)), Status.OK,
                                 "last ping 1h5m ago (late by 5m, within grace 5m)"),
    "late beyond grace": Row(HOURLY, Beat(FIRST, last_ping=ago(minutes=65, seconds=1)),
                             Status.CRITICAL,
                             "no ping since 2026-03-29T01:54:59Z (period 1h, grace 5m)"),
    "never pinged, fresh": Row(HOURLY, Beat(ago(minutes=10)), Status.OK,
                               "no ping yet; expected within 1h5m of 2026-03-29T02:50:00Z "
                               "(period 1h, grace 5m)"),
    "never pinged, too long": Row(HOURLY, Beat(ago(minutes=66)), Status.CRITICAL,
                                  "no ping since 2026-03-29T01:54:00Z, when monitoring "
                                  "started (period 1h, grace 5m)"),
    "fail after ping": Row(HOURLY, Beat(FIRST, last_ping=ago(minutes=30),
                                        last_fail=ago(minutes=10), fail_body="disk full\n"),
                           Status.CRITICAL,
                           "job reported failure at 2026-03-29T02:50:00Z: disk full"),
    "fail without body": Row(HOURLY, Beat(FIRST, last_fail=ago(minutes=1)), Status.CRITICAL,
                             "job reported failure at 2026-03-29T02:59:00Z: "
                             "(no details sent)"),
    "ping after fail": Row(HOURLY, Beat(FIRST, last_ping=ago(minutes=10),
                                        last_fail=ago(minutes=30)), Status.OK,
                           "last ping 10m ago"),
    "start after fail keeps the failure": Row(
        HOURLY, Beat(FIRST, last_ping=ago(minutes=40), last_fail=ago(minutes=20),
                     last_start=ago(minutes=5)), Status.CRITICAL,
        "job reported failure at 2026-03-29T02:40:00Z: (no details sent)"),
    "start, running within max_duration": Row(
        NIGHTLY, Beat(FIRST, last_ping=ago(hours=22), last_start=ago(hours=1)), Status.OK,
        "last ping 22h ago; running since 2026-03-29T02:00:00Z"),
    "start, max_duration exceeded": Row(
        NIGHTLY, Beat(FIRST, last_ping=ago(hours=22), last_start=ago(hours=2, seconds=1)),
        Status.CRITICAL,
        "job started at 2026-03-29T00:59:59Z has not finished after 2h1s (max_duration 2h)"),
    "start, then success": Row(
        NIGHTLY, Beat(FIRST, last_ping=ago(minutes=30), last_start=ago(hours=3)), Status.OK,
        "last ping 30m ago"),
    "start without max_duration never times out": Row(
        NO_LIMIT, Beat(FIRST, last_ping=ago(hours=22), last_start=ago(hours=20)), Status.OK,
        "last ping 22h ago; running since 2026-03-28T07:00:00Z"),
    "start exceeded and late: max_duration first": Row(
        NIGHTLY, Beat(FIRST, last_ping=ago(hours=30), last_start=ago(hours=3)),
        Status.CRITICAL,
        "job started at 2026-03-29T00:00:00Z has not finished after 3h (max_duration 2h)"),
    "started on time but no success for period + grace": Row(
        NO_LIMIT, Beat(FIRST, last_ping=ago(hours=26), last_start=ago(hours=2)),
        Status.CRITICAL, "no ping since 2026-03-28T01:00:00Z (period 1d, grace 1h)"),
}


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_verdict(row: Row) -> None:
    outcome = evaluate(row.spec, row.beat, T0)
    assert (outcome.status, outcome.summary) == (row.status, row.summary)
    assert outcome.phase is (None if row.status is Status.OK else Phase.HEARTBEAT)


def test_verdict_metrics() -> None:
    beat = Beat(FIRST, last_ping=ago(hours=22), last_start=ago(minutes=90))
    assert dict(evaluate(NIGHTLY, beat, T0).metrics) == {"last_ping_age_s": 79200.0,
                                                         "running_s": 5400.0}


def test_excerpt_is_one_bounded_line() -> None:
    assert excerpt("tar: /srv: Cannot open\r\n\x1b[31mexit 2\x1b[0m\n") == \
        "tar: /srv: Cannot open [31mexit 2 [0m"
    long = excerpt("x" * 5000)
    assert len(long) == 200
    assert long.endswith("…")


# -- config ---------------------------------------------------------------------------------


def write_config(path: Path, body: str) -> Path:
    path.write_text(textwrap.dedent(body))
    return path


def test_parse_keys_and_defaults(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path / "c.toml", """
        [[check]]
        name = "nightly-backup"
        type = "heartbeat"
        period = "24h"
        token_file = "/etc/monitord/backup.token"
    """))
    spec = config.checks[0].spec
    assert spec == HeartbeatSpec(check="nightly-backup", period=86400.0,
                                 token=SecretRef(file="/etc/monitord/backup.token"),
                                 grace=300.0, max_duration=None)
    assert spec.target == "heartbeat:nightly-backup"


def test_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigInvalid) as info:
        load_config(write_config(tmp_path / "c.toml", """
            [[check]]
            name = "a"
            type = "heartbeat"
            token = "inline"
            [[check]]
            name = "b"
            type = "heartbeat"
            period = "0s"
            grace = "5"
            max_duration = "0s"
            token_env = "B_TOKEN"
            perod = "1h"
        """))
    errors = [str(e).split(": ", 1)[1] for e in info.value.errors]
    assert 'check "a": period: required' in errors
    assert any(e.startswith('check "a": token: secrets are never written') for e in errors)
    assert any(e.startswith('check "b": period: expected a duration above zero')
               for e in errors)
    assert any(e.startswith('check "b": grace: expected a duration') for e in errors)
    assert 'check "b": max_duration: expected a duration above zero' in errors
    assert any(e.startswith('check "b": perod: unknown key') for e in errors)


# -- the check, run in virtual time -----------------------------------------------------------


def check_config(tmp_path: Path, spec: HeartbeatSpec = NIGHTLY) -> CheckConfig:
    token = tmp_path / "backup.token"
    if not token.exists():
        token.write_text("s3cret\n")
    spec = HeartbeatSpec(check=spec.check, period=spec.period, grace=spec.grace,
                         max_duration=spec.max_duration, token=SecretRef(file=str(token)))
    return CheckConfig(name=spec.check, type="heartbeat", spec=spec)


async def env_with_board(clock: FakeClock, board: HeartbeatBoard) -> CheckEnv:
    env = CheckEnv(clock=clock, location="test")

    async def shared() -> HeartbeatBoard:
        return board

    await env.resource(RESOURCE, shared)
    return env


async def test_check_reads_the_board(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    board = HeartbeatBoard(clock)
    check = HeartbeatCheck(check_config(tmp_path), await env_with_board(clock, board))
    first = await check.run()
    assert first.status is Status.OK
    assert first.summary.startswith("no ping yet")
    await clock.advance(3600)
    await board.record("backup", Signal.START)
    await clock.advance(600)
    await board.record("backup", Signal.PING)
    await clock.advance(180)
    assert (await check.run()).summary == "last ping 3m ago"
    await clock.advance(86400 + 3600)
    late = await check.run()
    assert late.status is Status.CRITICAL
    assert late.summary == "no ping since 2026-03-29T04:10:00Z (period 1d, grace 1h)"


async def test_check_outside_the_daemon_is_unknown(tmp_path: Path) -> None:
    check = HeartbeatCheck(check_config(tmp_path), CheckEnv(clock=FakeClock(T0), location="x"))
    outcome = await check.run()
    assert outcome.status is Status.UNKNOWN
    assert "running daemon" in outcome.summary


@pytest.mark.parametrize(("content", "reason"), [
    (None, "No such file or directory"),
    ("\n", "the token is empty"),
])
async def test_unusable_token_is_unknown(tmp_path: Path, content: str | None,
                                         reason: str) -> None:
    config = check_config(tmp_path)
    token = tmp_path / "backup.token"
    if content is None:
        token.unlink()
    else:
        token.write_text(content)
    clock = FakeClock(T0)
    outcome = await HeartbeatCheck(config, await env_with_board(clock, HeartbeatBoard(clock))).run()
    assert (outcome.status, outcome.phase) == (Status.UNKNOWN, Phase.AUTH)
    assert reason in outcome.summary
    assert "s3cret" not in outcome.summary


# -- persistence ------------------------------------------------------------------------------


async def test_board_survives_a_restart(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    store = await Store.open(tmp_path / "monitord.db")
    board = await HeartbeatBoard.open(store, clock)
    await board.watch("backup")
    await clock.advance(3600)
    await board.record("backup", Signal.START)
    await board.record("backup", Signal.PING)
    await board.record("other", Signal.FAIL, "x" * (MAX_BODY + 10))
    await store.close()

    await clock.advance(50 * 60)
    store = await Store.open(tmp_path / "monitord.db")
    try:
        again = await HeartbeatBoard.open(store, clock)
        beat = again.get("backup")
        assert beat == Beat(first_seen=T0, last_ping=T0 + timedelta(hours=1),
                            last_start=T0 + timedelta(hours=1))
        other = again.get("other")
        assert other is not None
        assert len(other.fail_body) == MAX_BODY
        check = HeartbeatCheck(check_config(tmp_path), await env_with_board(clock, again))
        assert (await check.run()).summary == "last ping 50m ago"
    finally:
        await store.close()


# -- the ping API, through a real daemon on loopback -------------------------------------------

API_TOKEN = "api-t0ken"
JOB_TOKEN = "j0b-t0ken-for-backup"
HEARTBEAT = """
    [[check]]
    name = "{name}"
    type = "heartbeat"
    interval = "1h"              # only pings make it run during the test
    period = "24h"
    grace = "1h"
    max_duration = "2h"
    token_file = "{token}"
"""


def daemon_config(tmp_path: Path, port: int, names: list[str]) -> Path:
    (tmp_path / "api.token").write_text(API_TOKEN + "\n")
    (tmp_path / "job.token").write_text(JOB_TOKEN + "\n")
    text = textwrap.dedent(f"""
        [monitord]
        location = "test"
        state_dir = "{tmp_path / 'state'}"
        [api]
        listen = "127.0.0.1:{port}"
        token_file = "{tmp_path / 'api.token'}"
    """)
    for name in names:
        text += textwrap.dedent(HEARTBEAT.format(name=name, token=tmp_path / "job.token"))
    return write_config(tmp_path / "config.toml", text)


@dataclass
class Running:
    daemon: Daemon
    base: str
    http: aiohttp.ClientSession
    results: asyncio.Queue[Result]

    async def result(self, check: str) -> Result:
        while True:
            result = await asyncio.wait_for(self.results.get(), 10)
            if result.check == check:
                return result


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    port = free_port()
    daemon = Daemon(load_config(daemon_config(tmp_path, port, ["backup"])))
    results: asyncio.Queue[Result] = asyncio.Queue()

    async def listen(result: Result) -> None:
        await results.put(result)

    daemon.result_listeners.append(listen)
    task = asyncio.create_task(daemon.run())
    try:
        await asyncio.wait_for(daemon.ready.wait(), 10)
        async with aiohttp.ClientSession() as http:
            yield Running(daemon, f"http://127.0.0.1:{port}/api/v1/heartbeat", http, results)
    finally:
        daemon.request_stop()
        await task


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_ping_with_the_right_token_turns_the_check_ok(running: Running) -> None:
    async with running.http.post(f"{running.base}/backup/fail", data=b"rsync: error 23\n",
                                 headers=bearer(JOB_TOKEN)) as resp:
        assert resp.status == 200
        assert (await resp.json())["signal"] == "fail"
    failed = await running.result("backup")
    assert failed.status is Status.CRITICAL
    assert failed.phase is Phase.HEARTBEAT
    assert failed.summary.endswith(": rsync: error 23")

    async with running.http.get(f"{running.base}/backup", headers=bearer(JOB_TOKEN)) as resp:
        assert resp.status == 200
    ok = await running.result("backup")
    assert (ok.status, ok.summary) == (Status.OK, "last ping just now")


async def test_refusals_do_not_tell_which_checks_exist(running: Running) -> None:
    answers = []
    with capture_logs() as logs:
        await refuse_all(running, answers)
    assert answers[0][0] == 401
    assert all(answer == answers[0] for answer in answers)
    refusals = [e for e in logs if e["event"] == "heartbeat_unauthorized"]
    assert [e["check"] for e in refusals] == ["backup"] * 4 + ["nightly-db"]
    assert JOB_TOKEN not in repr(logs)
    async with running.http.head(f"{running.base}/backup", headers=bearer(JOB_TOKEN)) as resp:
        assert resp.status == 405  # a link checker's HEAD is not a ping
    board = await running.daemon.env.resource(RESOURCE, _unexpected)
    assert board.get("nightly-db") is None
    beat = board.get("backup")
    assert beat is None or (beat.last_ping, beat.last_start) == (None, None)


async def refuse_all(running: Running, answers: list[tuple[int, str]]) -> None:
    for path, headers in [
        ("/backup", bearer("wrong")),             # wrong token
        ("/backup/start", {}),                    # no token
        (f"/backup?token={JOB_TOKEN}", {}),       # query tokens are not accepted
        ("/backup", bearer(API_TOKEN)),           # the API token is not the check's token
        ("/nightly-db", bearer(JOB_TOKEN)),       # no such check
    ]:
        async with running.http.post(running.base + path, headers=headers) as resp:
            answers.append((resp.status, await resp.text()))


async def test_fail_body_is_bounded(running: Running) -> None:
    body = io.BytesIO(b"A" * (4 * 1024 * 1024))
    async with running.http.post(f"{running.base}/backup/fail", data=body,
                                 headers=bearer(JOB_TOKEN)) as resp:
        assert resp.status == 200
    board = await running.daemon.env.resource(RESOURCE, _unexpected)
    beat = board.get("backup")
    assert beat is not None
    assert beat.fail_body == "A" * MAX_BODY
    result = await running.result("backup")
    assert result.status is Status.CRITICAL
    assert len(result.summary) < 300


async def test_reload_brings_new_checks_to_the_api(running: Running, tmp_path: Path) -> None:
    async with running.http.post(f"{running.base}/nightly-db",
                                 headers=bearer(JOB_TOKEN)) as resp:
        assert resp.status == 401
    port = running.daemon.config.api.listen
    assert port is not None
    daemon_config(tmp_path, port.port, ["backup", "nightly-db"])
    assert await running.daemon.reload()
    async with running.http.post(f"{running.base}/nightly-db/start",
                                 headers=bearer(JOB_TOKEN)) as resp:
        assert resp.status == 200
    result = await running.result("nightly-db")
    assert result.status is Status.OK
    assert "running since" in result.summary


async def _unexpected() -> HeartbeatBoard:
    raise AssertionError("the daemon registers its heartbeat board before it is READY")
