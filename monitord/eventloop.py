"""The event loop a long-running command runs on: uvloop where installed, else asyncio's.

``[monitord] event_loop`` chooses: ``"auto"`` (uvloop when importable, else asyncio),
``"asyncio"`` or ``"uvloop"`` (an error at start when it is not installed). uvloop is a
dependency because it measured cheaper per check: most of an HTTP check's CPU is the event
loop opening and closing a connection, which uvloop does in C (see README, Benchmarks).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from monitord.config.schema import EVENT_LOOPS

if TYPE_CHECKING:
    import uvloop

CHOICES = EVENT_LOOPS

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

        return uvloop.run(main, loop_factory=new_uvloop)
    return asyncio.run(main)


def new_uvloop() -> uvloop.Loop:
    """A uvloop loop whose ``sock_connect`` does not resolve an address already resolved.

    uvloop's ``sock_connect`` passes every address through ``getaddrinfo`` in libuv's thread
    pool, even an IP address, which is what aiohttp (through aiohappyeyeballs) gives it for
    every fresh connection: a thread hand-off per HTTP check, about 0.03 CPU-ms each. An IP
    address is connected directly here, as asyncio's own loop does; anything else goes the
    usual way.
    """
    import uvloop

    class Loop(uvloop.Loop):
        async def sock_connect(self, sock: socket.socket, address: Any) -> None:
            if sock.family not in (socket.AF_INET, socket.AF_INET6) or not _is_ip(
                    sock.family, address):
                await super().sock_connect(sock, address)
                return
            try:
                sock.connect(address)
                return
            except (BlockingIOError, InterruptedError):
                pass  # in progress: wait until the socket is writable
            connected = self.create_future()
            fd = sock.fileno()
            self.add_writer(fd, _on_connected, connected, sock, address)
            try:
                await connected
            finally:
                self.remove_writer(fd)

    return Loop()


def _is_ip(family: int, address: Any) -> bool:
    try:
        socket.inet_pton(family, address[0])
    except (OSError, TypeError, IndexError):
        return False
    return True


def _on_connected(connected: asyncio.Future[None], sock: socket.socket, address: Any) -> None:
    if connected.done():
        return
    error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if error:
        connected.set_exception(OSError(error, f"Connect call failed {address}"))
    else:
        connected.set_result(None)


def name(loop: asyncio.AbstractEventLoop) -> str:
    """``"uvloop"`` or ``"asyncio"``: the kind of a running loop (for the start-up log)."""
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    return "uvloop" if isinstance(loop, uvloop.Loop) else "asyncio"
