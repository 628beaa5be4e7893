"""Operator endpoints: incidents, acknowledgements and silences (all need the API token)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import structlog
from aiohttp import web

from monitord.api.auth import TokenGate
from monitord.api.status import incident_json, silence_json
from monitord.api.views import Views
from monitord.compat import timeout
from monitord.config.durations import parse_duration
from monitord.qualify.engine import UnknownIncident

log = structlog.get_logger("monitord.api")

MAX_COMMENT = 2000
MAX_MATCHERS = 20
MAX_SILENCE = timedelta(days=366)
REQUEST_TIMEOUT: web.AppKey[float] = web.AppKey("request_timeout", float)


def _bad(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}),
                              content_type="application/json")


async def _json_body(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object, read within the request timeout (a slow sender gets 408)."""
    try:
        async with timeout(request.app[REQUEST_TIMEOUT]):
            raw = await request.read()
    except (TimeoutError, asyncio.TimeoutError):  # distinct classes on Python 3.10
        raise web.HTTPRequestTimeout(text=json.dumps({"error": "the body came too slowly"}),
                                     content_type="application/json") from None
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: deep nesting
        raise _bad("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise _bad("the body must be a JSON object")
    return body


def _text(body: dict[str, Any], key: str, default: str = "", limit: int = MAX_COMMENT) -> str:
    value = body.get(key, default)
    if not isinstance(value, str) or len(value) > limit:
        raise _bad(f"{key}: expected a string of at most {limit} characters")
    return value


def _time(value: Any, key: str) -> datetime:
    if not isinstance(value, str):
        raise _bad(f"{key}: expected an ISO 8601 time with offset")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(f"{key}: expected an ISO 8601 time with offset, got {value!r}") from None
    if when.tzinfo is None:
        raise _bad(f"{key}: the time needs an offset (e.g. Z or +01:00)")
    return when.astimezone(timezone.utc)


def _silence_times(body: dict[str, Any], now: datetime) -> tuple[datetime, datetime]:
    """(starts_at, ends_at) of a new silence: starts now unless told; ends_at or a duration.
    Both within MAX_SILENCE of now, so that no later date arithmetic can overflow."""
    starts = _time(body["starts_at"], "starts_at") if "starts_at" in body else now
    if "ends_at" in body:
        ends = _time(body["ends_at"], "ends_at")
    elif "duration" in body:
        try:
            seconds = parse_duration(str(body["duration"]))
            if not 0 < seconds <= MAX_SILENCE.total_seconds():
                raise ValueError(f"expected at most {MAX_SILENCE.days} days")
            ends = starts + timedelta(seconds=seconds)
        except (ValueError, OverflowError) as exc:
            raise _bad(f"duration: {exc}") from None
    else:
        raise _bad("give ends_at or duration")
    if ends <= starts:
        raise _bad("ends_at must be after starts_at")
    for key, when in (("starts_at", starts), ("ends_at", ends)):
        if abs(when - now) > MAX_SILENCE:
            raise _bad(f"{key}: expected a time within {MAX_SILENCE.days} days of now")
    return starts, ends


def _matchers(body: dict[str, Any]) -> list[str]:
    matchers = body.get("matchers")
    if (not isinstance(matchers, list) or not matchers or len(matchers) > MAX_MATCHERS
            or not all(isinstance(m, str) for m in matchers)):
        raise _bad(f"matchers: expected 1 to {MAX_MATCHERS} strings like \"service=shop\"")
    return matchers


def _not_found(message: str) -> web.HTTPNotFound:
    return web.HTTPNotFound(text=json.dumps({"error": message}),
                            content_type="application/json")


def operator_routes(app: web.Application, gate: TokenGate, views: Views) -> None:
    """Incidents (list, acknowledge) and silences (list, add, expire), over the views."""
    alerts, silences, clock = views.incidents, views.silences, views.clock

    async def incidents(request: web.Request) -> web.Response:
        gate.require(request, write=True)
        listed = [incident_json(i, alerts) for i in alerts.incidents()]
        return web.json_response({"incidents": listed})

    async def ack(request: web.Request) -> web.Response:
        gate.require(request, write=True)
        body = await _json_body(request) if request.can_read_body else {}
        by = _text(body, "by", "api", limit=200)
        comment = _text(body, "comment")
        incident = request.match_info["id"]
        try:
            events = await alerts.acknowledge(incident, by, comment)
        except UnknownIncident:
            raise _not_found(f"no open incident {incident}") from None
        log.info("incident_acknowledged", incident=incident, by=by)
        return web.json_response({"acknowledged": incident, "events": len(events)})

    async def list_silences(request: web.Request) -> web.Response:
        gate.require(request, write=True)
        now = clock.now()
        return web.json_response({"silences": [silence_json(s, now)
                                               for s in silences.silences(now)]})

    async def add_silence(request: web.Request) -> web.Response:
        gate.require(request, write=True)
        body = await _json_body(request)
        matchers = _matchers(body)
        starts, ends = _silence_times(body, clock.now())
        try:
            silence = await silences.add_silence(
                matchers, starts, ends, _text(body, "created_by", "api", limit=200),
                _text(body, "comment"))
        except ValueError as exc:
            raise _bad(str(exc)) from None
        log.info("silence_added", id=silence.id, matchers=matchers, by=silence.created_by)
        return web.json_response({"id": silence.id}, status=201)

    async def expire_silence(request: web.Request) -> web.Response:
        gate.require(request, write=True)
        silence_id = request.match_info["id"]
        try:
            await silences.expire_silence(silence_id)
        except KeyError:
            raise _not_found(f"no silence {silence_id}") from None
        log.info("silence_expired", id=silence_id)
        return web.json_response({"expired": silence_id})

    app.router.add_get("/api/v1/incidents", incidents)
    app.router.add_post("/api/v1/incidents/{id}/ack", ack)
    app.router.add_get("/api/v1/silences", list_silences)
    app.router.add_post("/api/v1/silences", add_silence)
    app.router.add_delete("/api/v1/silences/{id}", expire_silence)
