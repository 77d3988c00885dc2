"""Push ingest of files and visibility into ingest runs, their rejected rows and warnings (SPEC §3, §7).

A push is one delivery: the body is spooled (to disk past a small size, never whole in memory), then
handed to ``ingest_bytes``, which owns its transaction. Its Content-Type chooses the format among those of its
record kind (app.ingest.formats). The push handlers therefore take no request
session. Re-pushing a delivery stores nothing new: its rows come back as ``rows_unchanged``.

``?profile=NAME`` reads the push through that import profile instead, whatever its Content-Type, and so does a push
to a source that has a profile and names none; ``?profile=auto`` lets detection choose (app.ingest.profile_choice).
``?dry_run=true`` reads, maps and checks the push as it would be ingested and answers what it would give
(app.ingest.dry_run), storing nothing and recording no run; it needs what the push itself would need.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from tempfile import SpooledTemporaryFile
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from app.api.alerts_schemas import NO_CONTROL_CHARS
from app.api.auth import Principal, require_scope
from app.api.deps import SessionDep, SettingsDep
from app.api.ingest_schemas import (
    DryRunOut,
    FieldWarningOut,
    IngestRunOut,
    IngestRunPage,
    IngestWarningPage,
    PushAnswer,
    PushErrorBody,
    PushReport,
    RejectedRowPage,
    RejectionOut,
    RunStatus,
)
from app.api.limits import too_large_detail
from app.api.schemas import ErrorBody
from app.config import Settings
from app.ingest.dry_run import DryRunReport, dry_run_delivery
from app.ingest.formats import FormatUnavailable, IngestFormat, builtin_formats, default_formats
from app.ingest.loader import Parser
from app.ingest.profile_choice import AUTO, Choice, choose
from app.ingest.profiles.detect import HEAD_BYTES
from app.ingest.profiles.model import NAME as PROFILE_NAME
from app.ingest.queries import get_run, list_rejected, list_runs, list_warnings, run_exists
from app.ingest.runs import DEFAULT_PUSH_SOURCE, RecordKind, RunReport, UnknownSource
from app.ingest.service import ingest_bytes
from app.ingest.source_admin import check_push_source
from app.kpi.records import SOURCE_NAME_PATTERN
from app.sanitize import clean

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/ingest", tags=["ingest"])

#: The media types of the built-in formats. The OpenAPI document lists those of every registered format, plugins'
#: too, when it is made (``_push_route``).
CONTENT_TYPES: tuple[str, ...] = tuple(dict.fromkeys(m for f in builtin_formats() for m in f.media_types))
SPOOL_IN_MEMORY = 1 << 20  # bytes of a body kept in memory before it goes to a temporary file
MAX_ID = 2**63 - 1  # BIGINT; a larger id would overflow the driver instead of finding nothing

IngestPrincipal = Annotated[Principal, Depends(require_scope("ingest"))]
ReadScope = [Depends(require_scope("read"))]
BAD_PARAMS: dict[int | str, dict[str, Any]] = {422: {"model": ErrorBody, "description": "A parameter is invalid"}}

SourceParam = Annotated[
    str,
    Query(pattern=SOURCE_NAME_PATTERN, max_length=128,
          description="A push source an admin made (POST /api/v1/sources); the default, push, is made by its "
          "first push. Record identity is unique per source"),
]
OriginParam = Annotated[
    str, Query(min_length=1, max_length=512, pattern=NO_CONTROL_CHARS,
               description="A label for this delivery, e.g. the file name")
]
ProfileParam = Annotated[
    str | None,
    Query(pattern=f"^{PROFILE_NAME.pattern}$", max_length=64,
          description="Read the body through this import profile (`vpt profiles list`, docs/profiles.md), "
          "whatever its Content-Type; `auto`: the profile detection names. Default: the source's profile, else the "
          "canonical format the Content-Type chooses. An unknown profile, or one of the other record kind, is a "
          "422 naming the profiles of this kind"),
]
DryRunParam = Annotated[
    bool,
    Query(description="Read, map and check the body as a push would, store nothing and record no run: the answer "
          "is what it would give (DryRunOut: rows, rejections and warnings by reason, the first records, per "
          "region and month the totals and KPIs)"),
]


def error_response(status: int, error: str, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": error, "detail": clean(detail), **extra}, status_code=status)  # may quote a header


def _format_of(record_kind: RecordKind, content_type: str | None) -> tuple[IngestFormat | None, tuple[str, ...]]:
    """The format the Content-Type chooses, and every media type pushes of ``record_kind`` may have. In a thread:
    the first call loads the plugins."""
    formats = default_formats()
    return formats.for_media_type(record_kind, content_type), formats.media_types(record_kind)


def _too_large(limit: int) -> JSONResponse:
    return error_response(413, "payload_too_large", too_large_detail(limit, "VPT_MAX_UPLOAD_BYTES"))


def _report_out(report: RunReport) -> PushReport:
    return PushReport(
        run_id=report.run_id, source=report.source, origin=report.origin,
        record_kind=report.record_kind, status=report.status,
        rows_read=report.rows_read, rows_stored=report.rows_stored, rows_updated=report.rows_updated,
        rows_unchanged=report.rows_unchanged, rows_rejected=report.rows_rejected,
        hours_refreshed=report.hours_refreshed, first_record_at=report.first_record_at,
        last_record_at=report.last_record_at, seconds=report.seconds,
        rejections=[
            RejectionOut(position=r.position, record_key=r.record_key, field=r.field, reason=r.reason)
            for r in report.rejections
        ],
        rows_warned=report.rows_warned, warnings=report.warnings,
        warning_sample=[
            FieldWarningOut(position=w.position, record_key=w.record_key, field=w.field, reason=w.reason)
            for w in report.warning_sample
        ],
    )


def _check_source(request: Request, source: str) -> str | None:
    """The source's profile, after ``check_push_source`` found the push may go there."""
    with request.app.state.session_factory() as session:
        return check_push_source(session, source)


