"""Fault injection against the real daemon (a subprocess, loopback only): a state directory
on a tmpfs filled to its last block, a wall clock stepped under it."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from monitord.compat import timeout
from tests.conftest import free_port
from tests.support.daemon import Proc
from tests.support.hooks import HookReceiver
from tests.support.web import serve

WALLTIME = Path(__file__).parent / "walltime"


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs, unmounted afterwards."""
    mount = tmp_path / "fs"
    mount.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount(8) on this machine: cannot make a small file system")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(directory: Path) -> Path:
    """Fill the file system of ``directory`` to its very last block; returns the filler."""
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as f:
        for size in (1 << 20, 1 << 16, 1 << 12, 1 << 9, 1):
            chunk = b"\0" * size
            while True:
                try:
                    f.write(chunk)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    return filler


@dataclass
class Shop:
    """A web target whose health is a flag."""

    healthy: bool = True
    url: str = ""


@dataclass
class World:
    shop: Shop
    hook: HookReceiver
    hook_url: str
    api: str
    offset_file: Path
    lines: list[dict[str, Any]] = field(default_factory=list)

    def step(self, seconds: float) -> None:
        """Step the daemon's wall clock to ``seconds`` from the real one."""
        tmp = self.offset_file.with_suffix(".new")
        tmp.write_text(str(seconds))
        tmp.replace(self.offset_file)

    def incidents(self) -> list[tuple[str, str, str]]:
        """(check, event, summary) of every incident entry the hook acted on (each key once)."""
        out = []
        seen = set()
        for request in self.hook.requests:
            key = request.headers.get("Idempotency-Key", "")
            if key in seen or not 200 <= request_status(self.hook, request) < 300:
                continue
            seen.add(key)
            out += [(i["check"], i["event"], i["summary"]) for i in request.json["incidents"]]
        return out

    def events(self) -> list[tuple[str, str]]:
        return [(c, e) for c, e, _ in self.incidents()]

    async def until(self, predicate: Any, within: float = 30.0) -> None:
        async with timeout(within):
            while not predicate():
                self.hook.arrived.clear()
                with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                    async with timeout(0.5):
                        await self.hook.arrived.wait()

    async def healthz(self) -> tuple[int, str]:
        async with aiohttp.ClientSession() as session, session.get(f"{self.api}/healthz") as r:
            return r.status, await r.text()


def request_status(hook: HookReceiver, request: Any) -> int:
    key = request.headers.get("Idempotency-Key", "")
    return 200 if hook.accepted[key] else 503


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    shop = Shop()
    hook = HookReceiver()

    async def page(request: aiohttp.web.Request) -> aiohttp.web.Response:
        if shop.healthy:
            return aiohttp.web.Response(text="Add to basket")
        return aiohttp.web.Response(status=503, text="database down")

    target = aiohttp.web.Application()
    target.router.add_get("/", page)
    async with serve(target) as shop.url, serve(hook.app()) as hook_url:
        yield World(shop, hook, f"{hook_url}/hook", f"http://127.0.0.1:{free_port()}",
                    tmp_path / "wall-offset")


def write_config(path: Path, state_dir: Path, w: World, extra: str = "") -> Path:
    port = w.api.rsplit(":", 1)[1]
    path.write_text(textwrap.dedent(f"""
        [monitord]
        location = "test"
        state_dir = "{state_dir}"
        log_results = "all"
        [api]
        listen = "127.0.0.1:{port}"
        [defaults]
        interval = "500ms"
        retry_interval = "250ms"
        timeout = "2s"
        confirm = 2
        [[check]]
        name = "shop"
        type = "http"
        url = "{w.shop.url}/"
        expect_body = "Add to basket"
        [[receiver]]
        name = "oncall"
        type = "webhook"
        url = "{w.hook_url}"
        format = "json"
        [alerting]
        default_receivers = ["oncall"]
        group_wait = "1s"
        group_interval = "1s"
    """) + textwrap.dedent(extra))
    return path


async def start(config: Path, w: World) -> Proc:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "MONITORD_TEST_WALL_OFFSET": str(w.offset_file),
           "PYTHONPATH": os.pathsep.join(
               [str(WALLTIME), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitord", "run", "-c", str(config),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env)
    daemon = Proc(proc)
    await daemon.wait_for("started")
    return daemon


async def stop(daemon: Proc) -> int:
    proc = daemon.proc
    if proc.returncode is None:
        proc.terminate()
    async with timeout(15):
        # Drain the log so the pipe never blocks the daemon's shutdown.
        assert proc.stderr is not None
        while await proc.stderr.readline():
            pass
        return await proc.wait()


def json_lines(daemon: Proc) -> list[dict[str, Any]]:
    return [line for line in daemon.lines if isinstance(line, dict)]


__all__ = ["fill", "json", "start", "stop", "write_config"]
