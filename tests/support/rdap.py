"""A small RDAP server (RFC 9083 domain objects) on loopback, built on aiohttp.

    registry = RdapRegistry({"example.com": rdap_domain("example.com", expires=...)})
    async with serve(registry.app()) as base:   # base + "/" is the check's rdap_url
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiohttp import web


def rdap_domain(name: str, expires: datetime | None = None,
                status: tuple[str, ...] = ("active",)) -> dict[str, Any]:
    """A domain object as registries return it (events, status, nameservers)."""
    events: list[dict[str, str]] = [
        {"eventAction": "registration", "eventDate": "2015-03-04T10:00:00Z"},
        {"eventAction": "last changed", "eventDate": "2025-03-04T10:00:00Z"},
    ]
    if expires is not None:
        events.append({"eventAction": "expiration",
                       "eventDate": expires.isoformat().replace("+00:00", "Z")})
    return {
        "objectClassName": "domain",
        "rdapConformance": ["rdap_level_0"],
        "ldhName": name,
        "status": list(status),
        "events": events,
        "nameservers": [{"objectClassName": "nameserver", "ldhName": f"ns1.{name}"}],
    }


class RdapRegistry:
    """Answers GET /domain/NAME from ``domains``: a JSON object, or (HTTP status, raw body)."""

    def __init__(self, domains: Mapping[str, dict[str, Any] | tuple[int, bytes]],
                 delay: float = 0.0) -> None:
        self.domains = dict(domains)
        self.delay = delay
        self.requests: list[str] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/domain/{name}", self._domain)
        return app

    async def _domain(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.requests.append(name)
        if self.delay:
            await asyncio.sleep(self.delay)
        entry = self.domains.get(name)
        if entry is None:
            return web.json_response({"errorCode": 404, "title": "Not Found"}, status=404,
                                     content_type="application/rdap+json")
        if isinstance(entry, tuple):
            return web.Response(status=entry[0], body=entry[1],
                                content_type="application/rdap+json")
        return web.Response(body=json.dumps(entry).encode(),
                            content_type="application/rdap+json")
