"""Sources and their freshness (SPEC §7). A source's config is never shown whole: it may hold auth headers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path

from app.api.alerts_schemas import NO_CONTROL_CHARS
from app.api.auth import require_scope
from app.api.deps import SessionDep
from app.api.ingest_queries import get_source, list_sources
from app.api.ingest_schemas import SourceOut
from app.api.schemas import ErrorBody

router = APIRouter(prefix="/api/v1", tags=["sources"], dependencies=[Depends(require_scope("read"))])


@router.get("/sources", response_model=list[SourceOut], summary="Every source, its freshness and its latest run")
def get_sources(session: SessionDep) -> list[SourceOut]:
    return list_sources(session)


@router.get(
    "/sources/{name}",
    response_model=SourceOut,
    responses={
        404: {"model": ErrorBody, "description": "No such source"},
        422: {"model": ErrorBody, "description": "The name is too long or holds control characters"},
    },
    summary="One source",
)
def get_one_source(
    session: SessionDep, name: Annotated[str, Path(max_length=128, pattern=NO_CONTROL_CHARS)]
) -> SourceOut:
    source = get_source(session, name)
    if source is None:
        raise HTTPException(404, f"no source {name!r}")
    return source
