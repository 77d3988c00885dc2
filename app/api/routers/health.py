from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.api.schemas import Health, WorkerStatus
from app.db.leases import heartbeat_is_stale, latest_heartbeat

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is alive")
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    responses={503: {"model": Health, "description": "The database cannot be reached"}},
    summary="Ready to serve: the database answers",
)
def readyz(request: Request) -> Health | JSONResponse:
    """Ready when the database answers. The worker's heartbeat is reported; it makes the API unready only
    with ``VPT_READY_REQUIRES_WORKER=true``, since an API taken out of rotation helps no one read figures."""
    settings = request.app.state.settings
    try:
        with request.app.state.session_factory() as session:
            session.execute(text("SELECT 1"))
            heartbeat = latest_heartbeat(session)
    except Exception:
        return JSONResponse({"status": "unavailable", "detail": "database unreachable"}, status_code=503)
    worker = None
    if heartbeat is not None:
        stale = heartbeat.state != "running" or heartbeat_is_stale(
            heartbeat.beat_at, datetime.now(UTC), settings.worker_heartbeat_seconds
        )
        worker = WorkerStatus(worker_id=heartbeat.worker_id, state=heartbeat.state, beat_at=heartbeat.beat_at,
                              stale=stale, current_job=heartbeat.current_job)
    if settings.ready_requires_worker and (worker is None or worker.stale):
        body = Health(status="unavailable", detail="no live worker heartbeat", worker=worker)
        return JSONResponse(body.model_dump(mode="json"), status_code=503)
    return Health(status="ok", worker=worker)
