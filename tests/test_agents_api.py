"""The central daemon's agent endpoints over real HTTP on loopback, with a real store.

Each refusal the contract names: forged token 401, another location's results 403, an
unassigned check 403, malformed 400, an oversized batch 413, a replayed batch acknowledged
again and not counted twice, future-stamped or too-old results refused and counted. No log
line carries a token.
"""

from __future__ import annotations

import io
import json
import textwrap
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import structlog
from aiohttp import web

from monitord.agent.intake import Intake
from monitord.api.agents import agent_routes
from monitord.configfile import load_config
from monitord.model import Result
from monitord.store import Store
from monitord.testing import FakeClock
from tests.support.web import serve

TOKEN = "london-secret-token-42"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)


class Harness:
    def __init__(self, base: str, intake: Intake, got: list[Result]) -> None:
        self.base, self.intake, self.got = base, intake, got

    async def post(self, body: Any, token: str = TOKEN) -> tuple[int, Any]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        async with aiohttp.ClientSession() as session, session.post(
                self.base + "/api/v1/results", data=io.BytesIO(data),
                headers={"Authorization": f"Bearer {token}"}) as response:
            text = await response.text()
            return response.status, json.loads(text) if text.startswith("{") else text


def result(check: str = "shop", at: datetime = NOW, location: str = "london") -> dict[str, Any]:
    return {"check": check, "type": "http", "location": location, "status": "CRITICAL",
            "phase": "connect", "summary": "refused", "duration_ms": 12.0, "metrics": {},
            "at": at.isoformat().replace("+00:00", "Z")}


def batch(number: int, results: Sequence[dict[str, Any]], location: str = "london") -> Any:
    return {"location": location, "batch": number, "results": list(results)}


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    (tmp_path / "london.token").write_text(TOKEN + "\n")
    (tmp_path / "paris-only.token").write_text("other-token\n")
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(f"""
        [monitord]
        location = "paris"
        state_dir = "{tmp_path}"
        [[check]]
        name = "shop"
        type = "http"
        url = "https://shop.test/"
        locations = ["paris", "london"]
        [[check]]
        name = "intranet"
        type = "http"
        url = "https://intranet.test/"
        [[agent]]
        location = "london"
        token_file = "{tmp_path / 'london.token'}"
        buffer_horizon = "1h"
    """))
    config = load_config(path)
    got: list[Result] = []

    async def sink(results: Sequence[Result]) -> None:
        got.extend(r for r in results if not r.check.startswith("agent:"))

    async def on_silent(silent: frozenset[str], holding: frozenset[str]) -> None:
        return None

    store = await Store.open(tmp_path / "monitord.db")
    intake = Intake(config, FakeClock(NOW), store, sink, on_silent)
    await intake.open()
    app = web.Application()
    agent_routes(app, intake)
    try:
        async with serve(app) as base:
            yield Harness(base, intake, got)
    finally:
        await store.close()


async def test_assignment_with_etag_and_references_only(harness: Harness) -> None:
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with session.get(harness.base + "/api/v1/agent/assignment",
                               headers=headers) as r:
            assert r.status == 200
            etag, data = r.headers["ETag"], await r.json()
        assert data["location"] == "london"
        assert [c["name"] for c in data["checks"]] == ["shop"]  # intranet is not london's
        async with session.get(harness.base + "/api/v1/agent/assignment",
                               headers={**headers, "If-None-Match": etag}) as r:
            assert r.status == 304
        async with session.get(harness.base + "/api/v1/agent/assignment") as r:
            assert r.status == 401


