"""A contact-centre platform's API, serving the simulated stream over real HTTP (SPEC §3, §10).

``GET /calls?since=CURSOR&limit=N`` and ``GET /intervals?since=...`` return paged JSON:
``{"records": [...], "next_cursor": "...", "has_more": bool, "remaining": int, "server_time": "..."}``.
Records appear as simulated time passes; calls are published while queued and again when their outcome
is known. The pull source is tested against this server end to end.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.kpi.localtime import utc_iso
from app.sim.feed import Feed, SimClock
from app.sim.model import SimConfig

MAX_PAGE = 5000


@dataclass(frozen=True)
class PlatformOptions:
    config: SimConfig
    start: datetime  # the feed begins with calls arriving at or after this instant
    clock_origin: datetime  # simulated "now" when the server starts
    speed: float = 1.0  # simulated seconds per wall-clock second; 0 freezes the clock
    lag_share: float = 0.03
    token: str | None = None  # when set, requests need "Authorization: Bearer <token>"
    interval_minutes: int = 15


def create_platform_app(options: PlatformOptions, clock: SimClock | None = None) -> Starlette:
    """``clock`` lets a test move simulated time by hand; by default it runs at ``options.speed``."""
    clock = clock or SimClock(options.clock_origin.astimezone(UTC), options.speed)
    feeds = {
        kind: Feed(kind, options.config, options.start.astimezone(UTC), clock, lag_share=options.lag_share,
                   interval_minutes=options.interval_minutes)
        for kind in ("calls", "intervals")
    }

    def authorised(request: Request) -> bool:
        if options.token is None:
            return True
        return hmac.compare_digest(request.headers.get("authorization", ""), f"Bearer {options.token}")

    async def serve(request: Request) -> JSONResponse:
        if not authorised(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        kind = request.url.path.strip("/")
        try:
            limit = int(request.query_params.get("limit", "1000"))
        except ValueError:
            return JSONResponse({"error": "limit must be an integer"}, status_code=400)
        if not 1 <= limit <= MAX_PAGE:
            return JSONResponse({"error": f"limit must be between 1 and {MAX_PAGE}"}, status_code=400)
        try:
            page = feeds[kind].page(request.query_params.get("since"), limit)
        except ValueError as exc:
            return JSONResponse({"error": f"bad cursor: {exc}"}, status_code=400)
        return JSONResponse({
            "records": page.records, "next_cursor": page.next_cursor, "has_more": page.has_more,
            "remaining": page.remaining, "server_time": utc_iso(page.server_time),
        })

    async def status(_request: Request) -> JSONResponse:
        return JSONResponse({"server_time": utc_iso(clock.now()), "speed": options.speed,
                             "regions": list(options.config.regions)})

    return Starlette(routes=[
        Route("/calls", serve), Route("/intervals", serve), Route("/status", status),
    ])
