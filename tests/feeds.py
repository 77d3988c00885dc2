"""Scripted platform feeds for pull and worker tests: fixed records, paged by index, with misbehaviours."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

T0 = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def call(n: int, *, outcome: str | None = "answered", minutes: int = 0, state: str | None = None) -> dict[str, Any]:
    arrived = T0 + timedelta(minutes=n)
    record: dict[str, Any] = {
        "call_id": f"c{n:05d}", "region": "SE-AC", "queue": "q", "arrived_at": iso(arrived), "outcome": outcome,
        "updated_at": iso(arrived + timedelta(minutes=minutes)), "state": state or (outcome or "queued"),
    }
    if outcome == "answered":
        record["answered_at"] = iso(arrived + timedelta(seconds=90))
    if outcome == "abandoned":
        record["ended_at"] = iso(arrived + timedelta(seconds=200))
    return record


class ScriptedFeed:
    """A feed of fixed records, paged by index; ``script`` may replace the n-th response with a misbehaviour."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = sorted(records, key=lambda r: r["updated_at"])
        self.script: dict[int, Callable[[], Response]] = {}
        self.requests: list[dict[str, str]] = []
        self.delay_first: float = 0.0
        self.repeat_pages = False

    async def handle(self, request: Request) -> Response:
        n = len(self.requests)
        self.requests.append(dict(request.query_params) | {"auth": request.headers.get("authorization", "")})
        if n == 0 and self.delay_first:
            await asyncio.sleep(self.delay_first)
        if n in self.script:
            return self.script[n]()
        limit = int(request.query_params.get("limit", "100"))
        since = request.query_params.get("since")
        if since and since.startswith("idx:"):
            start = int(since[4:])
        elif since:
            start = next((i for i, r in enumerate(self.records) if r["updated_at"] >= since.replace("+00:00", "Z")),
                         len(self.records))
        else:
            start = 0
        if self.repeat_pages and since and since.startswith("idx:"):
            start = 0
        page = self.records[start:start + limit]
        end = start + len(page)
        return JSONResponse({"records": page, "next_cursor": f"idx:{end}", "has_more": end < len(self.records),
                             "remaining": len(self.records) - end})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/calls", self.handle)])
