"""Webhook receivers: a JSON POST per notification (per incident for PagerDuty), over aiohttp.

Headers on every request: ``Content-Type: application/json``, ``Idempotency-Key`` (the
notification id; ``<id>:<incident>`` for PagerDuty events, stable across retries), the
configured headers and auth, and with ``secret_file`` the signature pair::

    X-Monitord-Timestamp: 1767603600
    X-Monitord-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>

Error handling: connection errors, timeouts, 408, 429 and 5xx are retryable (a
``Retry-After`` is passed on to the outbox); redirects and other 4xx are permanent. Only the
first ``max_body`` bytes of a response are read.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from monitord import __version__
from monitord.compat import timeout
from monitord.config.secrets import read_secret
from monitord.model import Notification
from monitord.notify.base import (
    NO_CONTEXT,
    DeliveryResult,
    SendContext,
    SenderEnv,
    Verdict,
    tls_context,
)
from monitord.notify.config import WebhookReceiver
from monitord.notify.formats import alertmanager, json_format, pagerduty

MAX_RETRY_AFTER = 3600.0  # a receiver cannot park our queue for longer than this per attempt
_REASON_CHARS = 200


class WebhookSender:
    def __init__(self, receiver: WebhookReceiver, env: SenderEnv) -> None:
        self.name = receiver.name
        self.receiver = receiver
        self.env = env
        self._session: aiohttp.ClientSession | None = None
        # Built now, not at the first send: a bad ca_file fails the start or the reload
        # (which then keeps the old senders), never a 3 a.m. page.
        self._ssl = tls_context(receiver.ca_file, receiver.tls_verify)

    async def send(self, notification: Notification,
                   context: SendContext = NO_CONTEXT) -> DeliveryResult:
        # Secrets are read at each send (a rotated file is picked up), off the event loop.
        try:
            headers = await self._static_headers()
            routing_key = (await read_secret(self.receiver.routing_key)
                           if self.receiver.routing_key else "")
        except (OSError, KeyError) as exc:
            # Kept and retried: the operator can fix the file, and the receiver alert says so.
            return DeliveryResult.retry(f"cannot read a secret of receiver {self.name}: {exc}")
        if self.receiver.format == "pagerduty":
            return await self._send_events(notification, context, headers, routing_key)
        render = alertmanager.render if self.receiver.format == "alertmanager" else \
            json_format.render
        body = render(notification, external_url=self.env.external_url)
        return await self._post(body, headers, key=notification.id)

    async def _send_events(self, notification: Notification, context: SendContext,
                           headers: Mapping[str, str], routing_key: str) -> DeliveryResult:
        """PagerDuty: one request per incident; a retry sends only the events not accepted."""
        events = pagerduty.render(notification, routing_key, external_url=self.env.external_url)
        todo = [e for e in events if context.parts is None or e["dedup_key"] in context.parts]
        refused: list[str] = []
        for index, event in enumerate(todo):
            key = f"{notification.id}:{event['dedup_key']}"
            result = await self._post(event, headers, key=key)
            if result.verdict is Verdict.RETRYABLE:
                remaining = tuple(e["dedup_key"] for e in todo[index:])
                return DeliveryResult.retry(result.reason, retry_after=result.retry_after,
                                            remaining=remaining)
            if not result.ok:
                refused.append(f"{event['dedup_key']}: {result.reason}")
        if refused and len(refused) == len(todo):
            return DeliveryResult.give_up("; ".join(refused))
        return DeliveryResult.delivered("; ".join(refused))

    async def _static_headers(self) -> dict[str, str]:
        headers = {"User-Agent": f"monitord/{__version__}", **self.receiver.headers}
        if self.receiver.bearer_token is not None:
            headers["Authorization"] = f"Bearer {await read_secret(self.receiver.bearer_token)}"
        elif self.receiver.username is not None and self.receiver.password is not None:
            password = await read_secret(self.receiver.password)
            pair = f"{self.receiver.username}:{password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        return headers

    async def _sign(self, body: bytes) -> dict[str, str]:
        if self.receiver.secret is None:
            return {}
        secret = await read_secret(self.receiver.secret)
        stamp = str(int(self.env.clock.now().timestamp()))
        digest = hmac.new(secret.encode(), stamp.encode() + b"." + body,
                          hashlib.sha256).hexdigest()
        return {"X-Monitord-Timestamp": stamp, "X-Monitord-Signature": f"sha256={digest}"}

    async def _post(self, payload: Any, headers: Mapping[str, str], *, key: str) -> DeliveryResult:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        try:
            request_headers = {**headers, "Content-Type": "application/json",
                               "Idempotency-Key": key, **await self._sign(body)}
        except (OSError, KeyError) as exc:
            return DeliveryResult.retry(f"cannot read the signing secret: {exc}")
        session = self._get_session()
        try:
            async with (
                timeout(self.receiver.timeout),
                session.post(self.receiver.url, data=body, headers=request_headers,
                             allow_redirects=False) as response,
            ):
                text = await response.content.read(self.receiver.max_body)
                return self._classify(response.status, response.headers, text)
        except (TimeoutError, asyncio.TimeoutError):  # distinct classes on Python 3.10
            return DeliveryResult.retry(f"no answer within {self.receiver.timeout:g}s")
        except (aiohttp.ClientError, OSError) as exc:
            return DeliveryResult.retry(f"{type(exc).__name__}: {exc}")

    def _classify(self, status: int, headers: Mapping[str, str], text: bytes) -> DeliveryResult:
        if 200 <= status < 300:
            return DeliveryResult.delivered()
        snippet = " ".join(text[:_REASON_CHARS * 4].decode("utf-8", "replace").split())
        reason = f"HTTP {status}" + (f": {snippet[:_REASON_CHARS]}" if snippet else "")
        if status in (408, 429) or status >= 500:
            retry_after = parse_retry_after(headers.get("Retry-After"), self.env.clock.now())
            return DeliveryResult.retry(reason, retry_after=retry_after)
        if 300 <= status < 400:
            where = headers.get("Location", "?")
            return DeliveryResult.give_up(f"{reason} (redirected to {where}: fix the url)")
        return DeliveryResult.give_up(reason)

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl, limit=4),
                trust_env=False,  # no proxy from the environment: the URL is what is reached
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or HTTP-date), bounded; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - now).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)
