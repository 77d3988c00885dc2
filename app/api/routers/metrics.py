"""``GET /metrics``: the Prometheus exposition, read from the database at scrape time.

Every metric comes from the database, none from process memory, so any number of API processes serve the
same figures and no multiprocess registry is needed.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text exposition"}},
    summary="Prometheus metrics: scorecard gauges, ingest counters, source and worker health",
)
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST)
