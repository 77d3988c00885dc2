"""Targets per region and collaboration (SPEC §6, §7): read what is in force and the history; change with admin.

A change appends a version; nothing is ever updated or deleted. Every 422 of these endpoints has the shape
of a request validation error, ``{"error": "validation_error", "detail": [{"loc", "msg", "type"}]}``, whether
FastAPI or the targets service found the problem, so a client reads one shape that names the field.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError

from app.api.auth import Principal, remote_addr, require_scope
from app.api.deps import SessionDep
from app.api.schemas import INVALID, ErrorBody
from app.api.targets_schemas import (
    ScopeKind,
    TargetableKpi,
    TargetIn,
    TargetSetOut,
    TargetsInForce,
    TargetVersionOut,
)
from app.scorecard.targets import (
    MONTH_REGEX,
    InvalidTarget,
    current_month,
    list_in_force,
    parse_month_field,
    set_target,
    target_history,
)

router = APIRouter(prefix="/api/v1/targets", tags=["targets"])

ReadScope = [Depends(require_scope("read"))]
AdminPrincipal = Annotated[Principal, Depends(require_scope("admin"))]

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such region or collaboration"}
}

ScopeKindQuery = Annotated[ScopeKind | None, Query(description="Only regions or only collaborations")]
ScopeQuery = Annotated[
    str | None,
    Query(max_length=32, description="One region or collaboration code; its kind is inferred", examples=["SE-AC"]),
]
KpiQuery = Annotated[TargetableKpi | None, Query(description="One KPI", examples=["answer_rate"])]


@contextmanager
def _named_fields(where: dict[str, str], default: str) -> Iterator[None]:
    """Render the service's ``InvalidTarget`` as a request validation error locating each field."""
    try:
        yield
    except InvalidTarget as exc:
        raise RequestValidationError([
            {"loc": (where.get(field, default), field), "msg": message, "type": "invalid_target"}
            for field, message in exc.problems
        ]) from None


@router.get(
    "",
    response_model=TargetsInForce,
    dependencies=ReadScope,
    responses={**NOT_FOUND, **INVALID},
    summary="The targets in force in a month, per region and collaboration and KPI",
)
def get_targets_in_force(
    session: SessionDep,
    scope_kind: ScopeKindQuery = None,
    scope: ScopeQuery = None,
    kpi: KpiQuery = None,
    month: Annotated[
        str | None,
        Query(pattern=MONTH_REGEX, description="YYYY-MM; default the current Europe/Stockholm month",
              examples=["2025-10"]),
    ] = None,
) -> TargetsInForce:
    with _named_fields({}, "query"):
        first_day = parse_month_field(month, "month") if month is not None else current_month()
        records = list_in_force(session, first_day, scope_kind=scope_kind, scope=scope, kpi=kpi)
    return TargetsInForce(month=first_day.strftime("%Y-%m"), targets=[TargetVersionOut.of(r) for r in records])


@router.get(
    "/history",
    response_model=list[TargetVersionOut],
    dependencies=ReadScope,
    responses={**NOT_FOUND, **INVALID},
    summary="Every target version ever stored, oldest first",
)
def get_target_history(
    session: SessionDep, scope_kind: ScopeKindQuery = None, scope: ScopeQuery = None, kpi: KpiQuery = None
) -> list[TargetVersionOut]:
    with _named_fields({}, "query"):
        records = target_history(session, scope_kind=scope_kind, scope=scope, kpi=kpi)
    return [TargetVersionOut.of(r) for r in records]


@router.put(
    "/{scope_kind}/{scope}/{kpi}",
    response_model=TargetSetOut,
    responses={**NOT_FOUND, **INVALID},
    summary="Set a target from a month on (admin): appends a version, history kept",
    description="Stores a new version; a version for the same scope, KPI and month supersedes the earlier one "
    "(both stay in the history). A past month is allowed and reported as affects_closed_months. The change "
    "and its audit-log row (target.set) commit together.",
)
def put_target(
    session: SessionDep,
    principal: AdminPrincipal,
    body: TargetIn,
    request: Request,
    scope_kind: ScopeKind,
    scope: Annotated[str, Path(max_length=32, description="Region or collaboration code", examples=["SE-AC"])],
    kpi: Annotated[TargetableKpi, Path(description="A targetable KPI", examples=["answer_rate"])],
) -> TargetSetOut:
    with _named_fields({"scope_kind": "path", "scope": "path", "kpi": "path", "set_by": "principal"}, "body"):
        change = set_target(
            session, scope, kpi, scope_kind=scope_kind, comparator=body.comparator, value=body.value,
            valid_from=body.valid_from, reason=body.reason, set_by=principal.name, actor=principal.actor,
            remote_addr=remote_addr(request),
        )
    return TargetSetOut.of_change(change)
