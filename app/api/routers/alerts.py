"""Alerts, their history, the notification outbox and silences (SPEC §8). Reading needs the read scope;
creating and ending silences needs admin.

The write side (evaluation, outbox, delivery) is not reachable over HTTP: alerts change only when the worker
evaluates them. A silence is the one thing people set by hand, and it mutes notifications, never history.
Every 422 has the shape of a request validation error naming the field, whether FastAPI or
``create_silence`` found the problem.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError

from app.alerts.queries import PhaseFilter, alert_history, get_alert, list_alerts, list_notifications
from app.alerts.silences import SilenceError, SilenceRequest, create_silence, expire_silence, list_silences
from app.api.alerts_schemas import (
    NO_CONTROL_CHARS,
    RULE_PATTERN,
    SCOPE_PATTERN,
    AlertDetailOut,
    AlertOut,
    AlertPageOut,
    AwareTime,
    HistoryEventOut,
    HistoryPageOut,
    NotificationOut,
    NotificationPageOut,
    NotificationStatus,
    SilenceIn,
    SilenceOut,
)
from app.api.auth import Principal, remote_addr, require_scope
from app.api.deps import SessionDep
from app.api.schemas import INVALID, ErrorBody

router = APIRouter(prefix="/api/v1", tags=["alerts"])

MAX_ID = 2**63 - 1  # BIGINT; a larger id would overflow the driver instead of finding nothing
ReadScope = [Depends(require_scope("read"))]
AdminPrincipal = Annotated[Principal, Depends(require_scope("admin"))]


def _not_found(what: str) -> dict[int | str, dict[str, Any]]:
    return {404: {"model": ErrorBody, "description": f"No such {what}"}}


Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=500, description="At most this many rows")]
AlertFilter = Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this alert's rows")]
BeforeCursor = Annotated[int | None, Query(ge=1, le=MAX_ID, description="next_before_id of the previous page")]


@router.get(
    "/alerts",
    response_model=AlertPageOut,
    dependencies=ReadScope,
    responses=INVALID,
    summary="Alerts with their latest event and whether anyone was told (keyset paged)",
)
def get_alerts(
    session: SessionDep,
    phase: Annotated[PhaseFilter | None, Query(
        description="One phase, or 'all'; default every phase but inactive")] = None,
    rule: Annotated[str | None, Query(pattern=RULE_PATTERN, examples=["target_at_risk"])] = None,
    scope: Annotated[str | None, Query(pattern=SCOPE_PATTERN, examples=["SE-AC"])] = None,
    limit: Limit = 100,
    after: Annotated[int | None, Query(ge=1, le=MAX_ID, description="next_after_id of the previous page")] = None,
) -> AlertPageOut:
    page = list_alerts(session, phase=phase, rule=rule, scope=scope, limit=limit, after_id=after)
    return AlertPageOut(alerts=[AlertOut.of(v) for v in page.alerts], next_after_id=page.next_after_id)


@router.get(
    "/alerts/history",
    response_model=HistoryPageOut,
    dependencies=ReadScope,
    responses=INVALID,
    summary="Phase changes of every alert (or one), newest first (keyset paged)",
)
def get_alert_history(
    session: SessionDep,
    since: Annotated[AwareTime | None, Query(description="Only changes at or after this time (with an offset)",
                                             examples=["2025-10-01T00:00:00+02:00"])] = None,
    alert: AlertFilter = None,
    limit: Limit = 100,
    before: BeforeCursor = None,
) -> HistoryPageOut:
    page = alert_history(session, alert, since=since, limit=limit, before_id=before)
    return HistoryPageOut(events=[HistoryEventOut.of_view(v) for v in page.events],
                          next_before_id=page.next_before_id)


@router.get(
    "/alerts/{alert_id}",
    response_model=AlertDetailOut,
    dependencies=ReadScope,
    responses={**_not_found("alert"), **INVALID},
    summary="One alert with its newest events and their notifications",
)
def get_one_alert(session: SessionDep, alert_id: Id) -> AlertDetailOut:
    detail = get_alert(session, alert_id)
    if detail is None:
        raise HTTPException(404, f"no alert {alert_id}")
    return AlertDetailOut.of_detail(detail)


@router.get(
    "/notifications",
    response_model=NotificationPageOut,
    dependencies=ReadScope,
    responses=INVALID,
    summary="The notification outbox, newest first: what was said, to which channel, and how delivery went",
)
def get_notifications(
    session: SessionDep,
    status: Annotated[NotificationStatus | None, Query()] = None,
    channel: Annotated[str | None, Query(max_length=64, pattern=NO_CONTROL_CHARS, examples=["slack"])] = None,
    alert: AlertFilter = None,
    limit: Limit = 100,
    before: BeforeCursor = None,
) -> NotificationPageOut:
    page = list_notifications(session, status=status, channel=channel, alert_id=alert, limit=limit,
                              before_id=before)
    return NotificationPageOut(notifications=[NotificationOut.of(v) for v in page.notifications],
                               next_before_id=page.next_before_id)


@router.get(
    "/silences",
    response_model=list[SilenceOut],
    dependencies=ReadScope,
    responses=INVALID,
    summary="Silences in force (or every silence), latest ending first",
)
def get_silences(
    session: SessionDep,
    include_ended: Annotated[bool, Query(description="Also silences that have ended")] = False,
) -> list[SilenceOut]:
    now = datetime.now(UTC)
    return [SilenceOut.of(s, now) for s in list_silences(session, now, include_ended=include_ended)]


@router.post(
    "/silences",
    response_model=SilenceOut,
    responses=INVALID,
    summary="Mute a rule, a scope or a rule in one scope until a time (admin); answers 200 with the silence",
    description="Give exactly one of ends_at (with an offset) and duration_minutes, and a reason. Alerts still "
    "change phase and are kept in history while muted; only their notifications are not written.",
)
def post_silence(session: SessionDep, principal: AdminPrincipal, body: SilenceIn, request: Request) -> SilenceOut:
    now = datetime.now(UTC)
    if (body.ends_at is None) == (body.duration_minutes is None):
        raise _invalid("ends_at", "give exactly one of ends_at and duration_minutes")
    ends_at = body.ends_at or now + timedelta(minutes=body.duration_minutes or 0)
    try:
        silence = create_silence(session, SilenceRequest(rule=body.rule, scope=body.scope, ends_at=ends_at,
                                                         reason=body.reason, created_by=principal.name), now,
                                 actor=principal.actor, remote_addr=remote_addr(request))
    except SilenceError as exc:
        raise _invalid(exc.field, str(exc).removeprefix(f"{exc.field}: ")) from None
    return SilenceOut.of(silence, now)


@router.delete(
    "/silences/{silence_id}",
    response_model=SilenceOut,
    responses={**_not_found("silence"), **INVALID},
    summary="End a silence now (admin); one already ended is returned as it was",
)
def delete_silence(session: SessionDep, principal: AdminPrincipal, silence_id: Id, request: Request) -> SilenceOut:
    now = datetime.now(UTC)
    silence = expire_silence(session, silence_id, now, actor=principal.actor, remote_addr=remote_addr(request))
    if silence is None:
        raise HTTPException(404, f"no silence {silence_id}")
    return SilenceOut.of(silence, now)


def _invalid(field: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", field), "msg": message, "type": "invalid_silence"}])