async def _reader(
    request: Request, settings: Settings, record_kind: RecordKind, profile: str | None,
) -> Choice | JSONResponse | None:
    """How the body will be read, before it is: the named profile (its errors, 422, go to the error handler), the
    format the Content-Type chooses, or None for ``auto``, which needs the body's head."""
    if profile == AUTO:
        return None
    if profile is not None:
        return await run_in_threadpool(choose, settings, record_kind, profile, b"")
    chosen, accepted = await run_in_threadpool(_format_of, record_kind, request.headers.get("content-type"))
    if chosen is None:
        return error_response(
            415, "unsupported_media_type",
            f"Content-Type {request.headers.get('content-type')!r} is not accepted; send one of: {', '.join(accepted)}"
            " (or name an import profile: ?profile=NAME)",
        )
    try:
        parser: Parser = await run_in_threadpool(chosen.make_parser, settings)
    except FormatUnavailable as exc:  # the service's problem, not the delivery's: before the body is read
        return error_response(503, "format_unavailable", str(exc))
    return Choice(parser, f"format {chosen.name}")


async def _push(
    request: Request, settings: Settings, principal: Principal, record_kind: RecordKind, source: str, origin: str,
    profile: str | None = None, dry_run: bool = False,
) -> PushReport | DryRunOut | JSONResponse:
    if not principal.may_write(source):  # before the name is looked up: a bound key learns nothing of others
        return error_response(403, "forbidden", f"this API key may not write source {source!r}")
    try:  # before the body is read; a 409 (SourceKindMismatch) goes to its handler
        source_profile = await run_in_threadpool(_check_source, request, source)
    except UnknownSource as exc:
        return error_response(404, "not_found", str(exc))
    reader = await _reader(request, settings, record_kind, profile or source_profile)
    if isinstance(reader, JSONResponse):
        return reader
    limit = settings.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        log.warning("ingest.push.too_large", extra={"source": source, "declared": int(declared)})
        return _too_large(limit)
    with SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as body:
        size = 0
        async for chunk in request.stream():  # the declared length is not trusted: count what arrives
            size += len(chunk)
            if size > limit:
                log.warning("ingest.push.too_large", extra={"source": source, "received": size})
                return _too_large(limit)
            body.write(chunk)
        if size == 0:
            return error_response(422, "empty_body", "the body is empty: send a file for "
                                  + (reader.reader if reader is not None else "profile detection"))
        body.seek(0)
        if reader is None:  # profile=auto: detection reads the head (a NoProfileDetected 422 goes to its handler)
            head = body.read(HEAD_BYTES)
            body.seek(0)
            reader = await run_in_threadpool(choose, settings, record_kind, AUTO, head)
            assert reader is not None
        if dry_run:
            dry = await run_in_threadpool(_dry_run, request, settings, record_kind, body, origin, reader)
            log.info("ingest.push.dry_run", extra={"source": source, "principal": principal.name, "bytes": size,
                                                   "rows": dry.rows_read})
            return DryRunOut.model_validate(dry.to_dict())
        try:
            report = await run_in_threadpool(
                ingest_bytes, request.app.state.session_factory, settings, record_kind=record_kind, raw=body,
                parser=reader.parser, origin=origin, source_name=source, source_kind="push",
                max_rows=settings.max_upload_rows,
            )
        except UnknownSource as exc:  # removed while the body arrived
            return error_response(404, "not_found", str(exc))
    log.info("ingest.push.finished", extra={"run_id": report.run_id, "source": source, "principal": principal.name,
                                            "bytes": size})
    out = _report_out(report)
    if report.status == "rejected":  # the run's verdict: rows read, none stored (app.ingest.runs.RunReport)
        return error_response(
            422, "no_rows_stored",
            f"none of the {report.rows_read} rows could be stored; every row was rejected and kept: "
            f"see /api/v1/ingest/rejected?run={report.run_id}",
            report=out.model_dump(mode="json"),
        )
    return out


