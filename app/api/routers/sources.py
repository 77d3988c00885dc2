"""Sources and their freshness (SPEC §7); making push sources, preferring one and removing sources (admin, audited).

A source's config is never shown whole: it may hold auth headers. Pushes create no sources (but the default
``push``): an admin makes each push source here or with ``vpt sources add NAME --kind push``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from app.api.alerts_schemas import NO_CONTROL_CHARS
from app.api.auth import Principal, remote_addr, require_scope
from app.api.deps import SessionDep, SettingsDep
from app.api.ingest_schemas import SourceOut
from app.api.schemas import ErrorBody
from app.ingest.conflicts import NoSuchSource
from app.ingest.lock import LockWait
from app.ingest.profile_choice import usable_profile
from app.ingest.profiles.model import NAME as PROFILE_NAME
from app.ingest.queries import get_source, list_sources
from app.ingest.runs import UnknownSource
from app.ingest.source_admin import create_push_source, remove_source, reserved_names, set_preferred
from app.ingest.sources import NAME

router = APIRouter(prefix="/api/v1", tags=["sources"])

ReadScope = [Depends(require_scope("read"))]
AdminPrincipal = Annotated[Principal, Depends(require_scope("admin"))]
BUSY: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorBody, "description": "An ingest or recompute held the ingest lock longer than "
          "VPT_INGEST_LOCK_WAIT_SECONDS (ingest_busy; nothing changed, retry)"},
}
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorBody, "description": "The name is too long or holds other characters than A–Z, a–z, 0–9, "
          "'.', '_', '-'"},
}
SourceName = Annotated[str, Path(max_length=128, pattern=NAME.pattern, description="The source's name")]


class SourceIn(BaseModel):
    name: str = Field(pattern=NAME.pattern, max_length=128, description="Unique among all sources",
                      examples=["platform-norra"])
    kind: Literal["push"] = Field(default="push", description="Only push sources are made here; pull sources "
                                  "with `vpt sources add NAME --url URL`")
    profile: str | None = Field(default=None, pattern=f"^{PROFILE_NAME.pattern}$", max_length=64,
                                description="The import profile its pushes are read through when they name none "
                                "(`vpt profiles list`); an unknown or broken one is a 422 naming the usable ones. "
                                "Given for a push source that exists, it replaces its profile",
                                examples=["se-statistik-dag"])


class SourcePatch(BaseModel):
    """What an admin may change of any source. Unknown fields are refused, not ignored: a misspelt one would
    otherwise answer 200 having changed nothing."""

    model_config = ConfigDict(extra="forbid")

    preferred: StrictBool = Field(description="Whether its interval records win where they overlap another source's "
                                  "for one region and queue: its deliveries then supersede the other's overlapped "
                                  "rows (kept, no longer counted), and the other's overlapping deliveries are "
                                  "rejected naming it. Rows already superseded stay so when the mark is taken away",
                                  examples=[True])


class SourceRemovalOut(BaseModel):
    name: str
    kind: str = Field(description="file, push or http")
    purged: bool = Field(description="Whether its records were deleted with it")
    calls: int = Field(description="Call records deleted with it")
    intervals: int = Field(description="Interval records deleted with it")
    runs: int = Field(description="Ingest runs deleted with it")
    rejected_rows: int = Field(description="Rejected rows deleted with it")
    hours_refreshed: int = Field(description="Hours of aggregates rebuilt from the records that remain")
    restored: int = Field(default=0, description="Interval records of other sources it had superseded (it was "
                          "preferred) that count again: those nothing that remains overlaps")


@router.get("/sources", response_model=list[SourceOut], dependencies=ReadScope,
            summary="Every source, its freshness and its latest run")
def get_sources(session: SessionDep) -> list[SourceOut]:
    return [SourceOut.of(view) for view in list_sources(session)]


@router.get(
    "/sources/{name}",
    response_model=SourceOut,
    dependencies=ReadScope,
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
    return SourceOut.of(source)


@router.post(
    "/sources",
    response_model=SourceOut,
    status_code=201,
    responses={
        200: {"model": SourceOut, "description": "The push source existed already: nothing changed (but the profile, "
              "when another was given)"},
        409: {"model": ErrorBody, "description": "The name belongs to a file or pull source, or is reserved for "
              "file ingests (a drop folder's, VPT_DEFAULT_SOURCE)"},
        **BUSY,
        422: {"model": ErrorBody, "description": INVALID[422]["description"] + "; or the profile is unknown or "
              "broken (unknown_profile, profile_invalid: naming the usable ones)"},
    },
    summary="Make a push source (admin); ingest keys may then push to it",
)
def post_source(
    session: SessionDep, settings: SettingsDep, principal: AdminPrincipal, body: SourceIn, request: Request,
    response: Response,
) -> SourceOut:
    # source_kind_mismatch and source_name_reserved (409), ingest_busy (503), unknown_profile (422): the handler's
    if body.profile is not None:
        usable_profile(settings, body.profile)
    source, made = create_push_source(session, body.name, reserved_names(settings),
                                      LockWait(settings.ingest_lock_wait_seconds, "api source.create"),
                                      actor=principal.actor, remote_addr=remote_addr(request), profile=body.profile)
    if not made:
        response.status_code = 200
    out = get_source(session, source.name)
    assert out is not None  # made or found in this transaction
    return SourceOut.of(out)


@router.delete(
    "/sources/{name}",
    response_model=SourceRemovalOut,
    responses={
        404: {"model": ErrorBody, "description": "No such source"},
        409: {"model": ErrorBody, "description": "The source holds records or ingest runs and purge is not true "
              "(source_not_empty; nothing changed)"},
        **BUSY,
        **INVALID,
    },
    summary="Remove a source (admin); one holding records only with purge=true, which deletes them too",
    description="A purge deletes the source's calls, interval records, ingest runs and rejected rows and rebuilds "
    "the aggregates of the hours they touched, in one transaction with its audit row (source.remove). API keys "
    "bound to the name keep their binding.",
)
def delete_source(
    session: SessionDep, settings: SettingsDep, principal: AdminPrincipal, request: Request, name: SourceName,
    purge: Annotated[bool, Query(description="Also delete its records, runs and rejected rows")] = False,
) -> SourceRemovalOut:
    try:  # source_not_empty (409) and ingest_busy (503) go to the error handler
        removal = remove_source(session, name, purge=purge,
                                lock=LockWait(settings.ingest_lock_wait_seconds, "api source.remove"),
                                actor=principal.actor, remote_addr=remote_addr(request))
    except UnknownSource:  # its own text tells how to make a push source: here only that there is none
        raise HTTPException(404, f"no source {name!r}") from None
    return SourceRemovalOut(name=removal.name, **removal.details())


@router.patch(
    "/sources/{name}",
    response_model=SourceOut,
    responses={
        404: {"model": ErrorBody, "description": "No such source"},
        **BUSY,
        422: {"model": ErrorBody, "description": INVALID[422]["description"] + "; or the body is not an object "
              "with a boolean preferred and nothing else"},
    },
    summary="Change a source (admin): whether it is preferred where its interval records overlap another's",
    description="The same change as `vpt sources prefer NAME [--no-prefer]`, under the ingest lock, with its audit "
    "row (source.update) when it changes something; setting what is set already changes nothing.",
)
def patch_source(
    session: SessionDep, settings: SettingsDep, principal: AdminPrincipal, request: Request, name: SourceName,
    body: SourcePatch,
) -> SourceOut:
    try:  # ingest_busy (503) goes to the error handler
        set_preferred(session, name, body.preferred,
                      lock=LockWait(settings.ingest_lock_wait_seconds, "api source.update"),
                      actor=principal.actor, remote_addr=remote_addr(request))
    except NoSuchSource:
        raise HTTPException(404, f"no source {name!r}") from None
    out = get_source(session, name)
    assert out is not None  # found in this transaction
    return SourceOut.of(out)
