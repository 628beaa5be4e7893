"""Shared fixtures. Server launchers live in tests/support/, one module per kind of server.

``MONITORD_TEST_EVENT_LOOP`` (``auto``, the default, ``asyncio`` or ``uvloop``) chooses the
event loop of every test, and of every daemon a test starts (``tests/support/daemon.py``):
CI runs the suite once on each.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable, Mapping

import pytest

from monitord import eventloop

EVENT_LOOP = eventloop.resolve(os.environ.get("MONITORD_TEST_EVENT_LOOP", "auto"))


def pytest_report_header() -> str:
    return f"event loop: {EVENT_LOOP} (MONITORD_TEST_EVENT_LOOP)"


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item,
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    if EVENT_LOOP == "uvloop":
        return {"uvloop": eventloop.new_uvloop}  # the daemon's own
    return {"asyncio": asyncio.new_event_loop}


def free_port(host: str = "127.0.0.1", kind: int = socket.SOCK_STREAM) -> int:
    """A port that nothing listens on right now (TCP or UDP)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, kind) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def unused_port() -> int:
    return free_port()
