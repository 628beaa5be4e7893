"""The pure parts of evidence: the cut at evidence_timeout (virtual time), what changed,
redaction and "what was checked"."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from monitord.evidence.base import Emit, Step, found
from monitord.evidence.facts import changes, duration_band, size_band
from monitord.evidence.redact import redact_text, redact_url
from monitord.evidence.runner import run_steps
from monitord.evidence.target import describe_target
from monitord.testing import FakeClock
from tests.support.evidence import check


async def test_a_hanging_probe_is_cut_at_the_timeout_and_the_rest_kept() -> None:
    clock = FakeClock()

    async def hangs(emit: Emit) -> None:
        emit(found("connect", "192.0.2.1:443", "ok", "connected in 1.0 ms"))
        await asyncio.get_running_loop().create_future()  # never answers

    async def quick(emit: Emit) -> None:
        emit(found("resolve", "shop.test", "ok", "A 192.0.2.1 (TTL 300)"))

    async def crashes(emit: Emit) -> None:
        raise ValueError("bad data")

    task = asyncio.ensure_future(run_steps(
        [Step("connect", "shop.test:443", hangs), Step("resolve", "shop.test", quick),
         Step("tls", "shop.test:443", crashes)], clock, 10.0))
    await clock.advance(0)  # the run starts: its deadline is 10 s from now
    await clock.advance(9.5)
    assert not task.done()
    await clock.advance(0.5)
    await asyncio.wait({task}, timeout=1.0)  # cancelling the hung step takes a few turns
    assert task.done()
    assert [(f.item.probe, f.item.status, f.item.detail) for f in task.result()] == [
        ("connect", "ok", "connected in 1.0 ms"),
        ("connect", "unfinished", "not finished within 10s"),
        ("resolve", "ok", "A 192.0.2.1 (TTL 300)"),
        ("tls", "failed", "internal error: ValueError: bad data"),
    ]


async def test_steps_that_finish_end_the_run_at_once() -> None:
    async def quick(emit: Emit) -> None:
        emit(found("resolve", "x", "ok", "fine"))

    result = await run_steps([Step("resolve", "x", quick)], FakeClock(), 10.0)
    assert [f.item.detail for f in result] == ["fine"]


BASE = {"address": "192.0.2.10", "cert_sha256": "aa" * 32, "cert_issuer": "CN=R3",
        "status_code": "200", "body_size": "1–16 KiB", "duration": "under 100 ms"}


@pytest.mark.parametrize(("after", "expected"), [
    ({}, []),
    ({"address": "192.0.2.99"}, ["address: 192.0.2.10 → 192.0.2.99"]),
    ({"address": "192.0.2.10, 2001:db8::1"}, []),  # the old address is still among them
    ({"cert_issuer": "O=unknown CA", "cert_sha256": "bb" * 32},
     ["certificate: issuer changed (R3 → O=unknown CA)"]),
    ({"cert_sha256": "bb" * 32}, ["certificate: replaced (fingerprint aaaaaaaaaaaa… → "
                                  "bbbbbbbbbbbb…, same issuer)"]),
    ({"status_code": "503", "body_size": "under 1 KiB"},
     ["status: 200 → 503", "body size: 1–16 KiB → under 1 KiB"]),
    ({"redirect": "/maintenance"}, ["redirect: now to /maintenance"]),
    ({"duration": "2–10 s"}, ["duration: under 100 ms → 2–10 s"]),
])
def test_changes_in_plain_words(after: dict[str, str], expected: list[str]) -> None:
    assert changes(BASE, {**BASE, **after}) == expected


def test_only_known_facts_are_compared() -> None:
    # A run that never connected says nothing about address or certificate.
    assert changes(BASE, {"duration": "under 100 ms"}) == []
    assert changes({**BASE, "redirect": "/home"}, {"duration": "under 100 ms"}) == []
    assert changes({**BASE, "redirect": "/home"}, BASE) == ["redirect: no longer to /home"]
    assert changes({"ns": "a.test b.test", "serial": "7"},
                   {"ns": "a.test", "serial": "8"}) == [
        "NS set: a.test b.test → a.test", "serial: 7 → 8"]


@pytest.mark.parametrize(("value", "band"), [(0, "empty"), (10, "under 1 KiB"),
                                             (5000, "1–16 KiB"), (10**8, "over 4 MiB")])
def test_size_bands(value: int, band: str) -> None:
    assert size_band(value) == band


def test_duration_bands() -> None:
    assert [duration_band(s) for s in (0.01, 0.3, 1.0, 5.0, 30.0)] == [
        "under 100 ms", "100–500 ms", "0.5–2 s", "2–10 s", "over 10 s"]


@pytest.mark.parametrize(("url", "shown"), [
    ("https://shop.test/", "https://shop.test/"),
    ("https://bob:hunter2@shop.test/x", "https://[redacted]@shop.test/x"),
    ("https://shop.test/?token=abc&page=2", "https://shop.test/?token=[redacted]&page=2"),
])
def test_urls_are_redacted(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_text_redaction() -> None:
    assert redact_text("Authorization: Bearer abcdefghijkl") == "Authorization: Bearer [redacted]"
    assert redact_text("id 0123456789abcdef0123456789abcdef!") == "id [redacted]!"
    assert redact_text("nothing secret here") == "nothing secret here"


@pytest.mark.parametrize(("kind", "data", "target"), [
    ("http", {"url": "https://u:p@shop.test/health"}, "https://[redacted]@shop.test/health"),
    ("tcp", {"host": "db.test", "port": 5432}, "db.test:5432"),
    ("tcp", {"host": "::1", "port": 25, "tls": True}, "[::1]:25 over TLS"),
    ("tls", {"host": "shop.test"}, "shop.test:443"),
    ("dns", {"query": "shop.test", "record": "MX"}, "MX shop.test"),
    ("dns_authority", {"zone": "shop.test"}, "shop.test"),
    ("domain_expiry", {"domain": "shop.fr", "expires": "2030-01-01"}, "shop.fr"),
])
def test_what_was_checked(kind: str, data: dict[str, Any], target: str) -> None:
    assert describe_target(check(kind, data)) == target