def _dry_run(
    request: Request, settings: Settings, record_kind: RecordKind, body: Any, origin: str, reader: Choice,
) -> DryRunReport:
    return dry_run_delivery(
        request.app.state.session_factory, settings, record_kind=record_kind, raw=body, parser=reader.parser,
        origin=origin, reader=reader.reader, profile=reader.profile, detected=reader.detected,
        detection=reader.detection, max_rows=settings.max_upload_rows,
    )


PUSH_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorBody, "description": "The body is larger than VPT_MAX_UPLOAD_BYTES (payload_too_large), "
          "or the file has more rows than VPT_MAX_UPLOAD_ROWS (too_many_rows: nothing stored, a failed run recorded)"},
    403: {"model": ErrorBody, "description": "The API key lacks the ingest scope, or is bound to other sources"},
    404: {"model": ErrorBody, "description": "No such source: an admin makes push sources (POST /api/v1/sources); "
          "only the default, push, is made by its first push"},
    409: {"model": ErrorBody, "description": "The source name belongs to a source of another kind (file, http)"},
    415: {"model": ErrorBody, "description": "The Content-Type is not one of the accepted types"},
    503: {"model": ErrorBody, "description": "Another ingest or recompute held the ingest lock longer than "
          "VPT_INGEST_LOCK_WAIT_SECONDS (ingest_busy, naming it): nothing stored, a failed run recorded; retry. "
          "Or the format cannot be read now (format_unavailable: a plugin's parser cannot be made)"},
    422: {
        "model": PushErrorBody,
        "description": "Empty body, unreadable file (a failed run is recorded), bad parameters, every row "
        "rejected (no_rows_stored, with the report), an unknown or broken profile (unknown_profile, "
        "profile_invalid), a profile of the other record kind (profile_kind_mismatch), or profile=auto naming none "
        "(no_profile_detected): each naming the profiles of this record kind",
    },
}
#: A push answers what it stored (PushReport), a dry run what it would give (DryRunOut).
PUSH_OK: dict[int | str, dict[str, Any]] = {200: {"description": "What the push stored (PushReport), or with "
                                                  "dry_run=true what it would give (DryRunOut): nothing stored"}}


def _request_body(record_kind: RecordKind, label: str) -> dict[str, Any]:
    """The request body of a push as the registered formats of ``record_kind`` describe it (their media types and
    examples): the built-ins and every installed plugin, which is what ``_reader`` accepts."""
    content: dict[str, Any] = {}
    for member in default_formats():
        if member.record_kind != record_kind:
            continue
        for media_type in member.media_types:
            content[media_type] = {"schema": {"type": "string", "minLength": 1,
                                              "description": f"The {label} file, read as format {member.name}"}}
            if member.example is not None:
                content[media_type]["example"] = member.example
    return {"requestBody": {
        "required": True, "content": content,
        "description": f"The {label} file. Its Content-Type chooses the format among the registered ones (the "
        "built-ins and installed vpt.formats plugins: `vpt ingest formats`); with ?profile=NAME, or to a source "
        "that has a profile, the import profile reads the body whatever its Content-Type.",
    }}


