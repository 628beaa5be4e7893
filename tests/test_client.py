"""The operator commands against a running daemon: status, ack, silence."""

from __future__ import annotations

import getpass
import json
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitord.cli import main
from monitord.client import when
from tests.conftest import free_port
from tests.support.daemon import on_test_loop

TOKEN = "operator-token"


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "token").write_text(TOKEN)
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(f"""
        [monitord]
        location = "test"
        state_dir = "{tmp_path / 'state'}"
        [api]
        listen = "127.0.0.1:{free_port()}"
        token_file = "{tmp_path / 'token'}"
        [[check]]
        name = "closed-port"
        type = "tcp"
        host = "127.0.0.1"
        port = {free_port()}
        interval = "500ms"
        confirm = 1
    """))
    proc = subprocess.Popen([sys.executable, "-m", "monitord", "run", "-c",
                             str(on_test_loop(path))],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield path
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def status_json(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["status", "-c", str(path), "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def test_status_ack_and_silences(daemon: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deadline = time.monotonic() + 20
    code, data = status_json(daemon, capsys)
    while code != 1 and time.monotonic() < deadline:  # the daemon starts, the check fails
        time.sleep(0.2)
        code, data = status_json(daemon, capsys)
    assert code == 1, "an open incident makes status exit 1"
    [incident] = data["incidents"]
    assert incident["check"] == "closed-port"
    assert incident["phase"] == "connect"

    assert main(["ack", incident["id"], "-c", str(daemon), "--comment", "on it"]) == 0
    assert capsys.readouterr().out == f"acknowledged {incident['id']}\n"
    code, data = status_json(daemon, capsys)
    assert data["incidents"][0]["acknowledged_by"] == getpass.getuser()  # who, not "cli"
    assert main(["status", "-c", str(daemon)]) == 1
    text = capsys.readouterr().out
    assert " UTC" in text
    assert not re.search(r"\d\.\d{6}", text), "times read as times, without microseconds"
    assert main(["ack", "no-such-incident", "-c", str(daemon)]) == 2
    assert "no open incident" in capsys.readouterr().err

    assert main(["silence", "add", "-c", str(daemon), "--match", "check=closed-port",
                 "--for", "1h", "--comment", "router swap"]) == 0
    silence_id = capsys.readouterr().out.split()[1]
    assert main(["silence", "list", "-c", str(daemon)]) == 0
    listing = capsys.readouterr().out
    assert silence_id in listing
    assert "active" in listing
    assert "check=closed-port" in listing
    assert re.search(r"until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", listing), listing
    assert main(["silence", "add", "-c", str(daemon), "--match", "check=~(", "--for", "1h",
                 "--comment", "x"]) == 2
    assert main(["silence", "expire", silence_id, "-c", str(daemon)]) == 0
    assert main(["silence", "expire", "nope", "-c", str(daemon)]) == 2


def test_wrong_token_and_unreachable(daemon: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITORD_API_TOKEN", "wrong")
    deadline = time.monotonic() + 20
    code = main(["status", "-c", str(daemon)])
    while "HTTP 401" not in capsys.readouterr().err and time.monotonic() < deadline:
        time.sleep(0.2)
        code = main(["status", "-c", str(daemon)])
    assert code == 2
    assert main(["status", "--api", f"http://127.0.0.1:{free_port()}"]) == 2
    assert "cannot reach the daemon" in capsys.readouterr().err


async def test_api_rejects_oversized_and_malformed_bodies(tmp_path: Path) -> None:
    import io

    import aiohttp

    from monitord.app import Daemon
    from monitord.configfile import load_config

    (tmp_path / "token").write_text(TOKEN)
    port = free_port()
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(f"""
        [monitord]
        state_dir = "{tmp_path}"
        [api]
        listen = "127.0.0.1:{port}"
        token_file = "{tmp_path / 'token'}"
    """))
    daemon = Daemon(load_config(path))
    import asyncio

    task = asyncio.create_task(daemon.run())
    auth = {"Authorization": f"Bearer {TOKEN}"}
    url = f"http://127.0.0.1:{port}/api/v1/silences"
    try:
        await asyncio.wait_for(daemon.ready.wait(), 10)
        async with aiohttp.ClientSession() as http:
            big = io.BytesIO(b"{" + b" " * (5 * 1024 * 1024))
            async with http.post(url, data=big, headers=auth) as r:
                assert r.status == 413
            async with http.post(url, data=b"not json", headers=auth) as r:
                assert r.status == 400
            async with http.post(url, json=["a list"], headers=auth) as r:
                assert r.status == 400
            async with http.post(url, json={"matchers": ["x=1"] * 100, "duration": "1h"},
                                 headers=auth) as r:
                assert r.status == 400
            async with http.post(url, json={"matchers": ["x=1"], "duration": "1h",
                                            "comment": "c" * 10_000}, headers=auth) as r:
                assert r.status == 400
            async with http.post(url, json={"matchers": ["x=1"], "duration": "1h"}) as r:
                assert r.status == 401
            async with http.post(url, json={"matchers": ["x=1"], "duration": "1h"},
                                 headers=auth) as r:
                assert r.status == 201
    finally:
        daemon.request_stop()
        await task


def test_api_times_are_shown_in_utc_without_microseconds() -> None:
    assert when("2026-12-01T06:11:30.626419+00:00") == "2026-12-01 06:11:30 UTC"
    assert when("2026-12-01T08:11:30.5+02:00") == "2026-12-01 06:11:30 UTC"
    assert when("2026-12-01T06:11:30.1Z") == "2026-12-01 06:11:30 UTC"
    assert when("soon") == "soon"
