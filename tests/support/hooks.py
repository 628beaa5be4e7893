"""A webhook receiver (aiohttp) that records requests and answers as a test scripts it.

    hook = HookReceiver(secret="k")
    async with serve(hook.app()) as base:      # tests.support.web.serve
        url = base + "/hook"
        hook.script = [503, 503]               # then 200 for everything after
        ... hook.requests, hook.accepted (Counter by Idempotency-Key) ...

``fail_keys`` answers a status for requests whose JSON has a given ``dedup_key``;
``hold`` parks every request until ``release`` is set (for kill-while-sending tests);
``processed`` lists the keys a receiver that dedups by Idempotency-Key would act on.
With ``secret`` set, requests whose X-Monitord-Signature does not verify get 401.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Seen:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HookReceiver:
    secret: str | None = None
    script: list[int] = field(default_factory=list)  # statuses of the next requests
    fail_keys: dict[str, int] = field(default_factory=dict)  # dedup_key -> status
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b""
    hold: bool = False
    requests: list[Seen] = field(default_factory=list)
    accepted: Counter[str] = field(default_factory=Counter)  # 2xx answers by Idempotency-Key
    # What a receiver that dedups by Idempotency-Key acts on: each key once, in arrival order.
    processed: list[str] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        return app

    def verify(self, headers: dict[str, str], body: bytes) -> bool:
        assert self.secret is not None
        stamp = headers.get("X-Monitord-Timestamp", "")
        expected = hmac.new(self.secret.encode(), stamp.encode() + b"." + body,
                            hashlib.sha256).hexdigest()
        return hmac.compare_digest(headers.get("X-Monitord-Signature", ""),
                                   f"sha256={expected}")

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        self.requests.append(Seen(headers, body))
        self.arrived.set()
        if self.hold:
            await self.release.wait()
        status = 200
        if self.secret is not None and not self.verify(headers, body):
            status = 401
        elif self.script:
            status = self.script.pop(0)
        else:
            key = json.loads(body).get("dedup_key") if body.startswith(b"{") else None
            status = self.fail_keys.get(key, 200) if isinstance(key, str) else 200
        if 200 <= status < 300:
            key = headers.get("Idempotency-Key", "")
            self.accepted[key] += 1
            if key not in self.processed:
                self.processed.append(key)
        return web.Response(status=status, body=self.response_body,
                            headers=self.response_headers)