def _push_route(record_kind: RecordKind, label: str) -> type[APIRoute]:
    """A push's route, whose request body is documented when the OpenAPI document is made (FastAPI reads
    ``openapi_extra`` then), not when this module is imported: plugins are loaded on first use, never at import,
    so a body made at import could only list the built-in formats, not what a push is accepted as."""

    class PushRoute(APIRoute):
        @property
        def openapi_extra(self) -> dict[str, Any] | None:
            return _request_body(record_kind, label)

        @openapi_extra.setter
        def openapi_extra(self, value: dict[str, Any] | None) -> None:
            """The registry describes the body; nothing else is given for it."""

    return PushRoute


async def push_calls(
    request: Request,
    settings: SettingsDep,
    principal: IngestPrincipal,
    source: SourceParam = DEFAULT_PUSH_SOURCE,
    origin: OriginParam = "upload",
    profile: ProfileParam = None,
    dry_run: DryRunParam = False,
) -> PushReport | DryRunOut | JSONResponse:
    return await _push(request, settings, principal, "calls", source, origin, profile, dry_run)


async def push_intervals(
    request: Request,
    settings: SettingsDep,
    principal: IngestPrincipal,
    source: SourceParam = DEFAULT_PUSH_SOURCE,
    origin: OriginParam = "upload",
    profile: ProfileParam = None,
    dry_run: DryRunParam = False,
) -> PushReport | DryRunOut | JSONResponse:
    return await _push(request, settings, principal, "intervals", source, origin, profile, dry_run)


def _add_push_route(record_kind: RecordKind, label: str, endpoint: Callable[..., Any]) -> None:
    router.add_api_route(
        f"/{record_kind}", endpoint, methods=["POST"], response_model=PushAnswer, responses=PUSH_OK | PUSH_RESPONSES,
        summary=f"Push a file of {label.replace('-record', '')} records (CSV or JSON Lines in the canonical columns, "
        "a plugin's format, or any a profile reads)",
        route_class_override=_push_route(record_kind, label),
    )


_add_push_route("calls", "call-record", push_calls)
_add_push_route("intervals", "interval-record", push_intervals)


@router.get(
    "/runs",
    response_model=IngestRunPage,
    dependencies=ReadScope,
    responses=BAD_PARAMS,
    summary="Ingest runs, newest first (keyset paged)",
)
def get_runs(
    session: SessionDep,
    source: Annotated[str | None, Query(max_length=128, pattern=NO_CONTROL_CHARS,
                                        description="Only this source's runs")] = None,
    status: Annotated[RunStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="next_before_id of the previous page")] = None,
) -> IngestRunPage:
    return IngestRunPage.of(list_runs(session, source=source, status=status, limit=limit, before_id=before_id))


@router.get(
    "/runs/{run_id}",
    response_model=IngestRunOut,
    dependencies=ReadScope,
    responses={404: {"model": ErrorBody, "description": "No such run"}, **BAD_PARAMS},
    summary="One ingest run",
)
def get_one_run(session: SessionDep, run_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> IngestRunOut:
    run = get_run(session, run_id)
    if run is None:
        raise HTTPException(404, f"no ingest run {run_id}")
    return IngestRunOut.of(run)


@router.get(
    "/rejected",
    response_model=RejectedRowPage,
    dependencies=ReadScope,
    responses={404: {"model": ErrorBody, "description": "No such run, or after_id is not one of its rows"},
               **BAD_PARAMS},
    summary="Rejected rows of one run, in file order",
)
def get_rejected(
    session: SessionDep,
    run: Annotated[int, Query(ge=1, le=MAX_ID, description="The ingest run")],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="next_after_id of the previous page")] = None,
) -> RejectedRowPage:
    if not run_exists(session, run):
        raise HTTPException(404, f"no ingest run {run}")
    return RejectedRowPage.of(list_rejected(session, run_id=run, limit=limit, after_id=after_id))  # or not_found


@router.get(
    "/runs/{run_id}/warnings",
    response_model=IngestWarningPage,
    dependencies=ReadScope,
    responses={404: {"model": ErrorBody, "description": "No such run, or after_id is not one of its warnings"},
               **BAD_PARAMS},
    summary="Warnings of one run, in file order: optional fields left out of records that were stored",
)
def get_warnings(
    session: SessionDep,
    run_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="next_after_id of the previous page")] = None,
) -> IngestWarningPage:
    if not run_exists(session, run_id):
        raise HTTPException(404, f"no ingest run {run_id}")
    return IngestWarningPage.of(list_warnings(session, run_id=run_id, limit=limit, after_id=after_id))
