"""The agent's HTTP link to the central daemon: the assignment (ETag) and result batches.

TLS: the system's trust store, or ``ca_file`` (a private CA); ``tls_verify = false`` only for
tests and labs. The token is sent as ``Authorization: Bearer …`` and never logged.
"""

from __future__ import annotations

import asyncio
import io
import ssl
from dataclasses import dataclass

import aiohttp

from monitord.agent.config import CentralSection

MAX_RESPONSE = 16 * 1024 * 1024  # an assignment of many thousand checks fits


class CentralUnreachable(Exception):
    """No answer, or a 5xx: retry later, keep buffering."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes
    etag: str | None = None


def ssl_context(central: CentralSection) -> ssl.SSLContext | bool:
    if not central.url.startswith("https:"):
        return True  # unused for http
    if not central.tls_verify:
        return False
    return ssl.create_default_context(cafile=central.ca_file)


class Link:
    def __init__(self, central: CentralSection, token: str) -> None:
        self.central = central
        self._headers = {"Authorization": f"Bearer {token}"}
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=ssl_context(central), limit=4),
            timeout=aiohttp.ClientTimeout(total=central.timeout),
        )

    async def close(self) -> None:
        await self._session.close()

    async def _request(self, method: str, path: str, body: bytes | None = None,
                       etag: str | None = None) -> Answer:
        headers = dict(self._headers)
        if etag:
            headers["If-None-Match"] = etag
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            payload = io.BytesIO(body) if body is not None else None  # streamed, not copied
            async with self._session.request(method, self.central.url + path, data=payload,
                                             headers=headers) as response:
                data = await response.content.read(MAX_RESPONSE)
                answer = Answer(response.status, data, response.headers.get("ETag"))
        except (aiohttp.ClientError, TimeoutError, asyncio.TimeoutError, OSError) as exc:
            raise CentralUnreachable(f"{type(exc).__name__}: {exc}") from None
        if answer.status >= 500:
            raise CentralUnreachable(f"HTTP {answer.status}")
        return answer

    async def assignment(self, etag: str | None) -> Answer:
        return await self._request("GET", "/api/v1/agent/assignment", etag=etag)

    async def post(self, body: bytes) -> Answer:
        return await self._request("POST", "/api/v1/results", body)