async def test_refusals_as_the_contract_says(harness: Harness) -> None:
    with structlog.testing.capture_logs() as logs:
        assert (await harness.post(batch(1, [result()]), token="forged"))[0] == 401
        assert (await harness.post(batch(1, [result()]), token=""))[0] == 401
        assert (await harness.post(batch(1, [result()], location="paris")))[0] == 403
        assert (await harness.post(batch(1, [result(location="paris")])))[0] == 403
        assert (await harness.post(batch(1, [result("intranet")])))[0] == 403
        assert (await harness.post(b"{not json"))[0] == 400
        assert (await harness.post({"location": "london", "batch": "one"}))[0] == 400
        big = batch(1, [result() | {"summary": "x" * 1000}] * 5000)
        assert (await harness.post(big))[0] == 413
    assert harness.got == []
    assert harness.intake.counters["london"].batch == 0
    assert not any(TOKEN in str(e) or "forged" in str(e) for e in logs)
    reasons = [e.get("reason") for e in logs if e["event"] == "agent_results_refused"]
    assert "results of another location" in reasons
    assert [e["token_given"] for e in logs if e["event"] == "agent_unauthorized"] == [
        True, False]


async def test_replayed_batch_is_acknowledged_and_not_counted_twice(harness: Harness) -> None:
    status, answer = await harness.post(batch(7, [result()]))
    assert (status, answer["accepted"]) == (200, 1)
    status, answer = await harness.post(batch(7, [result()]))
    assert (status, answer) == (200, {"batch": 7, "duplicate": True})
    status, answer = await harness.post(batch(3, [result()]))  # older: also a replay
    assert answer["duplicate"] is True
    assert len(harness.got) == 1
    assert harness.intake.counters["london"].accepted == 1


async def test_future_and_too_old_results_refused_and_counted(harness: Harness) -> None:
    results = [result(at=NOW + timedelta(minutes=5)), result(at=NOW - timedelta(hours=2)),
               result(at=NOW - timedelta(seconds=5))]
    status, answer = await harness.post(batch(1, results))
    assert status == 200
    assert answer == {"batch": 1, "accepted": 1, "refused": {"future": 1, "too_old": 1}}
    assert harness.intake.counters["london"].refused == 2
    assert [r.at for r in harness.got] == [NOW - timedelta(seconds=5)]


async def test_high_water_mark_survives_a_restart(tmp_path: Path, harness: Harness) -> None:
    assert (await harness.post(batch(5, [result()])))[0] == 200
    store = await Store.open(tmp_path / "monitord.db")
    try:
        rows = await store.call(lambda c: c.execute(
            "SELECT location, batch, accepted FROM agent_batches").fetchall())
    finally:
        await store.close()
    assert rows == [("london", 5, 1)]


NESTED = b'{"location":"london","batch":1,"results":' + b"[" * 100_000 + b"]" * 100_000 + b"}"


@pytest.mark.parametrize("body", [
    batch(1, [result() | {"duration_ms": float("nan")}]),
    batch(1, [result() | {"duration_ms": float("inf")}]),
    batch(1, [result() | {"duration_ms": 1e300}]),
    batch(1, [result() | {"duration_ms": 86_400_001}]),
    batch(1, [result() | {"duration_ms": "1e999"}]),
    batch(1, [result() | {"metrics": {"rtt": float("nan")}}]),
    batch(1, [result() | {"metrics": {"rtt": float("-inf")}}]),
    batch(1, [result() | {"metrics": {"rtt": "1e999"}}]),
    batch(2**63, [result()]),
    batch(1, [result()] * 10_001),
    NESTED,
], ids=["nan", "inf", "1e300", "over-a-day", "text-inf", "metric-nan", "metric-inf",
        "metric-text-inf", "batch-2**63", "too-many", "nested"])
async def test_hostile_batches_are_400_before_anything_is_taken(harness: Harness,
                                                                body: Any) -> None:
    status, answer = await harness.post(body)
    assert status == 400
    assert "error" in answer
    assert harness.got == []
    counters = harness.intake.counters["london"]
    assert (counters.batch, counters.accepted, counters.batches) == (0, 0, 0)
    status, answer = await harness.post(batch(2**63 - 1, [result()]))  # the largest taken
    assert (status, answer["accepted"]) == (200, 1)


async def test_agent_refusals_are_logged_at_a_bounded_rate(harness: Harness) -> None:
    with structlog.testing.capture_logs() as logs:
        for _ in range(50):
            assert (await harness.post(batch(1, [result()]), token="forged"))[0] == 401
    refused = [e for e in logs if e["event"] == "agent_unauthorized"]
    assert 1 <= len(refused) <= 10
