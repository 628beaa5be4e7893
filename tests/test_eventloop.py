"""The event loop choice: ``[monitord] event_loop`` = auto | asyncio | uvloop."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from monitord import eventloop
from monitord.config.reader import ConfigInvalid
from monitord.configfile import load_config
from tests.conftest import free_port

# Runs Python with uvloop made unimportable, as on a machine where it is not installed.
WITHOUT_UVLOOP = "import sys; sys.modules['uvloop'] = None; "


async def running_loop() -> str:
    return eventloop.name(asyncio.get_running_loop())


@pytest.mark.parametrize(("choice", "expected"), [
    ("auto", "uvloop"),  # uvloop is a dependency: installed wherever monitord is
    ("asyncio", "asyncio"),
    ("uvloop", "uvloop"),
])
def test_run_on_the_chosen_loop(choice: str, expected: str) -> None:
    assert eventloop.resolve(choice) == expected
    assert eventloop.run(running_loop(), choice) == expected


def test_unknown_choice_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="expected one of auto, asyncio, uvloop"):
        eventloop.resolve("trio")


def test_without_uvloop_auto_falls_back_and_uvloop_is_an_error() -> None:
    code = WITHOUT_UVLOOP + textwrap.dedent("""
        from monitord import eventloop
        print(eventloop.resolve("auto"))
        try:
            eventloop.resolve("uvloop")
        except eventloop.EventLoopUnavailable as exc:
            print(exc)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out == ["asyncio", '[monitord] event_loop = "uvloop" but uvloop is not installed '
                              '(pip install uvloop, or choose "auto" or "asyncio")']


def test_run_refuses_to_start_on_a_missing_uvloop(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[monitord]\nevent_loop = "uvloop"\nstate_dir = "{tmp_path}"\n'
                    f'[api]\nlisten = ""\n')
    code = WITHOUT_UVLOOP + (f"from monitord.cli import main; "
                             f"raise SystemExit(main(['run', '-c', {str(path)!r}]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 2
    assert f'{path}: [monitord] event_loop = "uvloop" but uvloop is not installed' in proc.stderr


def test_config_default_and_bad_value(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[monitord]\n")
    assert load_config(path).monitord.event_loop == "auto"
    path.write_text('[monitord]\nevent_loop = "fast"\n')
    with pytest.raises(ConfigInvalid) as caught:
        load_config(path)
    assert [str(e) for e in caught.value.errors] == [
        f'{path}:2: monitord: event_loop: expected one of auto, asyncio, uvloop, got "fast"']


async def connect_to(address: tuple[str, int]) -> str:
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, address)
        except OSError as exc:
            return os.strerror(exc.errno) if exc.errno else str(exc)
        return "connected"


def test_the_daemons_uvloop_connects_ip_addresses_directly_and_names_as_usual() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        closed = free_port()

        async def main() -> list[str]:
            return [await connect_to(("127.0.0.1", port)), await connect_to(("localhost", port)),
                    await connect_to(("127.0.0.1", closed))]

        loop = eventloop.new_uvloop()
        try:
            assert loop.run_until_complete(main()) == [
                "connected", "connected", "Connection refused"]
        finally:
            loop.close()
