"""The ``domain_expiry`` check: when does the registration of a domain run out?

The date comes from the registry's RDAP service (found in the IANA bootstrap list, or given as
``rdap_url``), or from ``expires`` entered by hand. Some registries publish no expiry date at
all (.de, .nl and others renew until cancelled): for those the check says it *cannot know*
(UNKNOWN) until a date is entered by hand — it never reports OK without a date.

Failure names: ``expired``, ``expires soon`` (WARNING within ``warn_before``, CRITICAL within
``crit_before``), ``not registered`` (RDAP 404), ``pending delete`` / ``redemption period`` /
``on hold`` (RDAP status), ``cannot know`` (no published date), and UNKNOWN for an RDAP server
that fails (``rate limited``, HTTP errors, malformed or oversized answers, timeouts).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from monitord.checks._http_client import read_capped, shared_session
from monitord.checks.base import CheckEnv
from monitord.checks.domain_expiry_spec import (
    KIND,
    Spec,
    parse,
)
from monitord.compat import timeout
from monitord.config.durations import format_duration
from monitord.config.schema import CheckConfig
from monitord.model import Outcome, Phase, Status

MAX_RESPONSE = 1024 * 1024  # RDAP domain objects are a few KiB; anything bigger is refused
_BUDGET_SHARE = 0.9  # of the check's timeout: name a slow registry before the runner does

# Registries whose RDAP/whois publishes no expiry date: the summary says so, by country.
NO_EXPIRY = {
    "de": "DENIC (.de)",
    "nl": "SIDN (.nl)",
    "eu": "EURid (.eu)",
    "be": "DNS Belgium (.be)",
    "ch": "SWITCH (.ch)",
    "li": "SWITCH (.li)",
}
# RDAP statuses (RFC 8056 names) that mean trouble whatever the date says.
BAD_STATUS = {
    "pending delete": "pending delete: the registry is about to release the domain",
    "redemption period": "redemption period: the domain has expired and is being deleted",
    "client hold": "on hold (client hold): the domain is not published in DNS",
    "server hold": "on hold (server hold): the domain is not published in DNS",
}



class Unusable(Exception):
    """The RDAP server gave nothing usable: (status, phase, summary)."""

    def __init__(self, status: Status, phase: Phase, summary: str) -> None:
        super().__init__(summary)
        self.status, self.phase, self.summary = status, phase, summary


class DomainExpiryCheck:
    def __init__(self, config: CheckConfig, env: CheckEnv) -> None:
        assert isinstance(config.spec, Spec)
        self.spec: Spec = config.spec
        self.env = env
        self.budget = config.timeout * _BUDGET_SHARE

    async def run(self) -> Outcome:
        spec, now = self.spec, self.env.clock.now()
        if spec.expires is not None:
            moment = datetime(spec.expires.year, spec.expires.month, spec.expires.day,
                              tzinfo=timezone.utc)
            return self._judge(moment, now, "entered by hand")
        if spec.rdap_url is None:
            return self._cannot_know("no RDAP server is known for this TLD (set rdap_url)")
        started = self.env.clock.monotonic()
        try:
            document = await self._fetch(spec.rdap_url)
            published = _expiration(document)
            trouble = _bad_status(document)
        except Unusable as failure:
            return Outcome(failure.status, f"{spec.domain}: {failure.summary}", failure.phase)
        metrics = {"time_total_ms": round((self.env.clock.monotonic() - started) * 1000, 3)}
        if trouble:
            return Outcome(Status.CRITICAL, f"{spec.domain}: {trouble}", Phase.EXPIRY, metrics)
        if published is None:
            return self._cannot_know("the registry's RDAP answer has no expiration date")
        host = urlsplit(spec.rdap_url).hostname or spec.rdap_url
        return self._judge(published, now, f"RDAP {host}", metrics)

    async def _fetch(self, base: str) -> dict[str, Any]:
        url = f"{base}domain/{self.spec.domain}"
        session = await shared_session(self.env)
        headers = {"Accept": "application/rdap+json, application/json"}
        try:
            async with timeout(self.budget), session.get(url, headers=headers,
                                                         max_redirects=3) as response:
                if response.status == 404:
                    raise Unusable(Status.CRITICAL, Phase.EXPIRY, "not registered: the "
                                   "registry has no such domain (RDAP 404)")
                if response.status == 429:
                    raise Unusable(Status.UNKNOWN, Phase.RESPONSE,
                                   "rate limited by the RDAP server (HTTP 429)")
                if response.status != 200:
                    raise Unusable(Status.UNKNOWN, Phase.RESPONSE,
                                   f"RDAP server answered HTTP {response.status}")
                body, cut = await read_capped(response, MAX_RESPONSE)
        except TimeoutError:
            raise Unusable(Status.UNKNOWN, Phase.TIMEOUT, "RDAP server did not answer within "
                           f"{format_duration(self.budget)}") from None
        except aiohttp.ClientError as exc:
            raise Unusable(Status.UNKNOWN, Phase.REQUEST,
                           f"cannot query RDAP: {type(exc).__name__}: {exc}") from None
        if cut:
            raise Unusable(Status.UNKNOWN, Phase.RESPONSE,
                           f"RDAP answer larger than {MAX_RESPONSE // 1024} KiB, refused")
        try:
            document = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise Unusable(Status.UNKNOWN, Phase.RESPONSE, "RDAP answer is not JSON") from None
        if not isinstance(document, dict):
            raise Unusable(Status.UNKNOWN, Phase.RESPONSE, "RDAP answer is not a JSON object")
        return document

    def _judge(self, moment: datetime, now: datetime, source: str,
               metrics: dict[str, float] | None = None) -> Outcome:
        spec = self.spec
        left = (moment - now).total_seconds()
        metrics = {**(metrics or {}), "expires_in_s": round(left, 3)}
        day = moment.strftime("%Y-%m-%d")
        if left <= 0:
            return Outcome(Status.CRITICAL, f"{spec.domain}: expired on {day} "
                           f"({format_duration(-left)} ago; {source})", Phase.EXPIRY, metrics)
        text = f"{spec.domain}: expires {day} (in {format_duration(left)}; {source})"
        if left <= spec.crit_before:
            return Outcome(Status.CRITICAL, f"{text}: expires soon, renew it", Phase.EXPIRY,
                           metrics)
        if left <= spec.warn_before:
            return Outcome(Status.WARNING, f"{text}: expires soon, renew it", Phase.EXPIRY,
                           metrics)
        return Outcome.ok(text, metrics)

    def _cannot_know(self, why: str) -> Outcome:
        tld = self.spec.domain.rsplit(".", 1)[-1]
        registry = NO_EXPIRY.get(tld)
        if registry is not None:
            why = f"{registry} publishes no expiry date"
        return Outcome(Status.UNKNOWN, f"{self.spec.domain}: cannot know the expiry date: {why}; "
                       'enter it by hand (expires = "YYYY-MM-DD") or turn expiry off for it',
                       Phase.EXPIRY)


def _expiration(document: dict[str, Any]) -> datetime | None:
    """The ``expiration`` event's date (RFC 9083 §4.5), aware UTC; None when absent."""
    events = document.get("events")
    if not isinstance(events, list):
        return None
    for event in events[:100]:
        if not isinstance(event, dict) or str(event.get("eventAction", "")).lower() not in (
                "expiration", "registration expiration"):
            continue
        text = event.get("eventDate")
        if not isinstance(text, str):
            continue
        try:
            moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            raise Unusable(Status.UNKNOWN, Phase.RESPONSE,
                           f"RDAP expiration date {text[:40]!r} is not a date") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return None


def _bad_status(document: dict[str, Any]) -> str:
    statuses = document.get("status")
    if not isinstance(statuses, list):
        return ""
    found = [BAD_STATUS[s.lower()] for s in statuses[:50]
             if isinstance(s, str) and s.lower() in BAD_STATUS]
    return "; ".join(found)


__all__ = ["KIND", "DomainExpiryCheck", "Spec", "parse"]
