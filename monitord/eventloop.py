"""The event loop a long-running command runs on: uvloop where installed, else asyncio's.

``[monitord] event_loop`` chooses: ``"auto"`` (uvloop when importable, else asyncio),
``"asyncio"`` or ``"uvloop"`` (an error at start when it is not installed). uvloop is a
dependency because it measured cheaper per check: most of an HTTP check's CPU is the event
loop opening and closing a connection, which uvloop does in C (see README, Benchmarks).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

CHOICES = ("auto", "asyncio", "uvloop")

T = TypeVar("T")


class EventLoopUnavailable(Exception):
    """The configured event loop cannot be used here; the message says why and what to do."""


def resolve(choice: str) -> str:
    """``"uvloop"`` or ``"asyncio"``: the loop ``choice`` means on this machine."""
    if choice not in CHOICES:
        raise ValueError(f"event_loop: expected one of {', '.join(CHOICES)}, got {choice!r}")
    if choice == "asyncio":
        return "asyncio"
    if _uvloop_importable():
        return "uvloop"
    if choice == "uvloop":
        raise EventLoopUnavailable(
            '[monitord] event_loop = "uvloop" but uvloop is not installed '
            '(pip install uvloop, or choose "auto" or "asyncio")')
    return "asyncio"


def _uvloop_importable() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def run(main: Coroutine[Any, Any, T], choice: str) -> T:
    """``asyncio.run(main)`` on the loop ``choice`` means (see :func:`resolve`)."""
    try:
        loop = resolve(choice)
    except BaseException:
        main.close()  # never awaited: say so quietly rather than with a warning
        raise
    if loop == "uvloop":
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)


def name(loop: asyncio.AbstractEventLoop) -> str:
    """``"uvloop"`` or ``"asyncio"``: the kind of a running loop (for the start-up log)."""
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
