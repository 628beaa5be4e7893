"""``domain_expiry`` against an RDAP server on loopback, with the clock fixed."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from monitord.checks import domain_expiry, rdap_bootstrap
from monitord.checks.base import check_env
from monitord.model import Outcome, Phase, Status
from monitord.testing import FakeClock
from tests.support.dnszones import config_errors, make_check
from tests.support.rdap import RdapRegistry, rdap_domain
from tests.support.web import serve

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def days(n: float) -> datetime:
    return NOW + timedelta(days=n)


DOMAINS: dict[str, dict[str, Any] | tuple[int, bytes]] = {
    "far.com": rdap_domain("far.com", expires=days(400)),
    "month.com": rdap_domain("month.com", expires=days(20)),
    "week.com": rdap_domain("week.com", expires=days(3)),
    "gone.com": rdap_domain("gone.com", expires=days(-2)),
    "nodate.de": rdap_domain("nodate.de"),
    "nodate.com": rdap_domain("nodate.com"),
    "deleting.com": rdap_domain("deleting.com", expires=days(400),
                                status=("pending delete",)),
    "error.com": (500, b"internal error"),
    "limited.com": (429, b""),
    "garbage.com": (200, b"<html>not json</html>"),
    "huge.com": (200, b"{" + b" " * (2 * 1024 * 1024) + b"}"),
    "baddate.com": (200, json.dumps({"events": [{"eventAction": "expiration",
                                                 "eventDate": "soon"}]}).encode()),
}


async def probe(data: dict[str, object], timeout: float = 3.0,
                registry: RdapRegistry | None = None) -> Outcome:
    registry = registry or RdapRegistry(DOMAINS)
    async with serve(registry.app()) as base, check_env(FakeClock(NOW), "here") as env:
        config = make_check(domain_expiry.KIND, {"rdap_url": base + "/", **data},
                            timeout=timeout)
        return await domain_expiry.KIND.build(config, env).run()


@pytest.mark.parametrize(("domain", "status", "text"), [
    ("far.com", Status.OK, "far.com: expires 2027-02-09 (in 400d; RDAP 127.0.0.1)"),
    ("month.com", Status.WARNING, "expires 2026-01-25 (in 20d; RDAP 127.0.0.1): expires soon"),
    ("week.com", Status.CRITICAL, "expires 2026-01-08 (in 3d; RDAP 127.0.0.1): expires soon"),
    ("gone.com", Status.CRITICAL, "expired on 2026-01-03 (2d ago"),
    ("deleting.com", Status.CRITICAL, "pending delete"),
    ("unknown.com", Status.CRITICAL, "not registered: the registry has no such domain"),
])
async def test_expiry_from_rdap(domain: str, status: Status, text: str) -> None:
    outcome = await probe({"domain": domain})
    assert outcome.status is status, outcome.summary
    assert text in outcome.summary
    if status is not Status.OK:
        assert outcome.phase is Phase.EXPIRY


@pytest.mark.parametrize(("domain", "text", "phase"), [
    ("error.com", "RDAP server answered HTTP 500", Phase.RESPONSE),
    ("limited.com", "rate limited", Phase.RESPONSE),
    ("garbage.com", "not JSON", Phase.RESPONSE),
    ("huge.com", "larger than 1024 KiB, refused", Phase.RESPONSE),
    ("baddate.com", "is not a date", Phase.RESPONSE),
    ("nodate.com", "cannot know the expiry date: the registry's RDAP answer has no expiration",
     Phase.EXPIRY),
    ("nodate.de", "cannot know the expiry date: DENIC (.de) publishes no expiry date",
     Phase.EXPIRY),
])
async def test_no_usable_date_is_unknown_never_ok(domain: str, text: str, phase: Phase) -> None:
    outcome = await probe({"domain": domain})
    assert (outcome.status, outcome.phase) == (Status.UNKNOWN, phase), outcome.summary
    assert text in outcome.summary


async def test_slow_registry_is_unknown() -> None:
    outcome = await probe({"domain": "far.com"}, timeout=0.3,
                          registry=RdapRegistry(DOMAINS, delay=2.0))
    assert (outcome.status, outcome.phase) == (Status.UNKNOWN, Phase.TIMEOUT)


async def test_expires_by_hand_wins_and_needs_no_registry() -> None:
    registry = RdapRegistry(DOMAINS)
    outcome = await probe({"domain": "nodate.de", "expires": "2026-01-20"}, registry=registry)
    assert outcome.status is Status.WARNING
    assert "expires 2026-01-20 (in 14d15h; entered by hand)" in outcome.summary
    assert registry.requests == []


@pytest.mark.parametrize(("warn", "crit", "status"), [
    ("30d", "7d", Status.WARNING), ("10d", "7d", Status.OK), ("30d", "25d", Status.CRITICAL),
])
async def test_thresholds(warn: str, crit: str, status: Status) -> None:
    outcome = await probe({"domain": "month.com", "warn_before": warn, "crit_before": crit})
    assert outcome.status is status


async def test_without_any_rdap_server_it_cannot_know() -> None:
    async with check_env(FakeClock(NOW), "here") as env:
        config = make_check(domain_expiry.KIND, {"domain": "example.nl"})
        assert config.spec.rdap_url == "https://rdap.sidn.nl/"  # type: ignore[attr-defined]
        config = make_check(domain_expiry.KIND, {"domain": "example.invalid-tld"})
        outcome = await domain_expiry.KIND.build(config, env).run()
    assert outcome.status is Status.UNKNOWN
    assert "no RDAP server is known for this TLD" in outcome.summary


@pytest.mark.parametrize(("domain", "url"), [
    ("example.com", "https://rdap.verisign.com/com/v1/"),
    ("example.fr", "https://rdap.nic.fr/"),
    ("example.co.uk", "https://rdap.nominet.uk/uk/"),
    ("example.de", "https://rdap.denic.de/"),
    ("example.nl", "https://rdap.sidn.nl/"),
    ("example.io", "https://rdap.identitydigital.services/rdap/"),
    ("example.ch", "https://rdap.nic.ch/"),
    ("example.org", "https://rdap.publicinterestregistry.org/rdap/"),
    ("example.invalid-tld", None),
])
def test_packaged_bootstrap(domain: str, url: str | None) -> None:
    assert rdap_bootstrap.packaged().url_for(domain) == url


def test_bootstrap_file_override(tmp_path: Path) -> None:
    path = tmp_path / "dns.json"
    path.write_text(json.dumps({"services": [[["com"], ["http://a.example/", "https://b.example"]]],
                                "publication": "2026-01-01"}))
    config = make_check(domain_expiry.KIND, {"domain": "x.com", "rdap_bootstrap": str(path)})
    assert config.spec.rdap_url == "https://b.example/"  # type: ignore[attr-defined]
    assert config.spec.target == "b.example"  # type: ignore[attr-defined]


async def test_refresh_validates_before_replacing(tmp_path: Path) -> None:
    good = {"version": "1.0", "publication": "2026-01-02T00:00:00Z",
            "services": [[["fr"], ["https://rdap.nic.fr/"]]]}
    target = tmp_path / "rdap_dns.json"
    app = web.Application()

    async def handler(request: web.Request) -> web.Response:
        return web.json_response(good if request.path == "/good.json" else {"nothing": 1})

    app.router.add_get("/{file}", handler)
    async with serve(app) as base:
        bootstrap = await rdap_bootstrap.refresh(target, url=f"{base}/good.json")
        assert bootstrap.url_for("a.fr") == "https://rdap.nic.fr/"
        with pytest.raises(ValueError, match="services"):
            await rdap_bootstrap.refresh(target, url=f"{base}/bad.json")
    assert rdap_bootstrap.load(str(target)).publication == "2026-01-02T00:00:00Z"


@pytest.mark.parametrize(("data", "message"), [
    ({"domain": "x.com", "expires": "next year"}, 'expected a date like "2027-03-04"'),
    ({"domain": "x.com", "rdap_url": "ftp://x"}, "expected an http(s) URL"),
    ({"domain": "x.com", "warn_before": "5d", "crit_before": "7d"}, "expected at most"),
    ({"domain": "x.com", "rdap_bootstrap": "/nonexistent/file.json"}, "cannot use the RDAP"),
    ({}, "domain: required"),
])
def test_config_errors(data: dict[str, object], message: str) -> None:
    errors = config_errors(domain_expiry.KIND, data)
    assert any(message in e for e in errors), errors
