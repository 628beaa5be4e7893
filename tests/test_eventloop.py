"""The event loop choice: ``[monitord] event_loop`` = auto | asyncio | uvloop."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from monitord import eventloop
from monitord.config.load import load_config
from monitord.config.reader import ConfigInvalid

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
        f'{path}: monitord: event_loop: expected one of auto, asyncio, uvloop, got "fast"']
