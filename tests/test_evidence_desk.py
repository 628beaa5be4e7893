"""The evidence desk: baselines kept across restarts, one run per incident, and a
notification that waits for its evidence no longer than evidence_timeout (virtual time)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from monitord.checks.base import CheckEnv
from monitord.compat import TaskGroup
from monitord.evidence.desk import EvidenceDesk
from monitord.model import EventKind, Evidence, Phase, Result, Status
from monitord.notify import email_message
from monitord.store import Store
from monitord.testing import FakeClock
from tests.support.alerts import event, notification
from tests.support.evidence import check


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """Accepts connections and never answers: an HTTP request to it hangs."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]
        for writer in held:
            writer.close()


def result(clock: FakeClock, status: Status, facts: dict[str, str],
           code: float = 200.0) -> Result:
    return Result("shop", "http", "here", status, None if status is Status.OK else Phase.RESPONSE,
                  f"HTTP {int(code)}", {"status_code": code, "time_total_ms": 20.0},
                  clock.now(), 0.02, facts)


async def test_notification_waits_for_evidence_only_until_the_cut(
        tmp_path: Path, silent_server: int) -> None:
    clock = FakeClock()
    config = replace(check("http", {"url": f"http://bob:pw@127.0.0.1:{silent_server}/"}),
                     name="shop", description="the shop's front page", interval=60.0)
    store = await Store.open(tmp_path / "state.db")
    env = CheckEnv(clock=clock, location="here")
    try:
        desk = EvidenceDesk(clock, store, 10.0, [config])
        await desk.open()
        desk.attach(env, None)
        await desk.observe(result(clock, Status.OK, {"address": "127.0.0.1"}))
        await desk.observe(result(clock, Status.CRITICAL, {"address": "127.0.0.1"}, 503.0))
        problem = event("shop", incident="inc-1")
        async with TaskGroup() as group:
            desk.group = group
            desk.confirmed([problem])
            desk.confirmed([problem])  # once per incident
            assert len([t for t in asyncio.all_tasks() if "evidence:" in t.get_name()]) == 1
            await clock.advance(0)  # the run starts; its cut is 10 s from now
            settling = asyncio.ensure_future(desk.settle([notification("oncall", problem)]))
            for _ in range(50):  # the connect probe finishes; the HTTP request hangs
                await asyncio.sleep(0.01)
            assert not settling.done()
            await clock.advance(9.5)
            assert not settling.done()
            await clock.advance(0.5)
            await asyncio.wait({settling}, timeout=2.0)
            assert settling.done()
            [sent] = settling.result()
    finally:
        await env.aclose()
        await store.close()
    [filled] = sent.events
    assert filled.target == f"http://[redacted]@127.0.0.1:{silent_server}/"
    assert filled.description == "the shop's front page"
    # The event's other location (paris, failing) comes first: a result, not a probe.
    first = filled.evidence[0]
    assert (first.probe, first.target, first.status) == ("location", "paris", "failed")
    assert filled.evidence[0].detail.startswith("CRITICAL ")
    assert [(e.probe, e.status) for e in filled.evidence[1:]] == [
        ("connect", "ok"), ("connect", "ok"), ("http", "unfinished")]
    assert filled.evidence[-1].detail == "not finished within 10s"
    assert filled.changes == ("status: 200 → 503",)
    assert desk.incident("inc-1") == (filled.evidence, filled.changes)


async def test_baselines_and_incident_evidence_survive_a_restart(tmp_path: Path) -> None:
    clock = FakeClock()
    config = replace(check("tcp", {"host": "127.0.0.1", "port": 9}), name="shop")
    path = tmp_path / "state.db"
    store = await Store.open(path)
    desk = EvidenceDesk(clock, store, 10.0, [config])
    await desk.open()
    await desk.observe(result(clock, Status.OK, {"address": "192.0.2.10"}))
    await store.close()

    store = await Store.open(path)
    try:
        again = EvidenceDesk(clock, store, 10.0, [config])
        await again.open()
        await again.observe(result(clock, Status.CRITICAL, {"address": "192.0.2.99"}, 200))
        from monitord.evidence.facts import changes

        key = ("shop", "here")
        assert changes(again._baselines[key], again._failing[key]) == [
            "address: 192.0.2.10 → 192.0.2.99"]
    finally:
        await store.close()


async def test_no_more_evidence_runs_than_check_runs(tmp_path: Path) -> None:
    clock = FakeClock()
    config = replace(check("tcp", {"host": "127.0.0.1", "port": 9}), name="shop",
                     interval=60.0)
    store = await Store.open(tmp_path / "state.db")
    env = CheckEnv(clock=clock, location="here")
    try:
        desk = EvidenceDesk(clock, store, 1.0, [config])
        await desk.open()
        desk.attach(env, None)
        async with TaskGroup() as group:
            desk.group = group
            desk.confirmed([event("shop", incident="a")])
            desk.confirmed([event("shop", incident="b")])  # flapping: same minute
            await clock.advance(61)
            desk.confirmed([event("shop", incident="c")])
            names = sorted(t.get_name() for t in asyncio.all_tasks()
                           if "evidence:" in t.get_name())
            assert names == ["evidence:a", "evidence:c"]
            await clock.advance(2)
    finally:
        await env.aclose()
        await store.close()


def test_email_carries_a_readable_evidence_block() -> None:
    problem = replace(event("shop"), target="https://shop.test/", description="front page",
                      evidence=(Evidence("connect", "192.0.2.99:443", "failed",
                                         "Connection refused"),),
                      changes=("address: 192.0.2.10 → 192.0.2.99",))
    note = notification("ops", problem)
    text = email_message.text_body(note, [problem], "")
    assert "   Checked: https://shop.test/\n   Description: front page\n" in text
    assert ("   What changed since the last OK result:\n"
            "     address: 192.0.2.10 → 192.0.2.99\n"
            "   Evidence:\n"
            "     FAILED connect 192.0.2.99:443: Connection refused\n") in text
    html = email_message.html_body(note, [problem], "")
    assert "<li>address: 192.0.2.10 → 192.0.2.99</li>" in html
    assert "FAILED connect 192.0.2.99:443: Connection refused</pre>" in html


async def test_every_notification_names_what_was_checked(tmp_path: Path) -> None:
    config = replace(check("dns", {"query": "shop.test", "record": "MX"}), name="shop",
                     description="mail for the shop")
    store = await Store.open(tmp_path / "state.db")
    try:
        desk = EvidenceDesk(FakeClock(), store, 10.0, [config])
        await desk.open()
        [sent] = await desk.settle([notification("ops", event("shop", EventKind.RECOVERY))])
    finally:
        await store.close()
    [recovered] = sent.events
    assert (recovered.target, recovered.description) == ("MX shop.test", "mail for the shop")
    assert recovered.evidence == ()
