"""``GET /api/v1/checks/{name}/history?since=TIME&until=TIME``: the kept rows, JSON.

``since`` defaults to 24 hours before ``until``, ``until`` to now; both are ISO 8601 with an
offset. Raw results come where ``history_raw`` still keeps them, 5-minute rollups per
location before that.
"""

from __future__ import annotations

import json
from datetime import timedelta

from aiohttp import web

from monitord.api import timefmt
from monitord.api.auth import TokenGate
from monitord.api.views import HistoryBucket, HistorySample, Views

MAX_RANGE = timedelta(days=400)


def _error(status: type[web.HTTPError], message: str) -> web.HTTPError:
    return status(text=json.dumps({"error": message}), content_type="application/json")


def sample_json(sample: HistorySample) -> dict[str, object]:
    return {"at": timefmt.iso(sample.at), "location": sample.location,
            "status": sample.status.name,
            "phase": sample.phase.value if sample.phase else None,
            "duration_ms": round(sample.duration_ms, 3)}


def bucket_json(bucket: HistoryBucket, phases: list[str]) -> dict[str, object]:
    return {"start": timefmt.iso(bucket.start), "seconds": bucket.seconds,
            "location": bucket.location, "count": bucket.count, "failures": bucket.failures,
            "worst": bucket.worst.name, "min_ms": round(bucket.min_ms, 3),
            "mean_ms": round(bucket.mean_ms, 3), "max_ms": round(bucket.max_ms, 3),
            "phases_ms": {n: round(v, 3) for n, v in zip(phases, bucket.phases) if v}}


def history_routes(app: web.Application, gate: TokenGate, views: Views) -> None:
    async def history(request: web.Request) -> web.Response:
        gate.require(request, write=False)
        name = request.match_info["name"]
        if views.history is None or name not in {c.name for c in views.checks.checks()}:
            raise _error(web.HTTPNotFound, f"no check {name}")
        now = views.clock.now()
        try:
            until = timefmt.parse(request.query["until"], "until") \
                if "until" in request.query else now
            since = timefmt.parse(request.query["since"], "since") \
                if "since" in request.query else until - timedelta(hours=24)
        except ValueError as exc:
            raise _error(web.HTTPBadRequest, str(exc)) from None
        if since >= until:
            raise _error(web.HTTPBadRequest, "since must be before until")
        if until - since > MAX_RANGE:
            raise _error(web.HTTPBadRequest, "the range may span at most 400 days")
        # Rows are stamped to the second: the second of ``until`` is included.
        rows = await views.history.rows(name, int(since.timestamp()),
                                        int(until.timestamp()) + 1)
        phases = list(views.history.phases)
        return web.json_response({
            "check": name, "since": timefmt.iso(since), "until": timefmt.iso(until),
            "raw": [sample_json(s) for s in rows.raw],
            "rollups": [bucket_json(b, phases) for b in rows.rollups],
        })

    app.router.add_get("/api/v1/checks/{name}/history", history)
