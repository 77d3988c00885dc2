"""``GET /metrics``: the Prometheus exposition, read from the database at scrape time.

Every metric comes from the database, none from process memory, so any number of API processes serve the
same figures and no multiprocess registry is needed.

With ``VPT_METRICS_TOKEN`` set, a scrape must send ``Authorization: Bearer <token>`` (Prometheus:
``authorization: {credentials: ...}``); the token is compared in constant time. Without it, the endpoint is
open, as scrapers usually expect: the figures are aggregates, never a caller or a key.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Security
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST

from app.api.auth import unauthorized
from app.api.schemas import ErrorBody
from app.metrics.exposition import render

router = APIRouter(tags=["metrics"])

metrics_scheme = HTTPBearer(auto_error=False, scheme_name="MetricsToken",
                            description="`Authorization: Bearer <VPT_METRICS_TOKEN>`, needed only when it is set")


def metrics_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(metrics_scheme)]
) -> None:
    token = request.app.state.settings.metrics_token
    if token is None:
        return
    presented = credentials.credentials.encode() if credentials is not None else b""
    if not hmac.compare_digest(presented, token.get_secret_value().encode()):
        raise unauthorized("a scrape needs `Authorization: Bearer <VPT_METRICS_TOKEN>`")


@router.get(
    "/metrics",
    response_class=Response,
    dependencies=[Depends(metrics_token)],
    openapi_extra={"security": [{}]},  # appended to MetricsToken: the token is optional (needed only when set)
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text exposition"},
               401: {"model": ErrorBody, "description": "VPT_METRICS_TOKEN is set and the request did not send it"}},
    summary="Prometheus metrics: scorecard gauges, ingest counters, source and worker health",
)
def metrics(request: Request) -> Response:
    # generate_latest's bytes, with the label texts kept from scrape to scrape (app/metrics/exposition.py)
    return Response(render(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST)
